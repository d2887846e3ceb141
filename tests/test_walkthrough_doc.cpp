// test_walkthrough_doc.cpp: docs/WALKTHROUGH.md's shape table and totals held to `seqnet summary`
// (model/summary.h), so a doc that drifts from the code fails the suite.
//
// The table is the first markdown table of the page whose header starts "| layer | type |". Each
// row names a summary path; the k-th row naming a path is that path's k-th row in the summary (the
// refiner's layers run once per iteration), rows come in the summary's order, and all six cells
// read as the summary prints them. Rows whose first cell starts with "..." are the page's notes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "model/summary.h"
#include "test_support.h"

namespace seqnet {
namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" `"), b = s.find_last_not_of(" `");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// "| a | b |" -> {"a", "b"} (backticks and padding dropped).
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|') {
      out.push_back(trim(cell));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return out;
}

// The rows of the page's layer table (header and separator left out).
std::vector<std::vector<std::string>> layer_table(const std::string& page) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(page);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside) {
      inside = line.rfind("| layer | type |", 0) == 0;
      continue;
    }
    if (line.empty() || line[0] != '|') break;
    if (line.rfind("| ---", 0) == 0 || line.rfind("|---", 0) == 0) continue;
    rows.push_back(cells(line));
  }
  return rows;
}

TEST(WalkthroughDoc, ShapeTableAndTotalsMatchSummary) {
  const std::string page = test::read_text(std::string(SEQNET_SOURCE_DIR) + "/docs/WALKTHROUGH.md");
  ASSERT_FALSE(page.empty()) << "cannot read docs/WALKTHROUGH.md";
  const ModelSummary summary = summarize_model(ModelConfig{}, 1, 576, 576);

  const std::vector<std::vector<std::string>> rows = layer_table(page);
  std::map<std::string, int> seen;  // path -> rows of the page naming it so far
  size_t position = 0;              // the summary row after the last one matched
  int matched = 0;
  for (const std::vector<std::string>& row : rows) {
    ASSERT_EQ(row.size(), 6u) << "a table row of docs/WALKTHROUGH.md does not have 6 cells: " << row[0];
    if (row[0].rfind("...", 0) == 0) continue;
    const int occurrence = seen[row[0]]++;
    int found = -1;
    for (size_t r = 0, k = 0; r < summary.rows.size(); ++r)
      if (summary.rows[r].path == row[0] && int(k++) == occurrence) found = int(r);
    ASSERT_GE(found, 0) << row[0] << " (occurrence " << occurrence + 1 << ") is not a row of `seqnet summary`";
    EXPECT_GE(size_t(found), position) << row[0] << " is out of the summary's order";
    position = size_t(found) + 1;
    EXPECT_EQ(row, summary_cells(summary.rows[found])) << "docs/WALKTHROUGH.md row " << row[0];
    ++matched;
  }
  EXPECT_GE(matched, 30) << "the page's layer table was not found or lost its rows";

  const std::string totals = summary_totals(summary);
  EXPECT_NE(page.find(totals), std::string::npos) << "docs/WALKTHROUGH.md should quote the totals line: " << totals;
}

// The page with every run of spaces and line breaks made one space, so a sentence reads the same
// wherever the lines wrap.
std::string flattened(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

std::string printf_string(const char* format, double a, double b = 0, double c = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

// The shares "Things to notice" states, computed from the summary.
TEST(WalkthroughDoc, StatedSharesMatchSummary) {
  const std::string page =
      flattened(test::read_text(std::string(SEQNET_SOURCE_DIR) + "/docs/WALKTHROUGH.md"));
  const ModelConfig config;
  const ModelSummary s = summarize_model(config, 1, 576, 576);
  const std::string deepest = ".unet.enc." + std::to_string(config.depth - 1) + ".";
  double deep_params = 0, refiner_macs = 0, unet_macs = 0, top_bytes = 0, second_bytes = 0, level_macs = 0;
  for (const SummaryRow& r : s.rows) {
    if (r.path == "seg.unet.enc.0.conv2") level_macs = double(r.macs);
    if (r.path.find(deepest) != std::string::npos) deep_params += double(r.parameters);
    if (r.path.find(".refine.") != std::string::npos) refiner_macs += double(r.macs);
    if (r.path.find(".unet.") != std::string::npos) unet_macs += double(r.macs);
    if (r.output.h() == 576) top_bytes += double(r.activation_bytes);
    if (r.output.h() == 288) second_bytes += double(r.activation_bytes);
  }
  const double params = double(s.parameters), macs = double(s.macs), bytes = double(s.activation_bytes);
  const std::vector<std::string> statements = {
      printf_string("hold %.2f M of the %.2f M parameters (%.1f%%)", deep_params / 1e6, params / 1e6,
                    100 * deep_params / params),
      printf_string("the refiners hold %.2f G of the %.2f G multiply-adds (%.1f%%)", refiner_macs / 1e9, macs / 1e9,
                    100 * refiner_macs / macs),
      printf_string("the two UNets %.2f G", unet_macs / 1e9),
      printf_string("The maps at 576x576 hold %.1f%% of the activation memory and those at 288x288 another %.1f%%",
                    100 * top_bytes / bytes, 100 * second_bytes / bytes),
      printf_string("so each second conv is %.1f M multiply-adds at every level", level_macs / 1e6)};
  for (const std::string& statement : statements)
    EXPECT_NE(page.find(statement), std::string::npos) << "docs/WALKTHROUGH.md should say: " << statement;
  // ... and "every level costs the same" holds: each level's second conv costs what level 0's does.
  for (int l = 1; l < config.depth; ++l)
    for (const SummaryRow& r : s.rows)
      if (r.path == "seg.unet.enc." + std::to_string(l) + ".conv2") EXPECT_EQ(double(r.macs), level_macs) << r.path;
}

// The training step the page quotes (its ```cpp block) is in train/trainer.cpp, line for line.
TEST(WalkthroughDoc, TrainingStepLinesAreTheTrainers) {
  const std::string page = test::read_text(std::string(SEQNET_SOURCE_DIR) + "/docs/WALKTHROUGH.md");
  const std::string trainer = test::read_text(std::string(SEQNET_SOURCE_DIR) + "/train/trainer.cpp");
  ASSERT_FALSE(trainer.empty());
  const size_t begin = page.find("```cpp\n");
  ASSERT_NE(begin, std::string::npos) << "docs/WALKTHROUGH.md quotes no training step";
  const size_t end = page.find("```", begin + 7);
  std::istringstream in(page.substr(begin + 7, end - begin - 7));
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.rfind("//", 0) == 0) continue;
    EXPECT_NE(trainer.find(line), std::string::npos) << "not in train/trainer.cpp: " << line;
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

// Words of a line, brackets dropped ("[0.001" -> "0.001").
std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) {
    while (!w.empty() && (w.front() == '[')) w.erase(w.begin());
    while (!w.empty() && (w.back() == ']')) w.pop_back();
    if (!w.empty()) out.push_back(w);
  }
  return out;
}

// Two words agree when equal, or when both are numbers within 1e-3 relative or 1e-6 absolute:
// the last printed digit of a float sum may differ between CPUs (another BLAS kernel, another
// summation order), and a batch-norm output's mean of ~1e-9 is rounding noise.
bool same_word(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char* end_a = nullptr;
  char* end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a), y = std::strtod(b.c_str(), &end_b);
  if (*end_a != '\0' || *end_b != '\0' || end_a == a.c_str() || end_b == b.c_str()) return false;
  return std::abs(x - y) <= 1e-3 * std::max(std::abs(x), std::abs(y)) + 1e-6;
}

// Every line of the page's `seqnet trace` excerpt (the indented block after its marker comment,
// "..." lines apart) is a line the program prints today, number for number.
TEST(WalkthroughDoc, TraceExcerptIsWhatTheProgramPrints) {
  const std::string page = test::read_text(std::string(SEQNET_SOURCE_DIR) + "/docs/WALKTHROUGH.md");
  const size_t marker = page.find("<!-- trace excerpt");
  ASSERT_NE(marker, std::string::npos) << "docs/WALKTHROUGH.md has no trace excerpt";
  test::TempDir dir;
  ASSERT_EQ(test::run_seqnet("trace --device cpu", dir.str("trace.txt"), dir.str("trace.err")), 0)
      << test::read_text(dir.str("trace.err"));
  std::vector<std::vector<std::string>> printed;
  {
    std::istringstream out(test::read_text(dir.str("trace.txt")));
    for (std::string line; std::getline(out, line);) printed.push_back(words(line));
  }
  std::istringstream in(page.substr(page.find('\n', marker) + 1));
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.rfind("    ", 0) != 0) break;  // the block ends at the first unindented line
    const std::vector<std::string> expected = words(line);
    if (expected.empty() || expected[0] == "...") continue;
    bool found = false;
    for (const auto& got : printed) {
      if (got.size() != expected.size()) continue;
      bool all = true;
      for (size_t i = 0; i < got.size() && all; ++i) all = same_word(expected[i], got[i]);
      if (all) {
        found = true;
        break;
      }
    }
    EXPECT_TRUE(found) << "not printed by seqnet trace: " << line;
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

}  // namespace
}  // namespace seqnet
