// path_checks.h: checks on the paths a command is given, made before anything is read or written,
// so that a wrong path is a message that says what it is, and an output never replaces an input.
#pragma once

#include <filesystem>
#include <string>

namespace seqnet::cli {

// UsageError unless `path` is a regular file (or a symbolic link to one), naming `what` ("--weights")
// and what the path is instead: missing, a folder, a FIFO, a device or a socket.
void require_regular_file(const std::filesystem::path& path, const std::string& what);

// UsageError when writing `output` would replace `input` (the same file under any name: a hard
// link, a symbolic link, another spelling of the path).
void refuse_output_over_input(const std::filesystem::path& output, const std::filesystem::path& input,
                              const std::string& what);

// UsageError when `output` is one of the files a training run folder needs (last.safetensors,
// best.safetensors, log.jsonl, settings.json in a folder holding last.safetensors): writing it
// would cost the run its state.
void refuse_output_in_run_folder(const std::filesystem::path& output, const std::string& what);

}  // namespace seqnet::cli
