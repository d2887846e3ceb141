// default_model.cpp: shipped_model_path (default_model.h).
#include "apps/default_model.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "apps/args.h"

namespace seqnet::cli {

namespace fs = std::filesystem;

std::string shipped_model_path() {
  if (const char* chosen = std::getenv("SEQNET_MODEL"); chosen && *chosen) {
    if (!fs::is_regular_file(chosen)) throw UsageError(std::string("SEQNET_MODEL=") + chosen + ": no such file");
    return chosen;
  }
  std::error_code ec;
  const fs::path program = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> places;
  if (!ec) {
    places.push_back(program.parent_path() / ".." / "share" / "seqnet" / "models");
    places.push_back(program.parent_path() / ".." / "models");
  }
  places.push_back(fs::path(SEQNET_SOURCE_DIR) / "models");
  std::string looked;
  for (const fs::path& dir : places) {
    const fs::path file = (dir / kShippedModelName).lexically_normal();
    if (fs::is_regular_file(file)) return file.string();
    looked += "\n  " + file.string();
  }
  throw UsageError(std::string("no --weights given and the shipped model was not found; looked for:") + looked +
                   "\ngive --weights FILE (seqnet train writes one) or set SEQNET_MODEL");
}

}  // namespace seqnet::cli
