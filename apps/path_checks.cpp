// path_checks.cpp: require_regular_file and the output guards (path_checks.h).
#include "apps/path_checks.h"

#include "apps/args.h"

namespace seqnet::cli {

namespace fs = std::filesystem;

namespace {
// What a path that is not a regular file is, in words.
std::string kind_of(const fs::file_status& status) {
  switch (status.type()) {
    case fs::file_type::not_found: return "no such file";
    case fs::file_type::directory: return "a folder, not a file";
    case fs::file_type::fifo: return "a FIFO (named pipe), not a regular file";
    case fs::file_type::character:
    case fs::file_type::block: return "a device, not a regular file";
    case fs::file_type::socket: return "a socket, not a regular file";
    default: return "not a regular file";
  }
}
}  // namespace

void require_regular_file(const fs::path& path, const std::string& what) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw UsageError(what + " " + path.string() + ": " + ec.message());
  if (!fs::is_regular_file(status)) throw UsageError(what + " " + path.string() + ": " + kind_of(status));
}

void refuse_output_over_input(const fs::path& output, const fs::path& input, const std::string& what) {
  std::error_code ec;
  if (fs::equivalent(output, input, ec))
    throw UsageError(what + " " + output.string() + " is the input " + input.string() +
                     "; writing it would destroy the input: choose another output file");
}

void refuse_output_in_run_folder(const fs::path& output, const std::string& what) {
  static const char* const kRunFiles[] = {"last.safetensors", "best.safetensors", "log.jsonl", "settings.json"};
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(output, ec);  // through symbolic links
  if (ec) resolved = output;
  const fs::path folder = resolved.parent_path().empty() ? fs::path(".") : resolved.parent_path();
  if (!fs::exists(folder / "last.safetensors", ec)) return;
  for (const char* name : kRunFiles)
    if (resolved.filename() == name)
      throw UsageError(what + " " + output.string() + " is a file of the training run in " + folder.string() +
                       " (--resume needs it); write somewhere else");
}

}  // namespace seqnet::cli
