// test_recipe_options.cpp: the training options of the artery/vein recipes (docs/MODEL.md):
// cross-validation folds (train/split.h), the targets of crossings and uncertain pixels
// (train/av_targets.h) and their loss weight, the weight average (train/weight_average.h), the
// per-photograph input normalisation (preprocess/input_normalisation.h), and a cross-validated
// run with a weight average end to end (split.json, the checkpoint, `seqnet export`).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "model/config.h"
#include "model/loss.h"
#include "model/summary.h"
#include "model/weights.h"
#include "preprocess/input_normalisation.h"
#include "synth/fundus.h"
#include "test_support.h"
#include "train/batch_loader.h"
#include "train/split.h"
#include "train/trainer.h"
#include "train/weight_average.h"

namespace seqnet {
namespace {

// ---- Folds ---------------------------------------------------------------------------------------

// 20 images of one dataset and 11 of another, interleaved as sorted paths would be.
std::vector<int> drive_and_les() {
  std::vector<int> dataset(31);
  for (size_t i = 0; i < dataset.size(); ++i) dataset[i] = i % 3 == 2 && i < 33 ? 1 : 0;
  return dataset;
}

TEST(CrossValidationSplit, EveryImageValidatesInExactlyOneFoldAndFoldsAreStratified) {
  const std::vector<int> dataset = drive_and_les();
  const int per_dataset[2] = {int(std::count(dataset.begin(), dataset.end(), 0)), int(std::count(dataset.begin(), dataset.end(), 1))};
  ASSERT_EQ(per_dataset[0] + per_dataset[1], 31);
  std::vector<int> times_validated(dataset.size(), 0);
  for (int fold = 1; fold <= 4; ++fold) {
    const std::vector<bool> v = validation_images(dataset, SplitSettings{99, 0.1, 4, fold});
    int count[2] = {0, 0};
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i]) ++times_validated[i], ++count[dataset[i]];
    for (int d = 0; d < 2; ++d) {
      // Each fold holds its share of each dataset: floor or ceil of n_d / 4.
      EXPECT_GE(count[d], per_dataset[d] / 4) << "fold " << fold << " dataset " << d;
      EXPECT_LE(count[d], (per_dataset[d] + 3) / 4) << "fold " << fold << " dataset " << d;
    }
    const int total = count[0] + count[1];
    EXPECT_TRUE(total == 7 || total == 8) << "fold " << fold << " has " << total;
  }
  for (size_t i = 0; i < dataset.size(); ++i) EXPECT_EQ(times_validated[i], 1) << "image " << i;
}

TEST(CrossValidationSplit, DependsOnTheSeedAndRefusesTooFewImages) {
  const std::vector<int> dataset = drive_and_les();
  EXPECT_NE(validation_images(dataset, SplitSettings{1, 0.1, 4, 1}), validation_images(dataset, SplitSettings{2, 0.1, 4, 1}));
  EXPECT_EQ(validation_images(dataset, SplitSettings{1, 0.1, 4, 1}), validation_images(dataset, SplitSettings{1, 0.1, 4, 1}));
  EXPECT_THROW(validation_images({0, 0, 1}, SplitSettings{1, 0.1, 4, 1}), std::runtime_error);
}

// Without folds the split is the one runs were made with before folds existed (the shipped
// model's validation photographs): a Fisher-Yates shuffle of all images, the first ones validate.
TEST(CrossValidationSplit, WithoutFoldsTheFractionSplitIsUnchanged) {
  const std::vector<int> dataset = drive_and_les();
  std::vector<size_t> order(dataset.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(1234);
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
  std::vector<bool> expected(dataset.size(), false);
  for (size_t k = 0; k < 3; ++k) expected[order[k]] = true;  // round(0.1 * 31) = 3
  EXPECT_EQ(validation_images(dataset, SplitSettings{1234, 0.1, 0, 0}), expected);
}

// ---- Targets ---------------------------------------------------------------------------------------

using T = ArteryVeinTarget;

TEST(ArteryVeinTargets, CrossingsAreBothAndUncertainPixelsAreLeftOutOnlyWhenAsked) {
  auto same = [](T a, T b) { return a.artery == b.artery && a.vein == b.vein && a.weight == b.weight; };
  for (ArteryVeinTargets mode : {ArteryVeinTargets::original, ArteryVeinTargets::both}) {
    EXPECT_TRUE(same(artery_vein_target(LabelClass::background, mode), T{0, 0, 0}));
    EXPECT_TRUE(same(artery_vein_target(LabelClass::artery, mode), T{1, 0, 1}));
    EXPECT_TRUE(same(artery_vein_target(LabelClass::vein, mode), T{0, 1, 1}));
  }
  EXPECT_TRUE(same(artery_vein_target(LabelClass::crossing, ArteryVeinTargets::original), T{1, 0, 1}));
  EXPECT_TRUE(same(artery_vein_target(LabelClass::uncertain, ArteryVeinTargets::original), T{1, 0, 1}));
  EXPECT_TRUE(same(artery_vein_target(LabelClass::crossing, ArteryVeinTargets::both), T{1, 1, 1}));
  EXPECT_TRUE(same(artery_vein_target(LabelClass::uncertain, ArteryVeinTargets::both), T{0, 0, 0}));
  EXPECT_EQ(artery_vein_targets_from(to_string(ArteryVeinTargets::both)), ArteryVeinTargets::both);
  EXPECT_THROW(artery_vein_targets_from("crossing"), std::invalid_argument);
}

// A batch of an image whose every pixel is a crossing, an uncertain pixel or a vein, in thirds.
TEST(ArteryVeinTargets, TheBatchCarriesThemFromTheColourClasses) {
  auto images = std::make_shared<std::vector<LabeledImage>>(1);
  LabeledImage& item = images->front();
  item.width = item.height = 12;
  item.rgb = Image(12, 12, 3);
  const size_t n = 144;
  for (auto* v : {&item.vessel, &item.artery, &item.vein, &item.fov, &item.label_class}) v->assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const LabelClass c = i % 3 == 0 ? LabelClass::crossing : i % 3 == 1 ? LabelClass::uncertain : LabelClass::vein;
    item.label_class[i] = uint8_t(c);
    item.vessel[i] = item.fov[i] = 1;
    item.vein[i] = c == LabelClass::vein;
    item.artery[i] = !item.vein[i];  // the original targets, as the dataset decodes them
  }
  BatchLoaderSettings s;
  s.batch_size = s.crops_per_image = 1;
  s.crop_size = 12;
  s.augment.enabled = false;
  s.av_targets = ArteryVeinTargets::both;
  const Batch both = make_batch(*images, s, 0);
  s.av_targets = ArteryVeinTargets::original;
  const Batch original = make_batch(*images, s, 0);
  for (size_t i = 0; i < n; ++i) {
    const LabelClass c = LabelClass(item.label_class[i]);
    const T expected = artery_vein_target(c, ArteryVeinTargets::both);
    EXPECT_EQ(both.artery.f32()[i], expected.artery) << i;
    EXPECT_EQ(both.vein.f32()[i], expected.vein) << i;
    EXPECT_EQ(both.av_weight.f32()[i], expected.weight) << i;
    EXPECT_EQ(original.artery.f32()[i], item.artery[i]) << i;
    EXPECT_EQ(original.av_weight.f32()[i], 1.0f) << i;  // every vessel pixel counts
  }
}

// With a weight of 0 on a vessel pixel, the class heads get no gradient there and the loss does
// not depend on their answer; with the weight 1 everywhere on the vessels it equals the unweighted.
TEST(ArteryVeinTargets, AZeroWeightLeavesThePixelOutOfTheLoss) {
  const Shape one{1, 1, 4, 5}, two{1, 2, 4, 5};
  SeqNetOutputs logits;
  logits.seg = {test::random_tensor(one, 1, DType::f64, 2.0)};
  logits.cls = {test::random_tensor(two, 2, DType::f64, 2.0)};
  SeqNetTargets t;
  for (Tensor* x : {&t.vessel, &t.artery, &t.vein}) *x = Tensor::zeros(one, Device::cpu, DType::f64);
  for (int64_t i = 0; i < 20; ++i) t.vessel.f64()[i] = 1, t.artery.f64()[i] = i % 2;
  SeqNetLoss loss(ArteryVeinLoss::vessel_pixels);
  loss.forward_backward(logits, t);
  const double unweighted = loss.value();
  t.av_weight = t.vessel.to(Device::cpu);
  loss.forward_backward(logits, t);
  EXPECT_EQ(loss.value(), unweighted);

  t.av_weight.f64()[7] = 0;  // pixel 7 left out
  loss.forward_backward(logits, t);
  const double without = loss.value();
  EXPECT_EQ(loss.gradients().cls[0].f64()[7], 0.0);
  EXPECT_EQ(loss.gradients().cls[0].f64()[20 + 7], 0.0);
  EXPECT_NE(loss.gradients().cls[0].f64()[6], 0.0);
  logits.cls[0].f64()[7] += 4.0;
  loss.forward_backward(logits, t);
  EXPECT_NEAR(loss.value(), without, 1e-12);
}

// Rising head weights: each head's term is its equal-weight term times 2(k+1)/(K+2), in value and
// in gradient, for the seg heads and both artery/vein regions.
TEST(HeadWeights, RisingScalesEachHeadsTermAndGradient) {
  EXPECT_DOUBLE_EQ(head_weight(HeadWeights::rising, 0, 2), 2.0 / 3);
  EXPECT_DOUBLE_EQ(head_weight(HeadWeights::rising, 1, 2), 4.0 / 3);
  EXPECT_DOUBLE_EQ(head_weight(HeadWeights::rising, 3, 4), 1.6);
  EXPECT_DOUBLE_EQ(head_weight(HeadWeights::equal, 3, 4), 1.0);
  const Shape one{1, 1, 4, 5}, two{1, 2, 4, 5};
  for (ArteryVeinLoss region : {ArteryVeinLoss::all_pixels, ArteryVeinLoss::vessel_pixels}) {
    SeqNetOutputs logits;
    logits.seg = {test::random_tensor(one, 1, DType::f64, 2.0), test::random_tensor(one, 2, DType::f64, 2.0)};
    logits.cls = {test::random_tensor(two, 3, DType::f64, 2.0), test::random_tensor(two, 4, DType::f64, 2.0),
                  test::random_tensor(two, 5, DType::f64, 2.0)};
    SeqNetTargets t;
    for (Tensor* x : {&t.vessel, &t.artery, &t.vein}) *x = Tensor::zeros(one, Device::cpu, DType::f64);
    for (int64_t i = 0; i < 20; ++i) t.vessel.f64()[i] = i % 3 != 0, t.artery.f64()[i] = i % 2, t.vein.f64()[i] = 1 - i % 2;
    // Each head's term alone: the loss of the outputs with every other head's logits made irrelevant is
    // not separable, so compare gradients (each head's gradient is its own term's).
    SeqNetLoss equal(region, HeadWeights::equal), rising(region, HeadWeights::rising);
    equal.forward_backward(logits, t);
    rising.forward_backward(logits, t);
    for (int k = 0; k < 2; ++k)
      for (int64_t i = 0; i < 20; ++i)
        ASSERT_NEAR(rising.gradients().seg[k].f64()[i], head_weight(HeadWeights::rising, k, 2) * equal.gradients().seg[k].f64()[i], 1e-15);
    for (int k = 0; k < 3; ++k)
      for (int64_t i = 0; i < 40; ++i)
        ASSERT_NEAR(rising.gradients().cls[k].f64()[i], head_weight(HeadWeights::rising, k, 3) * equal.gradients().cls[k].f64()[i], 1e-15);
    EXPECT_NE(rising.value(), equal.value());
  }
  EXPECT_THROW(head_weights_from("linear"), std::invalid_argument);
}

// ---- The weight average ------------------------------------------------------------------------

TEST(WeightAverage, FollowsTheExponentialAverageAndSwapsBack) {
  SeqNet model(test::tiny_model_config(), Device::cpu, DType::f32, 5);
  ParameterStore& params = model.params();
  const std::vector<float> w0 = params.values().to_floats(), r0 = params.state().to_floats();
  WeightAverage average(0.75, params);
  // Two steps of made-up weights: w1 = w0 + 1, w2 = w0 + 3; the average is
  // 0.75 * (0.75 w0 + 0.25 w1) + 0.25 w2 = w0 + 0.1875 + 0.75.
  int64_t step = 0;
  for (float shift : {1.0f, 3.0f}) {
    std::vector<float> w = w0, r = r0;
    for (float& v : w) v += shift;
    for (float& v : r) v += shift;
    params.values().copy_from(Tensor::from_vector(params.values().shape(), w));
    params.state().copy_from(Tensor::from_vector(params.state().shape(), r));
    average.update(step++);
  }
  const std::vector<float> a = average.weights().to_floats(), s = average.statistics().to_floats();
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], w0[i] + 0.9375f, 1e-5f) << i;
  for (size_t i = 0; i < s.size(); ++i) ASSERT_NEAR(s[i], r0[i] + 0.9375f, 1e-5f) << i;
  const std::vector<float> trained = params.values().to_floats();
  {
    const WeightAverage::Swap swap(average);
    EXPECT_EQ(params.values().to_floats(), a);
    EXPECT_EQ(params.state().to_floats(), s);
  }
  EXPECT_EQ(params.values().to_floats(), trained);
  EXPECT_THROW(WeightAverage(1.0, params), std::invalid_argument);
}

// With warm-up the share kept rises as (1 + t) / (10 + t) up to the decay: the first update keeps
// a tenth of the start, so after it the average is 0.1 w0 + 0.9 w1.
TEST(WeightAverage, WarmUpKeepsLittleOfTheStartAndRisesToTheDecay) {
  SeqNet model(test::tiny_model_config(), Device::cpu, DType::f32, 6);
  ParameterStore& params = model.params();
  const std::vector<float> w0 = params.values().to_floats();
  WeightAverage warm(0.999, params, true), plain(0.999, params);
  EXPECT_FLOAT_EQ(warm.keep_at(0), 0.1f);
  EXPECT_NEAR(warm.keep_at(890), 0.99, 1e-6);
  EXPECT_FLOAT_EQ(warm.keep_at(8990), 0.999f);
  EXPECT_FLOAT_EQ(warm.keep_at(100000), 0.999f);
  EXPECT_FLOAT_EQ(plain.keep_at(0), 0.999f);
  std::vector<float> w1 = w0;
  for (float& v : w1) v += 2.0f;
  params.values().copy_from(Tensor::from_vector(params.values().shape(), w1));
  warm.update(0);
  plain.update(0);
  const std::vector<float> a = warm.weights().to_floats(), p = plain.weights().to_floats();
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], w0[i] + 1.8f, 1e-5f) << i;
    ASSERT_NEAR(p[i], w0[i] + 0.002f, 1e-5f) << i;
  }
}

// ---- Input normalisation ---------------------------------------------------------------------------

// A disc-shaped field of view lit unevenly (a left-to-right ramp), with a dark vertical vessel.
Image uneven_photograph(int size, std::vector<uint8_t>& fov, double gain, double offset) {
  Image rgb(size, size, 3);
  fov.assign(size_t(size) * size, 0);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double dx = x - size / 2.0, dy = y - size / 2.0;
      const bool inside = dx * dx + dy * dy < 0.2 * size * size;
      fov[size_t(y) * size + x] = inside;
      const double light = 0.2 + 0.5 * x / size, vessel = std::abs(x - size / 2) <= 1 ? -0.08 : 0.0;
      for (int c = 0; c < 3; ++c) rgb.at(y, x, c) = inside ? float(gain * (light * (1 - 0.2 * c) + vessel) + offset) : 0.0f;
    }
  return rgb;
}

TEST(InputNormalisation, RemovesTheIlluminationKeepsTheVesselAndIgnoresGainAndOffset) {
  const int size = 96;
  std::vector<uint8_t> fov;
  Image a = uneven_photograph(size, fov, 1.0, 0.0);
  normalise_photograph(a, fov);
  // Away from the vessel and the field's edge the background is 0.5 on both sides of the ramp;
  // the vessel is darker than it; outside the field everything is 0.
  const int y = size / 2;
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(a.at(y, size / 4, c), 0.5f, 0.02f) << "channel " << c;
    EXPECT_NEAR(a.at(y, 3 * size / 4 - 4, c), 0.5f, 0.02f) << "channel " << c;
    EXPECT_LT(a.at(y, size / 2, c), 0.35f) << "channel " << c;
    EXPECT_EQ(a.at(0, 0, c), 0.0f);
  }
  // A darker, offset exposure of the same eye gives the same input (per channel affine invariance).
  std::vector<uint8_t> fov_b;
  Image b = uneven_photograph(size, fov_b, 0.6, 0.05);
  normalise_photograph(b, fov_b);
  for (size_t i = 0; i < a.pixels.size(); ++i) ASSERT_NEAR(a.pixels[i], b.pixels[i], 1e-4f) << i;
}

// normalise_photograph as first written: each blurred pixel summed on its own, taps in order.
// The fast blur (vectorised over x, rows split over threads) must give these values exactly.
void normalise_pixel_by_pixel(Image& rgb, const std::vector<uint8_t>& fov) {
  const int w = rgb.width, h = rgb.height;
  const size_t n = size_t(w) * h;
  const double sigma = std::max(w, h) / 57.6;
  const int radius = std::max(1, int(std::ceil(3 * sigma)));
  std::vector<float> taps(2 * radius + 1);
  double total = 0;
  for (int k = -radius; k <= radius; ++k) total += taps[k + radius] = float(std::exp(-0.5 * k * k / (sigma * sigma)));
  for (float& t : taps) t = float(t / total);
  const auto blur = [&](const std::vector<float>& plane) {
    std::vector<float> rows(n), out(n);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        float sum = 0;
        for (int k = std::max(-radius, -x); k <= std::min(radius, w - 1 - x); ++k) sum += taps[k + radius] * plane[size_t(y) * w + x + k];
        rows[size_t(y) * w + x] = sum;
      }
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        float sum = 0;
        for (int k = std::max(-radius, -y); k <= std::min(radius, h - 1 - y); ++k) sum += taps[k + radius] * rows[size_t(y + k) * w + x];
        out[size_t(y) * w + x] = sum;
      }
    return out;
  };
  std::vector<float> mask(n), channel(n);
  size_t inside = 0;
  for (size_t i = 0; i < n; ++i) inside += mask[i] = fov[i] ? 1.0f : 0.0f;
  const std::vector<float> mask_blur = blur(mask);
  for (int c = 0; c < 3; ++c) {
    for (size_t i = 0; i < n; ++i) channel[i] = rgb.pixels[i * 3 + c] * mask[i];
    const std::vector<float> background = blur(channel);
    double squares = 0;
    for (size_t i = 0; i < n; ++i) {
      channel[i] = fov[i] ? rgb.pixels[i * 3 + c] - background[i] / std::max(mask_blur[i], 1e-6f) : 0.0f;
      squares += double(channel[i]) * channel[i];
    }
    const double spread = inside ? std::sqrt(squares / double(inside)) : 0.0;
    const float scale = spread > 1e-6 ? float(1.0 / (8.0 * spread)) : 0.0f;
    for (size_t i = 0; i < n; ++i) rgb.pixels[i * 3 + c] = fov[i] ? std::clamp(0.5f + channel[i] * scale, 0.0f, 1.0f) : 0.0f;
  }
}

TEST(InputNormalisation, BlurIsThePixelByPixelSum) {
  // 300x280: threads and a 16-pixel radius; 40x30: radius 3; 7x5: narrower than the blur (no pixel
  // has every tap inside the row).
  for (const auto& [w, h] : {std::pair{300, 280}, {40, 30}, {7, 5}}) {
    Image photo(w, h, 3);
    std::mt19937 random(w);
    std::uniform_real_distribution<float> value(0.0f, 1.0f);
    for (float& p : photo.pixels) p = value(random);
    std::vector<uint8_t> fov(size_t(w) * h);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) fov[size_t(y) * w + x] = std::hypot(x - w / 2.0, y - h / 2.0) < 0.45 * std::min(w, h);
    Image fast = photo, reference = photo;
    normalise_photograph(fast, fov);
    normalise_pixel_by_pixel(reference, fov);
    for (size_t i = 0; i < fast.pixels.size(); ++i)
      ASSERT_EQ(fast.pixels[i], reference.pixels[i]) << w << "x" << h << ", value " << i;
  }
}

TEST(InputNormalisation, IsPartOfTheModelConfigurationOnlyWhenOn) {
  ModelConfig c;
  EXPECT_EQ(c.to_json().find("input_norm"), std::string::npos);  // the spec's form, as the peer writes it
  c.input_norm = InputNorm::fov;
  const ModelConfig back = ModelConfig::from_json(c.to_json());
  EXPECT_EQ(back.input_norm, InputNorm::fov);
  EXPECT_THROW(ModelConfig::from_json(R"({"input_norm":"clahe"})"), std::invalid_argument);
}

// ---- A wider classification branch -----------------------------------------------------------------

TEST(ClassificationWidth, WidensOnlyTheClassificationBranchAndTheSummaryAgrees) {
  ModelConfig c = test::tiny_model_config();
  c.cls_width = 6;
  EXPECT_EQ(ModelConfig::from_json(c.to_json()).cls_width, 6);
  EXPECT_EQ(ModelConfig().to_json().find("cls_width"), std::string::npos);  // the spec's form when unset
  SeqNet model(c, Device::cpu, DType::f32, 1);
  std::map<std::string, Shape> shapes;
  for (const auto& e : model.params().entries()) shapes[e.name] = e.shape;
  EXPECT_EQ(shapes.at("seg.unet.enc.0.conv1.weight"), Shape({4, 3, 3, 3}));
  EXPECT_EQ(shapes.at("cls.unet.enc.0.conv1.weight"), Shape({6, 3, 3, 3}));
  EXPECT_EQ(shapes.at("cls.heads.1.weight"), Shape({2, 6, 1, 1}));
  EXPECT_EQ(summarize_model(c, 1, 16, 16).parameters, model.params().parameter_count());
  const Tensor x = test::random_tensor({1, 3, 16, 16}, 4);
  const SeqNetOutputs& out = model.forward(x, Mode{false, 0});
  EXPECT_EQ(out.cls.back().shape(), Shape({1, 2, 16, 16}));
}

// ---- End to end ------------------------------------------------------------------------------------

// A cross-validated fold with a weight average and the new targets trains, writes which images
// validated, keeps the average in its checkpoint, resumes, and exports the average.
TEST(CrossValidatedRun, WritesItsSplitKeepsTheAverageAndExportsIt) {
  test::TempDir dir;
  write_synthetic_set(dir.str("a"), 4, 3, 96, 96);
  write_synthetic_set(dir.str("b"), 3, 4, 96, 96);
  TrainSettings s;
  s.data_dirs = {dir.str("a"), dir.str("b")};
  s.run_dir = dir.str("run");
  s.model = test::tiny_model_config();
  s.model.input_norm = InputNorm::fov;
  s.size = 64;
  s.crop = 32;
  s.batch = 4;
  s.crops_per_image = 2;
  s.epochs = 2;
  s.steps_per_epoch = 2;
  s.seed = 3;
  s.folds = 3;
  s.fold = 2;
  s.ema = 0.9;
  s.ema_warmup = true;
  s.select = Selection::av_accuracy;
  s.av_loss = ArteryVeinLoss::vessel_pixels;
  s.av_targets = ArteryVeinTargets::both;
  EXPECT_EQ(train(s, nullptr).steps, 4);

  const nlohmann::json split = nlohmann::json::parse(test::read_text(dir.str("run/split.json")));
  EXPECT_EQ(split["validation"].size() + split["training"].size(), 7u);
  EXPECT_GE(split["validation"].size(), 2u);  // a share of each dataset: at least one of each
  const TensorFile checkpoint = read_safetensors(dir.str("run/last.safetensors"));
  ASSERT_TRUE(checkpoint.tensors.count(kAverageWeightsTensor));
  ASSERT_TRUE(checkpoint.tensors.count(kAverageStatisticsTensor));
  const nlohmann::json settings = nlohmann::json::parse(checkpoint.metadata.at("settings"));
  EXPECT_EQ(settings["folds"], 3);
  EXPECT_EQ(settings["select"], "av");
  EXPECT_EQ(settings["av_targets"], "both");
  EXPECT_EQ(settings["ema_warmup"], true);
  EXPECT_EQ(nlohmann::json::parse(checkpoint.metadata.at("config"))["input_norm"], "fov");
  nlohmann::json older = settings;
  older.erase("ema_warmup");  // a run from before the option: no warm-up
  EXPECT_FALSE(TrainSettings::from_json(older).ema_warmup);

  // Resuming restores the average: two more epochs run from the stored state.
  TrainSettings more = stored_run_settings(dir.str("run"));
  EXPECT_TRUE(more.ema_warmup);
  more.epochs = 3;
  more.resume = true;
  EXPECT_EQ(train(more, nullptr).steps, 6);

  // export writes the average by default and the last step's weights when asked.
  const std::string out = dir.str("out.txt");
  ASSERT_EQ(test::run_seqnet("export " + dir.str("run/last.safetensors") + " -o " + dir.str("ema.safetensors"), out, out), 0)
      << test::read_text(out);
  ASSERT_EQ(test::run_seqnet("export --trained-weights " + dir.str("run/last.safetensors") + " -o " + dir.str("raw.safetensors"), out, out), 0)
      << test::read_text(out);
  const TensorFile last = read_safetensors(dir.str("run/last.safetensors"));
  const std::unique_ptr<SeqNet> ema = load_model(dir.str("ema.safetensors"), Device::cpu);
  const std::unique_ptr<SeqNet> raw = load_model(dir.str("raw.safetensors"), Device::cpu);
  EXPECT_EQ(ema->params().values().to_floats(), last.tensors.at(kAverageWeightsTensor).to_floats());
  EXPECT_EQ(ema->params().state().to_floats(), last.tensors.at(kAverageStatisticsTensor).to_floats());
  EXPECT_NE(raw->params().values().to_floats(), ema->params().values().to_floats());
  EXPECT_EQ(read_safetensors(dir.str("ema.safetensors")).metadata.at("weights"), "ema");
  EXPECT_EQ(ema->config().input_norm, InputNorm::fov);
}

// --split-seed: runs of another seed on the same folds (an ensemble's members, cross-validated)
// validate on the same photographs and start from other weights; without it the seed moves the
// folds too. A run stored before the option split by its seed.
TEST(CrossValidatedRun, ASplitSeedKeepsTheFoldsWhileTheSeedChangesTheRest) {
  test::TempDir dir;
  write_synthetic_set(dir.str("a"), 5, 3, 96, 96);
  write_synthetic_set(dir.str("b"), 4, 4, 96, 96);
  auto run = [&](const std::string& name, uint64_t seed, uint64_t split_seed) {
    TrainSettings s;
    s.data_dirs = {dir.str("a"), dir.str("b")};
    s.run_dir = dir.str(name);
    s.model = test::tiny_model_config();
    s.size = 64;
    s.crop = 32;
    s.batch = 2;
    s.crops_per_image = 1;
    s.epochs = 1;
    s.steps_per_epoch = 1;
    s.seed = seed;
    s.split_seed = split_seed;
    s.folds = 3;
    s.fold = 2;
    EXPECT_EQ(train(s, nullptr).steps, 1);
    return std::pair{nlohmann::json::parse(test::read_text(dir.str(name + "/split.json"))),
                     read_safetensors(dir.str(name + "/last.safetensors"))};
  };
  const auto [split_first, first] = run("first", 3, 3);
  const auto [split_member, member] = run("member", 4, 3);
  const auto [split_other, other] = run("other", 4, 4);
  EXPECT_EQ(split_member["validation"], split_first["validation"]);
  EXPECT_NE(split_other["validation"], split_first["validation"]);
  const std::string weight = "seg.unet.enc.0.conv1.weight";
  EXPECT_NE(member.tensors.at(weight).to_floats(), first.tensors.at(weight).to_floats());
  const nlohmann::json stored = nlohmann::json::parse(member.metadata.at("settings"));
  EXPECT_EQ(stored["split_seed"], 3);
  EXPECT_EQ(stored["seed"], 4);
  nlohmann::json older = stored;
  older.erase("split_seed");
  EXPECT_EQ(TrainSettings::from_json(older).effective_split_seed(), 4u);
}

TEST(CrossValidatedRun, BadCombinationsAreRefusedWithTheReason) {
  TrainSettings s;
  s.data_dirs = {"d"};
  s.run_dir = "r";
  s.folds = 4;
  s.fold = 5;
  EXPECT_THROW(s.validate(), std::invalid_argument);
  s.fold = 0;
  EXPECT_THROW(s.validate(), std::invalid_argument);
  s.folds = 0;
  s.ema = 1.5;
  EXPECT_THROW(s.validate(), std::invalid_argument);
  s.ema = 0;
  s.av_targets = ArteryVeinTargets::both;  // needs the vessel-weighted loss
  try {
    s.validate();
    ADD_FAILURE() << "accepted --av-targets both with --av-loss all";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("av-loss"), std::string::npos) << e.what();
  }
}


// --augment is stored with the run (resume keeps it) and a run written before it existed reads
// back as the original's augmentation.
TEST(AugmentOption, IsStoredWithTheRunAndDefaultsToTheOriginal) {
  TrainSettings s;
  s.data_dirs = {"d"};
  s.augment = AugmentPreset::strong;
  nlohmann::json j = s.to_json();
  EXPECT_EQ(j.at("augment"), "strong");
  EXPECT_EQ(TrainSettings::from_json(j).augment, AugmentPreset::strong);
  j.erase("augment");
  EXPECT_EQ(TrainSettings::from_json(j).augment, AugmentPreset::original);
  j["augment"] = "heavy";
  EXPECT_THROW(TrainSettings::from_json(j), std::invalid_argument);
}

}  // namespace
}  // namespace seqnet
