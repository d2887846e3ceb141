// test_support.h: what several tests share: finding the golden dumps and the photographs, comparing
// tensors, temp folders.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include "kernels/tensor.h"
#include "model/config.h"

namespace seqnet::test {

// The PyTorch reference dumps, committed with the project (tests/golden/README.md). Never skipped:
// a clone has them, so a test that cannot read them fails. SEQNET_GOLDEN_DIR points a test program
// carried to another machine (scripts/gpu-check.sh) at the tree it runs beside.
inline std::string golden_dir() {
  const char* env = std::getenv("SEQNET_GOLDEN_DIR");
  return env && *env ? std::string(env) : std::string(SEQNET_SOURCE_DIR) + "/tests/golden";
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// The real photographs (DRIVE-AV, LES-AV, the SeqNet sample), which their licences keep out of the
// repository: ../shared/data beside the project, or SEQNET_DATA_DIR. "" when absent.
inline std::string data_dir() {
  const char* env = std::getenv("SEQNET_DATA_DIR");
  const std::filesystem::path p =
      env && *env ? std::filesystem::path(env) : std::filesystem::path(SEQNET_SOURCE_DIR) / ".." / "shared" / "data";
  if (std::filesystem::is_directory(p)) return std::filesystem::canonical(p).string();
  return "";
}

// A test that reads the photographs skips without them, saying so, except under CI=true (CI always
// has them), where their absence is a failure. scripts/skipped-tests.sh tells this skip from a
// GPU skip by the words "needs the photographs": keep them.
#define SEQNET_REQUIRE_DATA(var)                                                                   \
  const std::string var = ::seqnet::test::data_dir();                                              \
  if (var.empty()) {                                                                               \
    if (::seqnet::test::running_in_ci())                                                           \
      FAIL() << "CI=true but the photographs (../shared/data or SEQNET_DATA_DIR) are missing";     \
    GTEST_SKIP() << "needs the photographs: ../shared/data (or SEQNET_DATA_DIR) is not there; "    \
                    "they are not in the repository";                                              \
  }

// A fresh empty folder under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("seqnet-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& name = "") const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The whole text of a file ("" when it cannot be read).
inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// SEQNET_PROGRAM as the words an exec takes: the program's path, or in a cross build the emulator,
// its arguments and the path (tests/CMakeLists.txt; no spaces in them there).
inline std::vector<std::string> program_argv() {
  if (std::string(SEQNET_EMULATOR).empty()) return {SEQNET_PROGRAM};
  std::vector<std::string> words;
  std::istringstream in(SEQNET_PROGRAM);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// Runs the built program (SEQNET_PROGRAM) as `seqnet ARGS`, stdout into out_path and stderr into
// err_path (the same path takes both); returns its exit status, -1 if it did not exit normally.
inline int run_seqnet(const std::string& args, const std::string& out_path, const std::string& err_path) {
  const std::string redirect = out_path == err_path ? " >" + out_path + " 2>&1" : " >" + out_path + " 2>" + err_path;
  const int status = std::system((std::string(SEQNET_PROGRAM) + " " + args + redirect).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The tiny model of the tests: size multiple 4, a few thousand parameters.
inline ModelConfig tiny_model_config() {
  ModelConfig c;
  c.width = 4;
  c.depth = 3;
  c.refine_depth = 2;
  c.seg_iterations = 1;
  c.cls_iterations = 1;
  return c;
}

// ||a - b|| / max(||b||, 1e-12), the error measure of the golden dumps (model/verify.h).
inline double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-12);
}
inline double relative_error(const Tensor& a, const Tensor& b) { return relative_error(a.to_doubles(), b.to_doubles()); }

// A tensor of normal random numbers (deterministic for a seed).
inline Tensor random_tensor(const Shape& shape, uint32_t seed, DType dtype = DType::f32, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, scale);
  Tensor t = Tensor::empty(shape, Device::cpu, dtype);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == DType::f32) t.f32()[i] = static_cast<float>(dist(rng));
    else t.f64()[i] = dist(rng);
  }
  return t;
}

}  // namespace seqnet::test
