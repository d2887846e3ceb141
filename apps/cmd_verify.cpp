// cmd_verify.cpp: `seqnet verify FILE...`: reruns reference dumps and reports every check.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "apps/args.h"
#include "apps/device_option.h"
#include "apps/registry.h"
#include "model/verify.h"

namespace seqnet::cli {
namespace {

int run(int argc, char** argv) {
  Args args("verify", "FILE... [--device cpu|cuda]",
            "Loads each reference dump (a safetensors file computed in float64 by an independent PyTorch\n"
            "transcription: one layer, Adam, or the whole model; model/verify.h gives its layout), reruns\n"
            "exactly what it describes, and prints one row per tensor (layers) or tensor group (model): the\n"
            "worst relative error ||got-ref||/||ref||, its bound and pass/fail. Exits 1 if any check fails\n"
            "or any file cannot be read.");
  args.positionals("FILE...   reference dumps (.safetensors); a folder means every .safetensors in it");
  args.option("precision", "float32", "float32, or float64 (CPU, model dumps) to tell a mistake from rounding",
              "P");
  args.flag("all", "model dumps: also print every tensor, not only the worst of each group");
  add_device_option(args);
  if (!args.parse(argc, argv)) return 0;
  std::vector<std::string> files;
  for (const std::string& p : args.positional()) {
    if (std::filesystem::is_directory(p)) {
      std::vector<std::string> found;
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.path().extension() == ".safetensors") found.push_back(e.path().string());
      std::sort(found.begin(), found.end());
      if (found.empty()) throw UsageError("folder " + p + " holds no .safetensors files");
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(p);
    }
  }
  if (files.empty()) throw UsageError("no dump given");
  const Device device = chosen_device(args);
  const std::string precision = args.str("precision");
  if (precision != "float32" && precision != "float64")
    throw UsageError("--precision must be float32 or float64, got '" + precision + "'");
  const DType dtype = precision == "float64" ? DType::f64 : DType::f32;
  if (dtype == DType::f64 && device != Device::cpu) throw UsageError("--precision float64 runs on the CPU only");

  int failed_files = 0, checks = 0, failed_checks = 0;
  std::printf("%-34s %-18s %-44s %10s %9s  %s\n", "file", "check", "worst tensor", "rel.error", "bound", "result");
  for (const std::string& f : files) {
    const std::string name = std::filesystem::path(f).filename().string();
    try {
      VerifyResult r = verify_dump(f, device, dtype);
      for (const VerifyRow& row : r.rows) {
        ++checks;
        if (!row.pass()) ++failed_checks;
        std::printf("%-34s %-18s %-44s %10.2e %9.1e  %s\n", name.c_str(), row.check.c_str(), row.worst.c_str(),
                    row.rel_error, row.bound, row.pass() ? "pass" : "FAIL");
      }
      if (args.on("all"))
        for (const VerifyRow& row : r.details)
          std::printf("    %-30s %-44s %10.2e %9.1e  %s\n", row.check.c_str(), row.worst.c_str(), row.rel_error,
                      row.bound, row.pass() ? "pass" : "FAIL");
      if (!r.pass()) ++failed_files;
    } catch (const std::exception& e) {
      ++failed_files;
      std::printf("%-34s %-18s %-44s %10s %9s  %s\n", name.c_str(), "-", "-", "-", "-", "ERROR");
      std::fprintf(stderr, "seqnet verify: %s\n", e.what());
    }
  }
  std::printf("\n%zu file(s) on %s: %d check(s), %d failed; %d file(s) not passing\n", files.size(),
              device_name(device), checks, failed_checks, failed_files);
  return failed_files ? 1 : 0;
}

const bool registered = register_command({"verify", "check this implementation against reference dumps", 40, run});

}  // namespace
}  // namespace seqnet::cli
