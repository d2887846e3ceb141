// manifest.h: the per-photograph table of `seqnet predict`: one row per photograph of a shard in
// OUT/manifest/shard-K-of-N.csv (and .jsonl with --json), and the merge of every shard's table
// into OUT/manifest/all.csv.
//
// Columns: path (the photograph's key, relative), width, height, status (ok, skipped or error),
// message, seconds (decode + model + post-processing + writing, for this photograph alone),
// vessel_fraction, artery_fraction, vein_fraction (of field-of-view pixels; predict_outputs.h),
// model_sha256 (of the weights file; an ensemble's hashes joined by '+'). Blank where there is no
// value (an error row has no size).
// With `predict --measures` the vascular measures' columns follow (measure/photo_measures.h:
// measure_column_names), in every row of that table (blank in a row without them).
//
// While a shard runs, each finished row is appended to OUT/manifest/shard-K-of-N.partial.csv (the
// journal); the table is written atomically when the shard ends and the journal removed. A killed
// run leaves the journal, and the rerun carries its rows over for the photographs it skips.
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace seqnet::cli {

struct ManifestRow {
  std::string path;
  int width = 0, height = 0;  // 0: unknown (written blank)
  std::string status;         // "ok", "skipped" or "error"
  std::string message;
  double seconds = NAN;  // NAN: unknown (written blank); so are the fractions
  double vessel_fraction = NAN, artery_fraction = NAN, vein_fraction = NAN;
  std::string model_sha256;
  std::vector<std::string> measures;  // measure_column_values; empty when not measured
};

// OUT/manifest/shard-K-of-N.csv, .jsonl and .partial.csv.
std::filesystem::path shard_table_path(const std::filesystem::path& out, int index, int count,
                                       const std::string& extension = ".csv");

// The header line and one row as CSV (RFC 4180 quoting), and a row as one JSON line; each ends in
// "\n". `with_measures` adds the measure columns.
std::string manifest_csv_header(bool with_measures = false);
std::string manifest_csv_line(const ManifestRow& row, bool with_measures = false);
std::string manifest_json_line(const ManifestRow& row);

// The rows of a table or journal, by path (a later row replaces an earlier one). A last line
// without its newline (a run killed while appending) is ignored. An absent file gives no rows;
// a malformed one throws std::runtime_error naming the file and line.
std::map<std::string, ManifestRow> read_manifest(const std::filesystem::path& path);

// Appends rows to a shard's journal, each flushed as soon as it is added.
class ManifestJournal {
 public:
  // throws std::runtime_error
  explicit ManifestJournal(const std::filesystem::path& path, bool with_measures = false);
  ~ManifestJournal();
  ManifestJournal(const ManifestJournal&) = delete;
  ManifestJournal& operator=(const ManifestJournal&) = delete;
  void append(const ManifestRow& row);

 private:
  void append_text(const std::string& line);

  std::filesystem::path path_;
  bool with_measures_ = false;
  std::FILE* file_ = nullptr;
};

// Writes a shard's table (and JSON lines when `json`) atomically.
void write_shard_table(const std::filesystem::path& out, int index, int count, const std::vector<ManifestRow>& rows,
                       bool json);

// `seqnet predict --merge-manifests OUT`: joins OUT/manifest/shard-*-of-N.csv into
// OUT/manifest/all.csv (sorted by path) and prints what is missing or failed: shards without a
// table, photographs of `expected` (when not empty) without a row, rows listed twice, error rows.
// Returns 0 when every shard is there, nothing is missing and no row is an error; else 1.
int merge_manifests(const std::filesystem::path& out, const std::vector<std::string>& expected_keys);

}  // namespace seqnet::cli
