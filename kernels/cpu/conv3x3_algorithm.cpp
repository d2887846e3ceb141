// conv3x3_algorithm.cpp: the measured choice of conv3x3_algorithm.h.
#include "kernels/cpu/conv3x3_algorithm.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include <omp.h>

#include "kernels/cpu/conv3x3_direct.h"

namespace seqnet::cpu {

namespace {

// Timed runs per candidate: up to this many, stopping early once this much time is spent.
// (The minimum of several runs: on a shared machine single runs vary by 2x and more.)
constexpr int kTimedRuns = 5;
constexpr double kTimeBudgetS = 0.05;

// Shapes of fewer multiply-adds than this (N*C*K*H*W*9; about 10 us of work) are not timed: their
// timings are noise, and a choice that falls either way between two runs makes the same tiny
// model (seqnet trace, the golden dumps) round differently in each. They take the direct kernel
// where the CPU has it, else im2col + GEMM. Every layer of a real model is far above this.
constexpr int64_t kSmallestTimedMacs = int64_t(1) << 20;

int64_t multiply_adds(const Conv3x3Shape& s) { return int64_t(s.N) * s.C * s.K * s.H * s.W * 9; }

std::optional<Conv3x3Algorithm> from_environment() {
  const char* value = std::getenv("SEQNET_CONV");
  const std::string asked = value ? value : "";
  if (asked.empty() || asked == "auto" || asked == "avx2") return std::nullopt;
  if (asked == "gemm") return Conv3x3Algorithm::gemm;
  if (asked == "direct") return Conv3x3Algorithm::direct;
  if (asked == "winograd") return Conv3x3Algorithm::winograd;
  throw std::invalid_argument("SEQNET_CONV=" + asked + ": expected auto, gemm, direct, avx2 or winograd");
}

struct State {
  std::mutex mutex;
  bool forced_set = false;  // force_conv3x3_algorithm was called (else SEQNET_CONV decides)
  std::optional<Conv3x3Algorithm> forced;
  std::map<Conv3x3Shape, Conv3x3Algorithm> chosen;
  std::vector<Conv3x3Choice> choices;
};

State& state() {
  static State s;
  return s;
}

// The best of up to kTimedRuns runs after one untimed one.
double best_seconds(const std::function<void(Conv3x3Algorithm)>& run, Conv3x3Algorithm algorithm) {
  using Clock = std::chrono::steady_clock;
  run(algorithm);
  double best = 1e300, spent = 0;
  for (int i = 0; i < kTimedRuns && spent < kTimeBudgetS; ++i) {
    const auto start = Clock::now();
    run(algorithm);
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::min(best, s);
    spent += s;
  }
  return best;
}

}  // namespace

const char* conv3x3_algorithm_name(Conv3x3Algorithm algorithm) {
  switch (algorithm) {
    case Conv3x3Algorithm::gemm: return "gemm";
    case Conv3x3Algorithm::direct: return "direct";
    case Conv3x3Algorithm::winograd: return "winograd";
  }
  return "?";
}

const char* conv3x3_pass_name(Conv3x3Pass pass) {
  switch (pass) {
    case Conv3x3Pass::forward: return "forward";
    case Conv3x3Pass::input_gradient: return "input gradient";
    case Conv3x3Pass::weight_gradient: return "weight gradient";
  }
  return "?";
}

std::vector<Conv3x3Algorithm> conv3x3_algorithms_available() {
  std::vector<Conv3x3Algorithm> all{Conv3x3Algorithm::gemm, Conv3x3Algorithm::winograd};
  if (conv3x3_direct_available()) all.push_back(Conv3x3Algorithm::direct);
  return all;
}

void force_conv3x3_algorithm(std::optional<Conv3x3Algorithm> algorithm) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.forced_set = true;
  s.forced = algorithm;
}

std::optional<Conv3x3Algorithm> forced_conv3x3_algorithm() {
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    if (s.forced_set) return s.forced;
  }
  static const std::optional<Conv3x3Algorithm> from_env = from_environment();
  return from_env;
}

Conv3x3Algorithm conv3x3_algorithm(const Conv3x3Shape& shape, const std::function<void(Conv3x3Algorithm)>& run) {
  if (const auto forced = forced_conv3x3_algorithm()) {
    if (*forced == Conv3x3Algorithm::direct && !conv3x3_direct_available())
      throw std::invalid_argument("SEQNET_CONV=direct: the direct 3x3 kernel needs AVX2 + FMA (x86-64) or NEON "
                                  "(aarch64), which this CPU lacks; use auto, gemm or winograd");
    return *forced;
  }
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    if (const auto it = s.chosen.find(shape); it != s.chosen.end()) return it->second;
  }
  // Measured outside the lock: the candidates run OpenMP teams of their own.
  Conv3x3Choice choice{shape, Conv3x3Algorithm::gemm, {}};
  if (multiply_adds(shape) < kSmallestTimedMacs) {
    if (conv3x3_direct_available()) choice.algorithm = Conv3x3Algorithm::direct;
  } else {
    double best = 1e300;
    for (Conv3x3Algorithm algorithm : conv3x3_algorithms_available()) {
      const double seconds = best_seconds(run, algorithm);
      choice.seconds.emplace_back(algorithm, seconds);
      if (seconds < best) {
        best = seconds;
        choice.algorithm = algorithm;
      }
    }
  }
  std::lock_guard lock(s.mutex);
  if (s.chosen.emplace(shape, choice.algorithm).second) s.choices.push_back(choice);
  return s.chosen.at(shape);
}

std::vector<Conv3x3Choice> conv3x3_choices() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.choices;
}

int preset_conv3x3_choices(const std::vector<Conv3x3Choice>& choices) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  int taken = 0;
  for (const Conv3x3Choice& choice : choices) {
    const std::vector<Conv3x3Algorithm> available = conv3x3_algorithms_available();
    if (std::find(available.begin(), available.end(), choice.algorithm) == available.end()) continue;
    if (s.chosen.emplace(choice.shape, choice.algorithm).second) {
      s.choices.push_back(choice);
      ++taken;
    }
  }
  return taken;
}

std::string cpu_model_from_cpuinfo(std::istream& cpuinfo) {
  // The value after the colon of a line that starts with `key`.
  const auto value = [](const std::string& line, const char* key) -> std::optional<std::string> {
    if (line.rfind(key, 0) != 0 || line.find(':') == std::string::npos) return std::nullopt;
    std::string v = line.substr(line.find(':') + 1);
    v.erase(0, std::min(v.size(), v.find_first_not_of(" \t")));
    return v;
  };
  // ARM's identity fields, in this order, from the first processor only (all cores of a uniform
  // machine repeat them; a big.LITTLE one lists its first core's).
  const char* arm_keys[] = {"CPU implementer", "CPU variant", "CPU part", "CPU revision"};
  std::string arm[4];
  for (std::string line; std::getline(cpuinfo, line);) {
    if (const auto model = value(line, "model name")) return *model;
    for (int i = 0; i < 4; ++i)
      if (arm[i].empty())
        if (const auto v = value(line, arm_keys[i])) arm[i] = *v;
  }
  if (arm[0].empty() || arm[2].empty()) return "unknown CPU";
  return "ARM implementer " + arm[0] + " part " + arm[2] + " variant " + arm[1] + " revision " + arm[3];
}

std::string conv3x3_timing_machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  const std::string model = cpu_model_from_cpuinfo(cpuinfo);
  const auto isa = conv3x3_direct_isa();
  const int threads = omp_get_max_threads();
  return model + ", direct kernel " + (isa ? conv3x3_isa_name(*isa) : "unavailable") + ", " +
         std::to_string(threads) + " thread(s)";
}

std::optional<Conv3x3Algorithm> conv3x3_algorithm_from_name(const std::string& name) {
  for (Conv3x3Algorithm a : {Conv3x3Algorithm::gemm, Conv3x3Algorithm::direct, Conv3x3Algorithm::winograd})
    if (name == conv3x3_algorithm_name(a)) return a;
  return std::nullopt;
}

}  // namespace seqnet::cpu
