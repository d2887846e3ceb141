// measure_table.cpp: the measures table as CSV (measure_table.h).
#include "measure/measure_table.h"

#include <cstdio>

#include "io/csv.h"
#include "measure/photo_measures.h"

namespace seqnet::measure {

std::string measure_table_csv(const std::vector<MeasureRow>& rows) {
  const std::vector<std::string> names = measure_column_names();
  std::string text = "path,width,height,status,message,seconds";
  for (const std::string& name : names) text += "," + name;
  text += "\n";
  for (const MeasureRow& row : rows) {
    char seconds[32] = "";
    if (!std::isnan(row.seconds)) std::snprintf(seconds, sizeof seconds, "%.3f", row.seconds);
    text += csv_field(row.path) + "," + (row.width > 0 ? std::to_string(row.width) : "") + "," +
            (row.height > 0 ? std::to_string(row.height) : "") + "," + row.status + "," + csv_field(row.message) + "," +
            seconds;
    for (size_t i = 0; i < names.size(); ++i) {
      text += ',';
      if (i < row.values.size()) text += csv_field(row.values[i]);
    }
    text += "\n";
  }
  return text;
}

}  // namespace seqnet::measure
