// manifest.cpp: the per-photograph table: CSV and JSON lines, the journal, the merge (manifest.h).
#include "apps/manifest.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/csv.h"
#include "measure/photo_measures.h"

namespace seqnet::cli {
namespace {
namespace fs = std::filesystem;

const char* const kColumns[] = {"path",           "width",           "height",        "status",      "message", "seconds",
                                "vessel_fraction", "artery_fraction", "vein_fraction", "model_sha256"};
constexpr size_t kColumnCount = std::size(kColumns);

// One CSV line into its fields; false when a quote is left open.
bool split_csv_line(const std::string& line, std::vector<std::string>& fields) {
  fields.assign(1, "");
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c != '"') fields.back() += c;
      else if (i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
      else quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return !quoted;
}

std::string number(double value, const char* format) {
  if (std::isnan(value)) return "";
  char text[32];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

std::string size_text(int pixels) { return pixels > 0 ? std::to_string(pixels) : ""; }

nlohmann::json json_number(double value) { return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value); }

// A table has the measure columns when any of its rows was measured.
bool any_measures(const std::vector<ManifestRow>& rows) {
  return std::any_of(rows.begin(), rows.end(), [](const ManifestRow& row) { return !row.measures.empty(); });
}

std::string document(const std::vector<ManifestRow>& rows, bool json) {
  const bool measures = any_measures(rows);
  std::string text = json ? "" : manifest_csv_header(measures);
  for (const ManifestRow& row : rows) text += json ? manifest_json_line(row) : manifest_csv_line(row, measures);
  return text;
}

}  // namespace

fs::path shard_table_path(const fs::path& out, int index, int count, const std::string& extension) {
  return out / "manifest" / ("shard-" + std::to_string(index) + "-of-" + std::to_string(count) + extension);
}

std::string manifest_csv_header(bool with_measures) {
  std::string header;
  for (const char* column : kColumns) header += std::string(header.empty() ? "" : ",") + column;
  if (with_measures)
    for (const std::string& column : measure::measure_column_names()) header += "," + column;
  return header + "\n";
}

std::string manifest_csv_line(const ManifestRow& row, bool with_measures) {
  const std::string fields[] = {csv_field(row.path),
                                size_text(row.width),
                                size_text(row.height),
                                row.status,
                                csv_field(row.message),
                                number(row.seconds, "%.3f"),
                                number(row.vessel_fraction, "%.6f"),
                                number(row.artery_fraction, "%.6f"),
                                number(row.vein_fraction, "%.6f"),
                                row.model_sha256};
  std::string line;
  for (size_t i = 0; i < std::size(fields); ++i) line += (i ? "," : "") + fields[i];
  if (with_measures)
    for (size_t i = 0; i < measure::measure_column_names().size(); ++i)
      line += "," + (i < row.measures.size() ? csv_field(row.measures[i]) : std::string());
  return line + "\n";
}

std::string manifest_json_line(const ManifestRow& row) {
  nlohmann::json record = {{"path", row.path},
                                 {"width", row.width > 0 ? nlohmann::json(row.width) : nlohmann::json(nullptr)},
                                 {"height", row.height > 0 ? nlohmann::json(row.height) : nlohmann::json(nullptr)},
                                 {"status", row.status},
                                 {"message", row.message},
                                 {"seconds", json_number(row.seconds)},
                                 {"vessel_fraction", json_number(row.vessel_fraction)},
                                 {"artery_fraction", json_number(row.artery_fraction)},
                                 {"vein_fraction", json_number(row.vein_fraction)},
                                 {"model_sha256", row.model_sha256}};
  const std::vector<std::string> names = measure::measure_column_names();
  for (size_t i = 0; i < row.measures.size() && i < names.size(); ++i) record[names[i]] = row.measures[i];
  // Keys are valid UTF-8 (predict_inputs.h escapes them); a message may quote a file name that is
  // not, and must not cost the table: such bytes become U+FFFD.
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::map<std::string, ManifestRow> read_manifest(const fs::path& path) {
  std::map<std::string, ManifestRow> rows;
  std::ifstream in(path, std::ios::binary);
  if (!in) return rows;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t start = 0;
  int line_number = 0;
  bool with_measures = false;
  std::vector<std::string> fields;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = text.substr(start, end - start);
    const std::string where = path.string() + " line " + std::to_string(++line_number);
    if (line_number == 1) {
      with_measures = line + "\n" == manifest_csv_header(true);
      if (line + "\n" != manifest_csv_header() && !with_measures)
        throw std::runtime_error(where + ": not a seqnet manifest (the header should be " + manifest_csv_header() + ")");
      continue;
    }
    const size_t expected = kColumnCount + (with_measures ? measure::measure_column_names().size() : 0);
    if (!split_csv_line(line, fields) || fields.size() != expected)
      throw std::runtime_error(where + ": expected " + std::to_string(expected) + " comma-separated fields");
    try {
      ManifestRow row;
      row.path = fields[0];
      row.width = fields[1].empty() ? 0 : std::stoi(fields[1]);
      row.height = fields[2].empty() ? 0 : std::stoi(fields[2]);
      row.status = fields[3];
      row.message = fields[4];
      double* numbers[] = {&row.seconds, &row.vessel_fraction, &row.artery_fraction, &row.vein_fraction};
      for (int i = 0; i < 4; ++i) *numbers[i] = fields[5 + i].empty() ? NAN : std::stod(fields[5 + i]);
      row.model_sha256 = fields[9];
      if (with_measures) row.measures.assign(fields.begin() + kColumnCount, fields.end());
      rows[row.path] = row;
    } catch (const std::logic_error&) {  // stoi/stod: invalid_argument, out_of_range
      throw std::runtime_error(where + ": a number field is not a number");
    }
  }
  return rows;  // text after the last newline is a row cut short by a kill: ignored
}

ManifestJournal::ManifestJournal(const fs::path& path, bool with_measures) : path_(path), with_measures_(with_measures) {
  fs::create_directories(path.parent_path());
  // A run killed while appending may have left a row cut short: cut the journal back to its last
  // line break so that the rows appended now start on a line of their own.
  if (fs::exists(path)) {
    std::ifstream in(path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t end = text.rfind('\n');
    fs::resize_file(path, end == std::string::npos ? 0 : end + 1);
  }
  // A journal of a run with(out) --measures resumed without (with) them: rewritten in this run's
  // columns, so that every line of it has as many fields as its header.
  if (fs::exists(path) && fs::file_size(path) > 0) {
    std::ifstream in(path, std::ios::binary);
    std::string header;
    std::getline(in, header);
    if (header + "\n" != manifest_csv_header(with_measures)) {
      std::vector<ManifestRow> rows;
      for (auto& [key, row] : read_manifest(path)) rows.push_back(row);
      std::string text = manifest_csv_header(with_measures);
      for (const ManifestRow& row : rows) text += manifest_csv_line(row, with_measures);
      write_file_atomically(path.string(), text);
    }
  }
  const bool fresh = !fs::exists(path) || fs::file_size(path) == 0;
  file_ = std::fopen(path.string().c_str(), "ab");
  if (!file_) throw std::runtime_error("cannot open " + path.string() + " to append to: " + std::strerror(errno));
  if (fresh) append_text(manifest_csv_header(with_measures));
}

ManifestJournal::~ManifestJournal() {
  if (file_) std::fclose(file_);
}

void ManifestJournal::append(const ManifestRow& row) { append_text(manifest_csv_line(row, with_measures_)); }

void ManifestJournal::append_text(const std::string& line) {
  if (std::fputs(line.c_str(), file_) == EOF || std::fflush(file_) != 0)
    throw std::runtime_error("cannot append to " + path_.string() + ": " + std::strerror(errno));
}

void write_shard_table(const fs::path& out, int index, int count, const std::vector<ManifestRow>& rows, bool json) {
  fs::create_directories(out / "manifest");
  write_file_atomically(shard_table_path(out, index, count).string(), document(rows, false));
  if (json) write_file_atomically(shard_table_path(out, index, count, ".jsonl").string(), document(rows, true));
}

int merge_manifests(const fs::path& out, const std::vector<std::string>& expected_keys) {
  const fs::path folder = out / "manifest";
  if (!fs::is_directory(folder))
    throw std::runtime_error(folder.string() + " does not exist: no shard of `seqnet predict -o " + out.string() +
                             "` has started");
  // Tables by shard count: {N: {K: path}}.
  const std::regex table_name(R"(shard-(\d+)-of-(\d+)\.csv)");
  std::map<int, std::map<int, fs::path>> tables;
  for (const auto& entry : fs::directory_iterator(folder)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, table_name)) tables[std::stoi(match[2])][std::stoi(match[1])] = entry.path();
  }
  if (tables.empty()) throw std::runtime_error("no shard table (shard-K-of-N.csv) in " + folder.string());
  if (tables.size() > 1) {
    std::string counts;
    for (const auto& [n, shards] : tables) counts += (counts.empty() ? "" : " and ") + std::to_string(n);
    throw std::runtime_error(folder.string() + " holds tables of runs split into " + counts +
                             " shards; remove the stale ones and merge again");
  }
  const int count = tables.begin()->first;
  const std::map<int, fs::path>& shards = tables.begin()->second;

  std::vector<std::string> problems;
  std::map<std::string, ManifestRow> all;
  for (int k = 0; k < count; ++k) {
    if (!shards.count(k)) {
      const fs::path journal = shard_table_path(out, k, count, ".partial.csv");
      problems.push_back("shard " + std::to_string(k) + " of " + std::to_string(count) + " has no table: " +
                         (fs::exists(journal) ? "it did not finish (" + std::to_string(read_manifest(journal).size()) +
                                                    " photographs in its journal); rerun it"
                                              : "it has not run"));
      continue;
    }
    for (auto& [path, row] : read_manifest(shards.at(k))) {
      if (all.count(path)) problems.push_back(path + " is in two shard tables (were the shards cut differently?)");
      all[path] = row;
    }
  }
  int ok = 0, skipped = 0;
  std::vector<std::string> errors;
  for (const auto& [path, row] : all) {
    if (row.status == "ok") ++ok;
    else if (row.status == "skipped") ++skipped;
    else errors.push_back(path + ": " + row.message);
  }
  size_t missing = 0;
  for (const std::string& key : expected_keys)
    if (!all.count(key)) {
      if (++missing <= 20) problems.push_back(key + " has no row");
    }
  if (missing > 20) problems.push_back("... and " + std::to_string(missing - 20) + " more photographs have no row");

  std::vector<ManifestRow> rows;
  for (const auto& [path, row] : all) rows.push_back(row);
  write_file_atomically((folder / "all.csv").string(), document(rows, false));

  std::printf("merge: %d of %d shard tables, %zu photographs (%d ok, %d skipped, %zu errors) -> %s\n",
              int(shards.size()), count, all.size(), ok, skipped, errors.size(), (folder / "all.csv").string().c_str());
  if (!expected_keys.empty())
    std::printf("merge: %zu of %zu input photographs have a row\n", expected_keys.size() - missing, expected_keys.size());
  for (const std::string& error : errors) std::printf("error: %s\n", error.c_str());
  for (const std::string& problem : problems) std::printf("problem: %s\n", problem.c_str());
  return problems.empty() && errors.empty() ? 0 : 1;
}

}  // namespace seqnet::cli
