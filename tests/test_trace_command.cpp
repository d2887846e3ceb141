// test_trace_command.cpp: `seqnet trace` end to end: its five sections, one forward row per row of
// `seqnet summary` in the same order, the backward order (cls branch, then seg from its own heads),
// finite numbers, Adam's first step of size lr, and the same output on a second run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "model/summary.h"
#include "test_support.h"

namespace seqnet {
namespace {

// The table rows ("  #  path  shape  mean std min max [values]") between two section titles.
std::vector<std::vector<std::string>> section_rows(const std::string& text, const std::string& title,
                                                   const std::string& next_title) {
  std::vector<std::vector<std::string>> rows;
  const size_t begin = text.find(title), end = next_title.empty() ? text.size() : text.find(next_title);
  if (begin == std::string::npos || end == std::string::npos) return rows;
  std::istringstream in(text.substr(begin, end - begin));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.size() >= 7 && w[0].find_first_not_of("0123456789") == std::string::npos) rows.push_back(w);
  }
  return rows;
}

TEST(TraceCommand, PrintsEveryLayerForwardBackwardAndOneAdamStep) {
  test::TempDir dir;
  ASSERT_EQ(test::run_seqnet("trace --device cpu", dir.str("first.txt"), dir.str("first.err")), 0)
      << test::read_text(dir.str("first.err"));
  ASSERT_EQ(test::run_seqnet("trace --device cpu", dir.str("second.txt"), dir.str("second.err")), 0);
  const std::string out = test::read_text(dir.str("first.txt"));
  EXPECT_EQ(out, test::read_text(dir.str("second.txt"))) << "two runs printed different numbers";

  const char* titles[] = {"1. forward", "2. loss", "3. backward", "4. parameter gradients", "5. one Adam step"};
  for (const char* title : titles) EXPECT_NE(out.find(title), std::string::npos) << "no section " << title;
  EXPECT_EQ(out.find("nan"), std::string::npos);
  EXPECT_EQ(out.find("inf"), std::string::npos);

  // Forward: exactly the summary's rows of the same model and size, in its order.
  ModelConfig tiny;
  tiny.width = 2;
  tiny.depth = 3;
  tiny.refine_depth = 2;
  tiny.seg_iterations = 1;
  tiny.cls_iterations = 1;
  const ModelSummary summary = summarize_model(tiny, 1, 8, 8);
  const auto forward = section_rows(out, titles[0], titles[1]);
  ASSERT_EQ(forward.size(), summary.rows.size());
  for (size_t i = 0; i < forward.size(); ++i) {
    EXPECT_EQ(forward[i][1], summary.rows[i].path) << "forward row " << i + 1;
    EXPECT_EQ(forward[i][2], summary.rows[i].output.str()) << summary.rows[i].path;
  }

  // Backward: the cls branch first, starting at its heads, then the seg branch from its own heads;
  // Block BP means no block_bp row.
  const auto backward = section_rows(out, titles[2], titles[3]);
  ASSERT_FALSE(backward.empty());
  EXPECT_EQ(backward.front()[1], "cls.heads.0");
  bool in_seg = false;
  for (const auto& row : backward) {
    EXPECT_EQ(row[1].rfind("block_bp", 0), std::string::npos);
    if (row[1].rfind("seg.", 0) == 0 && !in_seg) {
      in_seg = true;
      EXPECT_EQ(row[1], "seg.heads.0");
    }
    if (in_seg) EXPECT_EQ(row[1].rfind("cls.", 0), std::string::npos) << "cls row after the seg branch began";
  }
  EXPECT_TRUE(in_seg);

  // Adam's first step moves each value by lr g / (|g| + eps): at most lr = 0.001.
  const auto adam = section_rows(out, titles[4], "");
  ASSERT_EQ(adam.size(), section_rows(out, titles[3], titles[4]).size());
  for (const auto& row : adam) {
    EXPECT_LE(std::abs(std::stod(row[5])), 1.0001e-3) << row[1];
    EXPECT_LE(std::abs(std::stod(row[6])), 1.0001e-3) << row[1];
  }
}

// --values: the same rows, each followed by every value of its tensor ("|" lines; a 4-D tensor
// plane by plane), the input and the parameters first in a section 0.
TEST(TraceCommand, ValuesPrintsEveryValueOfEveryTensor) {
  test::TempDir dir;
  ASSERT_EQ(test::run_seqnet("trace --device cpu", dir.str("plain.txt"), dir.str("err.txt")), 0);
  ASSERT_EQ(test::run_seqnet("trace --device cpu --values", dir.str("values.txt"), dir.str("err.txt")), 0)
      << test::read_text(dir.str("err.txt"));
  const std::string plain = test::read_text(dir.str("plain.txt")), out = test::read_text(dir.str("values.txt"));
  EXPECT_NE(out.find("0. the input and the parameters"), std::string::npos);
  const std::string first = "1. forward";
  EXPECT_EQ(section_rows(out, first, ""), section_rows(plain, first, "")) << "--values changed the rows";

  // Each row's tensor: as many values under it as its shape has elements.
  std::istringstream in(out);
  int64_t expected = -1, printed = 0, rows = 0;
  auto check = [&] {
    if (expected >= 0) EXPECT_EQ(printed, expected) << "row " << rows;
  };
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.size() >= 7 && w[0].find_first_not_of("0123456789") == std::string::npos) {
      check();
      ++rows;
      expected = 1;
      std::string dims = w[2].substr(1, w[2].size() - 2);
      std::replace(dims.begin(), dims.end(), ',', ' ');
      std::istringstream d(dims);
      for (int64_t k; d >> k;) expected *= k;
      printed = 0;
    } else if (!w.empty() && w[0] == "|" && w.size() > 1 && w[1][0] != '[') {
      printed += int64_t(w.size()) - 1;
    }
  }
  check();
  EXPECT_GT(rows, 100);
}

TEST(TraceCommand, RejectsASizeTheModelCannotRun) {
  test::TempDir dir;
  EXPECT_EQ(test::run_seqnet("trace --device cpu --size 6", dir.str("out.txt"), dir.str("err.txt")), 2);
  EXPECT_NE(test::read_text(dir.str("err.txt")).find("--size"), std::string::npos);
  // 4 is a multiple of 4 (depth 3), but batch norm would see one pixel per channel at the bottom.
  EXPECT_EQ(test::run_seqnet("trace --device cpu --size 4", dir.str("out.txt"), dir.str("err.txt")), 2);
  EXPECT_NE(test::read_text(dir.str("err.txt")).find("more than one pixel"), std::string::npos);
}

}  // namespace
}  // namespace seqnet
