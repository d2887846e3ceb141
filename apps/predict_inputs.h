// predict_inputs.h: which photographs `seqnet predict` works on: the inputs listed (files,
// folders, lists of paths), each with the relative path that names it in the manifest and under
// the output folders, and the part of them that one shard of a job array takes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace seqnet::cli {

struct InputPhoto {
  std::filesystem::path file;  // where to read it
  std::string key;             // its relative path ('/' between folders): the manifest's `path`
  std::string problem;         // not empty: found unusable while listing (a symbolic link loop): an error row
};

// Every photograph of `inputs`, sorted by key:
// - a file ending in .txt or .lst is a list of paths, one a line ('#' at the start of a line or
//   after a space or tab starts a comment; blank lines are ignored). A relative path is read relative to the list's folder and keeps its
//   text as key; an absolute path under the list's folder is keyed relative to it, any other by
//   the whole path without its leading '/'.
// - a folder gives its image files (.png .jpg .jpeg .tif .tiff .bmp .gif, not hidden), keyed
//   relative to the folder; with `recursive` those of its subfolders too, except the map folders
//   of an earlier run into `out` (an output folder is never an input). An entry that cannot be
//   followed (a symbolic link loop) is listed with a `problem` instead of stopping the listing.
// - any other path is one photograph keyed by its file name (a missing or unreadable one is
//   reported when it is read).
// A key's bytes that are not valid UTF-8, and its control characters, are written \xHH.
// Throws UsageError for an unreadable list, a folder without images, and two inputs whose keys
// name the same outputs (KEY without its extension).
std::vector<InputPhoto> list_inputs(const std::vector<std::string>& inputs, bool recursive,
                                    const std::filesystem::path& out);

// UsageError when a map of a photograph of `todo` would replace a photograph of `all` (an input
// inside the output folder: predict -i D -o D with D/overlay/a.png among the inputs).
void refuse_outputs_over_inputs(const std::filesystem::path& out, const std::vector<InputPhoto>& todo,
                                const std::vector<InputPhoto>& all);

// One task of a job array: photographs whose key hashes to `index` modulo `count`.
struct Shard {
  int index = 0, count = 1;
  std::string source;  // how it was chosen, for the log: "--shard 2/3", "SLURM_ARRAY_TASK_ID=7 ..."
};

// From `--shard K/N` (K = 0 .. N-1) when `option` is not empty, else from Slurm's job-array
// variables (K = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT), else
// the whole input as shard 0/1. Throws UsageError for malformed or out-of-range numbers.
Shard choose_shard(const std::string& option);

// FNV-1a, 64 bits: a hash that is the same on every machine and in every run, so that a
// photograph stays in its shard (and adding photographs moves none of the others).
uint64_t fnv1a_64(std::string_view text);

// The photographs of `all` in `shard`, in their order.
std::vector<InputPhoto> photos_of_shard(const std::vector<InputPhoto>& all, const Shard& shard);

}  // namespace seqnet::cli
