// measure_table.h: the table `seqnet measure` writes: one row per photograph, its path, size,
// status (ok or error), message, seconds (the measures alone), then the measure columns
// (photo_measures.h: measure_column_names).
#pragma once

#include <cmath>
#include <string>
#include <vector>

namespace seqnet::measure {

struct MeasureRow {
  std::string path;
  int width = 0, height = 0;  // 0: unknown (blank)
  std::string status, message;
  double seconds = NAN;
  std::vector<std::string> values;  // measure_column_values; empty for an error row (blank)
};

// The header and the rows, each line ending in "\n".
std::string measure_table_csv(const std::vector<MeasureRow>& rows);

}  // namespace seqnet::measure
