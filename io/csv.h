// csv.h: one CSV field written as RFC 4180 asks: quoted when it holds a comma or a quote (a quote
// doubled inside), line breaks turned into spaces so that every row is one line.
#pragma once

#include <algorithm>
#include <string>

namespace seqnet {

inline std::string csv_field(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  if (text.find_first_of(",\"") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace seqnet
