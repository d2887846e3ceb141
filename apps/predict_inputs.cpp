// predict_inputs.cpp: listing the inputs (predict_inputs.h) and choosing a shard of them.
#include "apps/predict_inputs.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>

#include "apps/args.h"

namespace seqnet::cli {
namespace {
namespace fs = std::filesystem;

std::string lowercase_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext;
}

bool has_image_extension(const fs::path& p) {
  static const char* known[] = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif"};
  return std::find(std::begin(known), std::end(known), lowercase_extension(p)) != std::end(known);
}

bool is_path_list(const fs::path& p) {
  const std::string ext = lowercase_extension(p);
  return (ext == ".txt" || ext == ".lst") && !fs::is_directory(p);
}

// A key never climbs out of the output folder: "../x.png" or "/data/x.png" becomes the absolute
// path without its leading '/'.
std::string key_for(const fs::path& file, const fs::path& base) {
  const fs::path relative = fs::absolute(file).lexically_normal().lexically_relative(fs::absolute(base).lexically_normal());
  if (!relative.empty() && *relative.begin() != "..") return relative.generic_string();
  return fs::absolute(file).lexically_normal().relative_path().generic_string();
}

void add_folder(const fs::path& folder, bool recursive, std::vector<InputPhoto>& photos) {
  const size_t before = photos.size();
  auto consider = [&](const fs::directory_entry& entry) {
    if (entry.is_regular_file() && entry.path().filename().string()[0] != '.' && has_image_extension(entry.path()))
      photos.push_back({entry.path(), entry.path().lexically_relative(folder).generic_string()});
  };
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::follow_directory_symlink);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_directory() && it->path().filename().string()[0] == '.') it.disable_recursion_pending();
      consider(*it);
    }
  } else {
    for (const auto& entry : fs::directory_iterator(folder)) consider(entry);
  }
  if (photos.size() == before)
    throw UsageError("input folder " + folder.string() + " holds no image files (.png .jpg .tif .bmp .gif)" +
                     (recursive ? "" : "; add --recursive to look in its subfolders"));
}

void add_list(const fs::path& list, std::vector<InputPhoto>& photos) {
  std::ifstream in(list);
  if (!in) throw UsageError("cannot read the list of photographs " + list.string());
  const fs::path base = list.parent_path().empty() ? fs::path(".") : list.parent_path();
  const size_t before = photos.size();
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();  // "\r" too
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const fs::path entry = line.substr(start);
    photos.push_back({entry.is_absolute() ? entry : base / entry, key_for(entry.is_absolute() ? entry : base / entry, base)});
  }
  if (photos.size() == before) throw UsageError("the list of photographs " + list.string() + " names none");
}

}  // namespace

std::vector<InputPhoto> list_inputs(const std::vector<std::string>& inputs, bool recursive) {
  std::vector<InputPhoto> photos;
  for (const std::string& input : inputs) {
    if (fs::is_directory(input)) add_folder(input, recursive, photos);
    else if (is_path_list(input)) add_list(input, photos);
    else photos.push_back({input, fs::path(input).filename().string()});
  }
  std::sort(photos.begin(), photos.end(), [](const InputPhoto& a, const InputPhoto& b) { return a.key < b.key; });
  // Outputs are KEY with its extension replaced by .png: two keys that differ only there collide.
  std::map<std::string, const InputPhoto*> by_output;
  for (const InputPhoto& photo : photos) {
    const std::string output = fs::path(photo.key).replace_extension().generic_string();
    auto [it, inserted] = by_output.emplace(output, &photo);
    if (!inserted)
      throw UsageError("inputs " + it->second->file.string() + " and " + photo.file.string() + " would both write " +
                       output + ".png; predict them into separate folders");
  }
  return photos;
}

uint64_t fnv1a_64(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ull;  // the offset basis
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;  // the 64-bit FNV prime
  return hash;
}

namespace {

// A whole non-negative number, or -1.
long long whole_number(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(text);
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

Shard choose_shard(const std::string& option) {
  if (!option.empty()) {
    const size_t slash = option.find('/');
    const long long k = slash == std::string::npos ? -1 : whole_number(option.substr(0, slash));
    const long long n = slash == std::string::npos ? -1 : whole_number(option.substr(slash + 1));
    if (k < 0 || n < 1) throw UsageError("--shard must be K/N with 0 <= K < N, e.g. 0/4, got '" + option + "'");
    if (k >= n) throw UsageError("--shard " + option + ": K counts from 0, so it must be below N");
    return {int(k), int(n), "--shard " + option};
  }
  const std::string id = environment("SLURM_ARRAY_TASK_ID"), count = environment("SLURM_ARRAY_TASK_COUNT");
  if (id.empty() && count.empty()) return {0, 1, "no --shard and no SLURM_ARRAY_TASK_ID: all photographs"};
  const std::string min = environment("SLURM_ARRAY_TASK_MIN");
  const long long task = whole_number(id), n = whole_number(count), first = min.empty() ? 0 : whole_number(min);
  const std::string described = "SLURM_ARRAY_TASK_ID=" + id + " SLURM_ARRAY_TASK_COUNT=" + count +
                                " SLURM_ARRAY_TASK_MIN=" + (min.empty() ? "(unset: 0)" : min);
  if (task < 0 || n < 1 || first < 0)
    throw UsageError("the job-array variables are not whole numbers (" + described + "); or give --shard K/N");
  if (task < first || task - first >= n)
    throw UsageError("the job array's task " + id + " is outside " + std::to_string(first) + ".." +
                     std::to_string(first + n - 1) + " (" + described +
                     "): use a contiguous array such as --array=0-" + std::to_string(n - 1) + ", or give --shard K/N");
  return {int(task - first), int(n), described};
}

std::vector<InputPhoto> photos_of_shard(const std::vector<InputPhoto>& all, const Shard& shard) {
  std::vector<InputPhoto> mine;
  for (const InputPhoto& photo : all)
    if (fnv1a_64(photo.key) % uint64_t(shard.count) == uint64_t(shard.index)) mine.push_back(photo);
  return mine;
}

}  // namespace seqnet::cli
