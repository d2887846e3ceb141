// test_summary.cpp: the layer table (model/summary.h) against the model the code really builds.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "model/seqnet.h"
#include "model/summary.h"

namespace seqnet {
namespace {

const SummaryRow& find_row(const ModelSummary& s, const std::string& path) {
  for (const SummaryRow& r : s.rows)
    if (r.path == path) return r;
  throw std::runtime_error("no row " + path);
}

// Every row with new parameters names tensors the model declares, with that many values.
void expect_rows_match_store(const ModelSummary& s, const ParameterStore& store) {
  for (const SummaryRow& r : s.rows) {
    if (r.parameters == 0) continue;
    int64_t declared = 0;
    for (const char* suffix : {".weight", ".bias"}) {
      const int id = store.id(r.path + suffix);
      if (id >= 0) declared += store.entries()[id].shape.numel();
    }
    EXPECT_EQ(declared, r.parameters) << r.path;
  }
}

TEST(Summary, DefaultModelHasTheSpecParameterCount) {
  const ModelConfig config;
  const ModelSummary s = summarize_model(config, 1, 576, 576);
  EXPECT_EQ(s.parameters, 16496012);
  const SeqNet model(config);
  EXPECT_EQ(model.params().parameter_count(), 16496012);
  expect_rows_match_store(s, model.params());
}

TEST(Summary, NonDefaultConfigMatchesTheBuiltModel) {
  ModelConfig config;
  config.width = 8;
  config.depth = 3;
  config.refine_depth = 2;
  config.seg_iterations = 2;
  config.cls_iterations = 1;
  config.norm = Norm::none;
  const ModelSummary s = summarize_model(config, 2, 64, 32);
  const SeqNet model(config);
  EXPECT_EQ(s.parameters, model.params().parameter_count());
  expect_rows_match_store(s, model.params());
  // Two seg heads after the refiner plus the UNet's, one cls refiner iteration.
  EXPECT_EQ(find_row(s, "seg.heads.2").output, (Shape{2, 1, 64, 32}));
  EXPECT_EQ(find_row(s, "cls.heads.1").output, (Shape{2, 2, 64, 32}));
}

TEST(Summary, RefinerRepeatsAreSharedAndCountedOnce) {
  const ModelSummary s = summarize_model(ModelConfig{}, 1, 128, 128);
  int applications = 0, shared = 0;
  for (const SummaryRow& r : s.rows) {
    if (r.path != "seg.refine.enc.0.conv1") continue;
    ++applications;
    if (r.shared) {
      ++shared;
      EXPECT_EQ(r.parameters, 0);
    } else {
      EXPECT_EQ(r.parameters, 32 * 32 * 9);
    }
  }
  EXPECT_EQ(applications, 3);
  EXPECT_EQ(shared, 2);
  // The fuse convs are one per iteration, never shared: fuse.2 reads w*(2+2) channels.
  EXPECT_FALSE(find_row(s, "seg.refine.fuse.2").shared);
  EXPECT_EQ(find_row(s, "seg.refine.fuse.2").parameters, 32 * 128 + 32);
}

TEST(Summary, ConvRowMacsByHand) {
  const ModelSummary s = summarize_model(ModelConfig{}, 1, 576, 576);
  // First conv: 32 outputs at each of 576*576 pixels, each 3 channels x 3x3 taps.
  const SummaryRow& conv = find_row(s, "seg.unet.enc.0.conv1");
  EXPECT_EQ(conv.output, (Shape{1, 32, 576, 576}));
  EXPECT_EQ(conv.macs, int64_t(32) * 576 * 576 * 3 * 9);
  EXPECT_EQ(conv.macs, 286654464);
  EXPECT_EQ(conv.activation_bytes, int64_t(32) * 576 * 576 * 4);
  // up.3: 512 -> 256 channels, 36x36 -> 72x72; each output reads one tap of each input channel.
  const SummaryRow& up = find_row(s, "seg.unet.up.3");
  EXPECT_EQ(up.output, (Shape{1, 256, 72, 72}));
  EXPECT_EQ(up.macs, int64_t(256) * 72 * 72 * 512);
  EXPECT_EQ(find_row(s, "seg.unet.enc.4.conv2").output, (Shape{1, 512, 36, 36}));
  EXPECT_EQ(find_row(s, "seg.unet.enc.0.relu1").activation_bytes, 0);
}

TEST(Summary, TinyModelPrintsExactCountsWhereRoundingWouldGiveZero) {
  ModelConfig config;
  config.width = 2;
  config.depth = 3;
  config.refine_depth = 2;
  config.seg_iterations = 1;
  config.cls_iterations = 1;
  const ModelSummary s = summarize_model(config, 1, 8, 8);
  // cls.heads.0: 2 outputs x 64 pixels x 2 inputs = 256 multiply-adds, 2 x 64 floats = 512 bytes.
  const std::vector<std::string> head = summary_cells(find_row(s, "cls.heads.0"));
  EXPECT_EQ(head[4], "256");
  EXPECT_EQ(head[5], "512 B");
  const std::string text = format_summary(s);
  EXPECT_EQ(text.find(" 0.0 "), std::string::npos) << text;
  EXPECT_EQ(text.find("0.00 MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("forward " + std::to_string(s.macs / 1000) + "," + std::to_string(s.macs % 1000) +
                      " multiply-adds"),
            std::string::npos)
      << text;
  // The full-size model keeps its units.
  const ModelSummary full = summarize_model(ModelConfig{}, 1, 576, 576);
  const SummaryRow& conv = find_row(full, "seg.unet.enc.0.conv1");
  EXPECT_EQ(summary_cells(conv)[4], "286.7 M");
  EXPECT_EQ(summary_cells(conv)[5], "40.50 MiB");
}

TEST(Summary, RejectsSizesTheModelCannotRun) {
  EXPECT_THROW(summarize_model(ModelConfig{}, 1, 100, 100), std::invalid_argument);
  EXPECT_THROW(summarize_model(ModelConfig{}, 0, 576, 576), std::invalid_argument);
}

}  // namespace
}  // namespace seqnet
