// test_gpu_doc.cpp: the shares of the multiply-adds docs/GPU.md states, computed from `seqnet
// summary` (model/summary.h), so the page cannot drift from the model.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "model/summary.h"
#include "test_support.h"

namespace seqnet {
namespace {

// The page with every run of spaces and line breaks made one space.
std::string flattened(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

TEST(GpuDoc, StatedSharesOfTheMultiplyAddsMatchSummary) {
  const std::string page = flattened(test::read_text(std::string(SEQNET_SOURCE_DIR) + "/docs/GPU.md"));
  ASSERT_FALSE(page.empty()) << "cannot read docs/GPU.md";
  const ModelSummary s = summarize_model(ModelConfig{}, 1, 576, 576);
  int convs = 0, level0_convs = 0;
  double conv_macs = 0, level0_macs = 0;
  for (const SummaryRow& r : s.rows) {
    if (r.type != "Conv2d 3x3") continue;
    ++convs;
    conv_macs += double(r.macs);
    if (r.output.h() == 576) ++level0_convs, level0_macs += double(r.macs);
  }
  char a[160], b[160];
  std::snprintf(a, sizeof a, "The %d 3x3 convolutions carry %.1f%% of them", convs, 100 * conv_macs / double(s.macs));
  std::snprintf(b, sizeof b, "the %d at level 0 (32 channels, 576x576 or 24 x 128x128) carry %.1f%%", level0_convs,
                100 * level0_macs / double(s.macs));
  EXPECT_NE(page.find(a), std::string::npos) << "docs/GPU.md should say: " << a;
  EXPECT_NE(page.find(b), std::string::npos) << "docs/GPU.md should say: " << b;
}

}  // namespace
}  // namespace seqnet
