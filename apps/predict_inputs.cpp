// predict_inputs.cpp: listing the inputs (predict_inputs.h) and choosing a shard of them.
#include "apps/predict_inputs.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "apps/args.h"
#include "apps/path_checks.h"
#include "apps/predict_outputs.h"

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

// A key as the manifest and the output names can carry it: every byte that is not part of valid
// UTF-8, and every control character (a newline in a file name), becomes \xHH. The CSV table, the
// JSON lines and --merge-manifests then all see the same key, and JSON can hold it.
std::string printable_key(const std::string& raw) {
  std::string key;
  for (size_t i = 0; i < raw.size();) {
    const auto byte = [&](size_t at) { return at < raw.size() ? static_cast<unsigned char>(raw[at]) : 0u; };
    const unsigned c = byte(i);
    // The length of a well-formed UTF-8 sequence starting here (RFC 3629), 0 if it is not one.
    size_t length = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    for (size_t k = 1; k < length; ++k)
      if ((byte(i + k) & 0xc0) != 0x80) length = 0;
    if (length == 3 && ((c == 0xe0 && byte(i + 1) < 0xa0) || (c == 0xed && byte(i + 1) >= 0xa0))) length = 0;
    if (length == 4 && ((c == 0xf0 && byte(i + 1) < 0x90) || (c == 0xf4 && byte(i + 1) >= 0x90))) length = 0;
    if (length == 0 || c < 0x20 || c == 0x7f) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", c);
      key += escaped;
      ++i;
    } else {
      key.append(raw, i, length);
      i += length;
    }
  }
  return key;
}

// Lists the photographs of `folder` (keyed relative to `root`) and, with `recursive`, of its
// subfolders. Nothing found here stops the listing: an entry that cannot be followed (a symbolic
// link loop) or a folder reached a second time becomes a photograph with a `problem`, an error row.
// Folders in `skipped` (the outputs of an earlier run into the same folder) are left out.
void add_folder(const fs::path& folder, const fs::path& root, bool recursive, const std::set<fs::path>& skipped,
                std::set<fs::path>& visited, std::vector<InputPhoto>& photos) {
  auto key_of = [&](const fs::path& p) { return p.lexically_relative(root).generic_string(); };
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  if (ec) {
    photos.push_back({folder, key_of(folder), "cannot list the folder: " + ec.message()});
    return;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path path = it->path();
    if (path.filename().string()[0] == '.') continue;
    const fs::file_status status = it->status(ec);  // through symbolic links
    if (ec) {
      photos.push_back({path, key_of(path), "cannot follow it: " + ec.message()});
      ec.clear();
      continue;
    }
    if (fs::is_directory(status)) {
      if (!recursive) continue;
      const fs::path real = fs::canonical(path, ec);
      if (ec || skipped.count(real)) continue;
      if (!visited.insert(real).second) {
        photos.push_back({path, key_of(path), "a symbolic link to a folder already listed (a loop?); not followed"});
        continue;
      }
      add_folder(path, root, recursive, skipped, visited, photos);
    } else if (has_image_extension(path)) {
      photos.push_back({path, key_of(path), ""});  // a FIFO or device is an error row when it is read
    }
  }
  if (ec) photos.push_back({folder, key_of(folder), "cannot list the folder: " + ec.message()});
}

// '#' at the start of a line, or after a space or a tab, starts a comment (docs/COHORT.md); a '#'
// inside a file name does not.
std::string without_comment(std::string line) {
  for (size_t i = 0; i < line.size(); ++i)
    if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      line.resize(i);
      break;
    }
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();  // "\r" too
  return line;
}

void add_list(const fs::path& list, std::vector<InputPhoto>& photos) {
  require_regular_file(list, "the list of photographs");  // a FIFO would be read forever
  std::ifstream in(list);
  if (!in) throw UsageError("cannot read the list of photographs " + list.string());
  const fs::path base = list.parent_path().empty() ? fs::path(".") : list.parent_path();
  const size_t before = photos.size();
  for (std::string text; std::getline(in, text);) {
    const std::string line = without_comment(text);
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    const fs::path entry = line.substr(start);
    const fs::path file = entry.is_absolute() ? entry : base / entry;
    photos.push_back({file, key_for(file, base), ""});
  }
  if (photos.size() == before) throw UsageError("the list of photographs " + list.string() + " names none");
}

// The map folders of an earlier run into `out` (it wrote out/predict.json): never inputs.
std::set<fs::path> earlier_output_folders(const fs::path& out) {
  std::set<fs::path> folders;
  std::error_code ec;
  if (out.empty() || !fs::exists(out / "predict.json", ec)) return folders;
  for (const char* name : kOutputFolders)
    if (const fs::path real = fs::canonical(out / name, ec); !ec) folders.insert(real);
  if (const fs::path real = fs::canonical(out / "manifest", ec); !ec) folders.insert(real);
  return folders;
}

}  // namespace

std::vector<InputPhoto> list_inputs(const std::vector<std::string>& inputs, bool recursive, const fs::path& out) {
  const std::set<fs::path> skipped = earlier_output_folders(out);
  std::vector<InputPhoto> photos;
  for (const std::string& input : inputs) {
    if (fs::is_directory(input)) {
      std::error_code ec;
      if (skipped.count(fs::canonical(input, ec)))
        throw UsageError("input folder " + input + " holds the maps of an earlier run into " + out.string() +
                         "; an output folder is never an input");
      const size_t before = photos.size();
      std::set<fs::path> visited = {fs::canonical(input)};
      add_folder(input, input, recursive, skipped, visited, photos);
      if (photos.size() == before)
        throw UsageError("input folder " + input + " holds no image files (.png .jpg .tif .bmp .gif)" +
                         (recursive ? "" : "; add --recursive to look in its subfolders"));
    } else if (is_path_list(input)) {
      add_list(input, photos);
    } else {
      photos.push_back({input, fs::path(input).filename().string(), ""});
    }
  }
  for (InputPhoto& photo : photos) photo.key = printable_key(photo.key);
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

void refuse_outputs_over_inputs(const fs::path& out, const std::vector<InputPhoto>& todo,
                                const std::vector<InputPhoto>& all) {
  std::set<fs::path> inputs;
  std::error_code ec;
  for (const InputPhoto& photo : all)
    if (const fs::path real = fs::canonical(photo.file, ec); !ec) inputs.insert(real);
  for (const InputPhoto& photo : todo)
    for (const fs::path& output : output_paths(out, photo.key)) {
      const fs::path real = fs::canonical(output, ec);
      if (!ec && inputs.count(real))
        throw UsageError("the map " + output.string() + " of " + photo.file.string() + " would replace the input " +
                         real.string() + "; predict into another -o DIR");
    }
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
  if (task < 0 || n < 0 || first < 0)
    throw UsageError("the job-array variables are not whole numbers (" + described + "); or give --shard K/N");
  if (n == 0)
    throw UsageError("SLURM_ARRAY_TASK_COUNT=0: a job array has at least one task (" + described + "); or give --shard K/N");
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
