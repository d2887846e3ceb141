// test_metrics.cpp: ROC/PR AUC, confusion statistics and the vessel and artery/vein evaluation
// (the protocol of eval/metrics.h), each checked against numbers worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "eval/error_map.h"
#include "eval/metrics.h"

namespace seqnet {
namespace {

constexpr double kTolerance = 1e-12;

TEST(MetricsRocAuc, TiesCountHalf) {
  // Positives 0.4 and 0.8 against negatives 0.1 and 0.4: pairs 1 + 0.5 + 1 + 1 = 3.5 of 4.
  EXPECT_NEAR(roc_auc({0.1f, 0.4f, 0.4f, 0.8f}, {0, 0, 1, 1}), 0.875, kTolerance);
}

TEST(MetricsRocAuc, PerfectInvertedAndAllTied) {
  EXPECT_NEAR(roc_auc({0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}), 1.0, kTolerance);
  EXPECT_NEAR(roc_auc({0.1f, 0.2f, 0.8f, 0.9f}, {1, 1, 0, 0}), 0.0, kTolerance);
  EXPECT_NEAR(roc_auc({0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, {1, 0, 0, 1, 0}), 0.5, kTolerance);
}

TEST(MetricsRocAuc, UnsortedInputWithSeveralTieGroups) {
  // Positives {0.3, 0.3, 0.7}, negatives {0.3, 0.5, 0.1}:
  // 0.3 beats 0.1 and ties 0.3 -> 1.5 each (x2 = 3); 0.7 beats all three -> 3. Total 6 of 9.
  EXPECT_NEAR(roc_auc({0.3f, 0.5f, 0.3f, 0.1f, 0.7f, 0.3f}, {1, 0, 0, 0, 1, 1}), 6.0 / 9.0, kTolerance);
}

TEST(MetricsRocAuc, OneClassAbsentOrBadInputThrows) {
  try {
    roc_auc({0.1f, 0.2f}, {1, 1});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("only one class"), std::string::npos) << e.what();
  }
  EXPECT_THROW(roc_auc({0.1f, 0.2f}, {0, 0}), std::invalid_argument);
  EXPECT_THROW(roc_auc({0.1f, 0.2f}, {0, 1, 1}), std::invalid_argument);
  EXPECT_THROW(roc_auc({0.1f, std::nanf("")}, {0, 1}), std::invalid_argument);
}

TEST(MetricsPrAuc, AveragePrecisionByHand) {
  // Descending: 0.8 (+) -> R 1/2, P 1; {0.4 +, 0.4 -} -> R 1, P 2/3; 0.1 (-) -> R unchanged.
  // AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
  EXPECT_NEAR(pr_auc({0.1f, 0.4f, 0.4f, 0.8f}, {0, 0, 1, 1}), 5.0 / 6.0, kTolerance);
  // 0.9 (-) R 0; 0.8 (+) R 1/2 P 1/2; 0.7 (+) R 1 P 2/3; AP = 1/4 + 1/3.
  EXPECT_NEAR(pr_auc({0.9f, 0.8f, 0.7f, 0.6f}, {0, 1, 1, 0}), 0.25 + 1.0 / 3.0, kTolerance);
  // All tied: one step to recall 1 at precision 1/4.
  EXPECT_NEAR(pr_auc({0.5f, 0.5f, 0.5f, 0.5f}, {1, 0, 0, 0}), 0.25, kTolerance);
  EXPECT_NEAR(pr_auc({0.2f, 0.9f}, {0, 1}), 1.0, kTolerance);
  EXPECT_THROW(pr_auc({0.2f, 0.9f}, {0, 0}), std::invalid_argument);
}

TEST(MetricsConfusion, DerivedStatisticsByHand) {
  ConfusionCounts c;
  for (int i = 0; i < 3; ++i) c.add(true, true);   // tp 3
  c.add(false, true);                               // fp 1
  for (int i = 0; i < 4; ++i) c.add(false, false);  // tn 4
  for (int i = 0; i < 2; ++i) c.add(true, false);   // fn 2
  EXPECT_EQ(c.tp, 3);
  EXPECT_EQ(c.fp, 1);
  EXPECT_EQ(c.tn, 4);
  EXPECT_EQ(c.fn, 2);
  EXPECT_NEAR(c.accuracy(), 0.7, kTolerance);
  EXPECT_NEAR(c.sensitivity(), 0.6, kTolerance);
  EXPECT_NEAR(c.specificity(), 0.8, kTolerance);
  EXPECT_NEAR(c.precision(), 0.75, kTolerance);
  EXPECT_NEAR(c.f1(), 6.0 / 9.0, kTolerance);
  EXPECT_NEAR(c.negative_f1(), 8.0 / 11.0, kTolerance);
  EXPECT_NEAR(c.iou(), 0.5, kTolerance);
  EXPECT_NEAR(c.balanced_accuracy(), 0.7, kTolerance);
  EXPECT_EQ(ConfusionCounts{}.precision(), 0.0);  // zero denominator reads as 0
}

TEST(MetricsVessel, OnlyFovPixelsCount) {
  // Pixel 4 is outside the FOV: it would be a false positive ranked above every vessel.
  const std::vector<float> prob = {0.9f, 0.7f, 0.2f, 0.6f, 1.0f};
  const std::vector<uint8_t> truth = {1, 1, 0, 0, 0};
  const std::vector<uint8_t> fov = {1, 1, 1, 1, 0};
  VesselEvaluation evaluation;
  evaluation.add_image("a", prob, truth, fov);
  const auto result = evaluation.result();
  const VesselScores& s = result.images[0];
  EXPECT_NEAR(s.roc_auc, 1.0, kTolerance);
  EXPECT_NEAR(s.pr_auc, 1.0, kTolerance);
  // At 0.5: tp 2, fp 1 (0.6), tn 1, fn 0.
  EXPECT_NEAR(s.accuracy, 0.75, kTolerance);
  EXPECT_NEAR(s.sensitivity, 1.0, kTolerance);
  EXPECT_NEAR(s.specificity, 0.5, kTolerance);
  EXPECT_NEAR(s.precision, 2.0 / 3.0, kTolerance);
  EXPECT_NEAR(s.f1, 0.8, kTolerance);
  EXPECT_NEAR(s.iou, 2.0 / 3.0, kTolerance);
  EXPECT_EQ(result.std.roc_auc, 0.0);  // one image: std 0

  // With every pixel in the FOV the outside pixel would count and change the scores.
  const std::vector<uint8_t> everything = {1, 1, 1, 1, 1};
  VesselEvaluation whole;
  whole.add_image("a", prob, truth, everything);
  EXPECT_LT(whole.result().images[0].roc_auc, 1.0);
}

TEST(MetricsVessel, ImageWithoutVesselIsNamedInTheError) {
  VesselEvaluation evaluation;
  try {
    evaluation.add_image("01_test", std::vector<float>{0.2f, 0.3f}, std::vector<uint8_t>{0, 0},
                         std::vector<uint8_t>{1, 1});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("01_test"), std::string::npos) << e.what();
  }
  EXPECT_THROW(evaluation.add_image("b", std::vector<float>{0.2f, 0.3f}, std::vector<uint8_t>{0, 1},
                                    std::vector<uint8_t>{1}),
               std::invalid_argument);
  EXPECT_THROW(evaluation.result(), std::invalid_argument);
}

TEST(MetricsVessel, PooledDiffersFromMeanOverImages) {
  // Image 1 ranks perfectly (AUC 1), image 2 inverted (AUC 0): mean 0.5, sample std sqrt(0.5).
  // Pooled: positives {0.9, 0.2} against negatives {0.1, 0.8}: 2 + 1 of 4 pairs = 0.75.
  VesselEvaluation evaluation;
  const std::vector<uint8_t> fov = {1, 1};
  evaluation.add_image("one", std::vector<float>{0.1f, 0.9f}, std::vector<uint8_t>{0, 1}, fov);
  evaluation.add_image("two", std::vector<float>{0.8f, 0.2f}, std::vector<uint8_t>{0, 1}, fov);
  const auto result = evaluation.result();
  EXPECT_NEAR(result.mean.roc_auc, 0.5, kTolerance);
  EXPECT_NEAR(result.std.roc_auc, std::sqrt(0.5), kTolerance);
  EXPECT_NEAR(result.pooled.roc_auc, 0.75, kTolerance);
}

// The 3x3 example, pixel by pixel (A, V, S = artery, vein, vessel probabilities):
//   0 artery      .8 .2 .9  called artery, detected      -> TP
//   1 artery      .3 .6 .4  called vein,   not detected  -> FN
//   2 vein        .1 .7 .8  called vein,   detected      -> TN
//   3 vein        .6 .4 .7  called artery, detected      -> FP
//   4 crossing    left out
//   5 background  left out
//   6 artery      .5 .5 .3  tie -> artery, not detected  -> TP
//   7 vein        .4 .3 .2  called artery, not detected  -> FP
//   8 uncertain   left out
struct ThreeByThree {
  std::vector<float> artery = {.8f, .3f, .1f, .6f, .9f, .9f, .5f, .4f, .9f};
  std::vector<float> vein = {.2f, .6f, .7f, .4f, .1f, .1f, .5f, .3f, .1f};
  std::vector<float> vessel = {.9f, .4f, .8f, .7f, .9f, .9f, .3f, .2f, .9f};
  std::vector<uint8_t> classes = {1, 1, 2, 2, 3, 0, 1, 2, 4};
  std::vector<uint8_t> fov = std::vector<uint8_t>(9, 1);
};

TEST(MetricsArteryVein, AllAndDetectedByHand) {
  ThreeByThree x;
  const AVCounts counts = av_counts(x.artery, x.vein, x.vessel, x.classes, x.fov);
  EXPECT_EQ(counts.all.tp, 2);
  EXPECT_EQ(counts.all.fn, 1);
  EXPECT_EQ(counts.all.tn, 1);
  EXPECT_EQ(counts.all.fp, 2);
  const AVScores s = counts.scores();
  EXPECT_NEAR(s.all.accuracy, 0.5, kTolerance);
  EXPECT_NEAR(s.all.sensitivity, 2.0 / 3.0, kTolerance);
  EXPECT_NEAR(s.all.specificity, 1.0 / 3.0, kTolerance);
  EXPECT_NEAR(s.all.balanced_accuracy, 0.5, kTolerance);
  EXPECT_NEAR(s.all.f1_artery, 4.0 / 7.0, kTolerance);
  EXPECT_NEAR(s.all.f1_vein, 2.0 / 5.0, kTolerance);
  // Detected (S >= 0.5): pixels 0 (TP), 2 (TN), 3 (FP).
  EXPECT_NEAR(s.detected.accuracy, 2.0 / 3.0, kTolerance);
  EXPECT_NEAR(s.detected.sensitivity, 1.0, kTolerance);
  EXPECT_NEAR(s.detected.specificity, 0.5, kTolerance);
  EXPECT_NEAR(s.detected.balanced_accuracy, 0.75, kTolerance);
  EXPECT_NEAR(s.detected.f1_artery, 2.0 / 3.0, kTolerance);
  EXPECT_NEAR(s.detected.f1_vein, 2.0 / 3.0, kTolerance);
  EXPECT_NEAR(s.detected_fraction, 0.5, kTolerance);
}

TEST(MetricsArteryVein, FovAndClassValuesAreChecked) {
  ThreeByThree x;
  x.fov[0] = 0;  // the only detected true positive leaves
  const AVCounts counts = av_counts(x.artery, x.vein, x.vessel, x.classes, x.fov);
  EXPECT_EQ(counts.all.tp, 1);
  EXPECT_EQ(counts.detected.tp, 0);
  EXPECT_EQ(counts.all.total(), 5);

  x.classes[5] = 7;
  EXPECT_THROW(av_counts(x.artery, x.vein, x.vessel, x.classes, x.fov), std::invalid_argument);
  x.classes[5] = 0;
  x.vein.pop_back();
  EXPECT_THROW(av_counts(x.artery, x.vein, x.vessel, x.classes, x.fov), std::invalid_argument);
}

TEST(MetricsArteryVein, PooledDiffersFromMeanOverImages) {
  // Image one: 4 GT pixels all right (accuracy 1). Image two: 2 GT pixels, one right (0.5).
  // Mean 0.75, sample std sqrt(2 * 0.25^2 / 1), pooled 5/6.
  AVEvaluation evaluation;
  evaluation.add_image("one", std::vector<float>{.9f, .9f, .1f, .1f}, std::vector<float>{.1f, .1f, .9f, .9f},
                       std::vector<float>{.9f, .9f, .9f, .9f}, std::vector<uint8_t>{1, 1, 2, 2},
                       std::vector<uint8_t>{1, 1, 1, 1});
  evaluation.add_image("two", std::vector<float>{.9f, .9f}, std::vector<float>{.1f, .1f},
                       std::vector<float>{.9f, .2f}, std::vector<uint8_t>{1, 2}, std::vector<uint8_t>{1, 1});
  const auto result = evaluation.result();
  EXPECT_NEAR(result.mean.all.accuracy, 0.75, kTolerance);
  EXPECT_NEAR(result.std.all.accuracy, std::sqrt(0.125), kTolerance);
  EXPECT_NEAR(result.pooled.all.accuracy, 5.0 / 6.0, kTolerance);
  // Detected fraction: image one 1, image two 1/2; pooled 5/6, mean 3/4.
  EXPECT_NEAR(result.pooled.detected_fraction, 5.0 / 6.0, kTolerance);
  EXPECT_NEAR(result.mean.detected_fraction, 0.75, kTolerance);

  EXPECT_THROW(evaluation.add_image("empty", std::vector<float>{.5f}, std::vector<float>{.5f},
                                    std::vector<float>{.5f}, std::vector<uint8_t>{3}, std::vector<uint8_t>{1}),
               std::invalid_argument);
}

TEST(MetricsReport, TextAndJsonStateTheProtocolAndTheNumbers) {
  VesselEvaluation vessels;
  vessels.add_image("one", std::vector<float>{0.1f, 0.9f}, std::vector<uint8_t>{0, 1}, std::vector<uint8_t>{1, 1});
  AVEvaluation av;
  ThreeByThree x;
  av.add_image("one", x.artery, x.vein, x.vessel, x.classes, x.fov);
  EvaluationReport report{vessels.result(), av.result(), {"FOV masks: from the dataset"}};

  std::ostringstream text;
  print_report(text, report);
  const std::string t = text.str();
  for (const char* expected : {"field-of-view", "P_artery >= P_vein", "threshold 0.5", "crossings",
                               "FOV masks: from the dataset", "pooled", "all.balanced_accuracy", "one"})
    EXPECT_NE(t.find(expected), std::string::npos) << "missing '" << expected << "' in\n" << t;

  const nlohmann::json j = report_to_json(report);
  EXPECT_EQ(j["protocol"].size(), protocol_lines().size() + 1);
  EXPECT_NEAR(j["vessel"]["pooled"]["roc_auc"].get<double>(), 1.0, kTolerance);
  EXPECT_NEAR(j["artery_vein"]["pooled"]["all"]["accuracy"].get<double>(), 0.5, kTolerance);
  EXPECT_NEAR(j["artery_vein"]["mean"]["detected_fraction"].get<double>(), 0.5, kTolerance);
  EXPECT_EQ(j["artery_vein"]["images"][0]["name"], "one");
}

// One pixel of each kind, in a row of 7: artery right, artery wrong, vein right, vein wrong,
// a false vessel on background, a crossing (left out), and an artery outside the FOV.
TEST(ErrorMap, ColoursEachKindOfPixel) {
  const std::vector<float> art{0.9f, 0.2f, 0.1f, 0.8f, 0.5f, 0.9f, 0.9f};
  const std::vector<float> vei{0.1f, 0.7f, 0.6f, 0.3f, 0.5f, 0.1f, 0.1f};
  const std::vector<float> ves{0.9f, 0.9f, 0.9f, 0.2f, 0.7f, 0.9f, 0.9f};
  const auto A = uint8_t(LabelClass::artery), V = uint8_t(LabelClass::vein), B = uint8_t(LabelClass::background),
             X = uint8_t(LabelClass::crossing);
  const std::vector<uint8_t> classes{A, A, V, V, B, X, A};
  const std::vector<uint8_t> fov{1, 1, 1, 1, 1, 1, 0};
  const Image map = artery_vein_error_map(art, vei, ves, classes, fov, 7, 1);
  ASSERT_EQ(map.channels, 3);
  const std::vector<std::vector<float>> expected{{0, 1, 0}, {1, 0, 0}, {0, 1, 0}, {1, 0, 0},
                                                 {0.45f, 0.45f, 0.45f}, {0, 0, 0}, {0, 0, 0}};
  for (int x = 0; x < 7; ++x)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(map.at(0, x, c), expected[x][c]) << "pixel " << x << " channel " << c;
  EXPECT_THROW(artery_vein_error_map(art, vei, ves, classes, fov, 6, 1), std::invalid_argument);
}

}  // namespace
}  // namespace seqnet
