// test_augment.cpp: augmentation keeps photograph and labels aligned; colour jitter; crops.
#include <cmath>
#include <random>

#include "test_support.h"
#include "train/augment.h"

namespace seqnet {
namespace {

// A picture whose red channel says where the vessels are: blobs of red 1 on 0, smooth enough
// (blocks of 8 pixels) that bilinear and nearest sampling agree away from the block edges.
LabeledImage self_describing(int size) {
  LabeledImage item;
  item.width = item.height = size;
  item.rgb = Image(size, size, 3);
  const size_t n = size_t(size) * size;
  for (auto* v : {&item.vessel, &item.artery, &item.vein, &item.fov, &item.label_class}) v->assign(n, 0);
  std::mt19937 rng(7);
  std::vector<uint8_t> blocks(size_t(size / 8) * (size / 8));
  for (auto& b : blocks) b = rng() % 3 == 0;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const size_t i = size_t(y) * size + x;
      const bool on = blocks[size_t(y / 8) * (size / 8) + x / 8];
      item.rgb.at(y, x, 0) = on ? 1.0f : 0.0f;
      item.rgb.at(y, x, 1) = 0.5f;  // marks "inside the picture" (outside becomes 0)
      item.vessel[i] = item.artery[i] = on;
      item.fov[i] = 1;
      item.label_class[i] = uint8_t(on ? LabelClass::artery : LabelClass::background);
    }
  return item;
}

AugmentSettings geometry_forced_on() {
  AugmentSettings s;
  s.brightness_p = s.contrast_p = s.saturation_p = 0;
  s.rotation_p = s.shear_p = s.shift_p = s.zoom_p = 1;
  s.hflip_p = s.vflip_p = 0.5;
  return s;
}

TEST(Augment, GeometryKeepsImageAndLabelsAligned) {
  const LabeledImage item = self_describing(128);
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 10; ++trial) {
    const LabeledImage out = augment(item, geometry_forced_on(), rng);
    ASSERT_EQ(out.width, 128);
    size_t agree = 0, changed = 0;
    const size_t n = out.vessel.size();
    for (size_t i = 0; i < n; ++i) {
      const bool image_says = out.rgb.pixels[3 * i] > 0.5f;
      agree += image_says == bool(out.vessel[i]) && out.vessel[i] == out.artery[i];
      changed += out.vessel[i] != item.vessel[i];
      // Outside the picture: no label, no field of view.
      if (out.rgb.pixels[3 * i + 1] == 0.0f) {
        ASSERT_EQ(out.fov[i], 0) << i;
      }
    }
    EXPECT_GE(double(agree) / n, 0.99) << "trial " << trial;
    EXPECT_GT(changed, n / 20) << "the transform should move things (trial " << trial << ")";
  }
}

TEST(Augment, FlipAloneIsExact) {
  const LabeledImage item = self_describing(64);
  AugmentSettings s;
  s.brightness_p = s.contrast_p = s.saturation_p = s.rotation_p = s.shear_p = s.shift_p = s.zoom_p = 0;
  s.hflip_p = 1, s.vflip_p = 0;
  std::mt19937_64 rng(1);
  const LabeledImage out = augment(item, s, rng);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      ASSERT_NEAR(out.rgb.at(y, x, 0), item.rgb.at(y, 63 - x, 0), 1e-5f);
      ASSERT_EQ(out.vessel[y * 64 + x], item.vessel[y * 64 + 63 - x]);
    }
}

TEST(Augment, DisabledIsAnExactCopy) {
  const LabeledImage item = self_describing(32);
  AugmentSettings s;
  s.enabled = false;
  std::mt19937_64 rng(3);
  const LabeledImage out = augment(item, s, rng);
  EXPECT_EQ(out.rgb.pixels, item.rgb.pixels);
  EXPECT_EQ(out.vessel, item.vessel);
}

TEST(Augment, ColourJitterStaysInRangeAndLeavesLabels) {
  LabeledImage item = self_describing(32);
  for (size_t i = 0; i < item.rgb.pixels.size(); ++i) item.rgb.pixels[i] = float(i % 97) / 96.0f;
  AugmentSettings s;
  s.brightness_p = s.contrast_p = s.saturation_p = 1;
  s.rotation_p = s.shear_p = s.shift_p = s.zoom_p = s.hflip_p = s.vflip_p = 0;
  std::mt19937_64 rng(5);
  const LabeledImage out = augment(item, s, rng);
  double moved = 0;
  for (size_t i = 0; i < out.rgb.pixels.size(); ++i) {
    ASSERT_GE(out.rgb.pixels[i], 0.0f);
    ASSERT_LE(out.rgb.pixels[i], 1.0f);
    moved += std::abs(out.rgb.pixels[i] - item.rgb.pixels[i]);
  }
  EXPECT_GT(moved / out.rgb.pixels.size(), 1e-3);
  EXPECT_EQ(out.vessel, item.vessel);
}

TEST(Augment, CropIsAWindowOfTheSource) {
  const LabeledImage item = self_describing(64);
  std::mt19937_64 rng(9);
  const LabeledImage crop = random_crop(item, 16, rng);
  ASSERT_EQ(crop.width, 16);
  // Find the window: the crop must equal the source at some offset.
  bool found = false;
  for (int y0 = 0; y0 <= 48 && !found; ++y0)
    for (int x0 = 0; x0 <= 48 && !found; ++x0) {
      bool same = true;
      for (int y = 0; y < 16 && same; ++y)
        for (int x = 0; x < 16 && same; ++x)
          same = crop.vessel[y * 16 + x] == item.vessel[(y0 + y) * 64 + x0 + x] &&
                 crop.rgb.at(y, x, 0) == item.rgb.at(y0 + y, x0 + x, 0);
      found = same;
    }
  EXPECT_TRUE(found);
  EXPECT_THROW(random_crop(item, 65, rng), std::invalid_argument);
}


// Only the hue jitter on, at up to a quarter turn: greys stay grey, and a colour turns about the
// grey axis, so its projection on that axis (r + g + b) and its distance from it are kept.
TEST(Augment, HueTurnsColoursAboutTheGreyAxis) {
  LabeledImage item = self_describing(16);
  const size_t n = size_t(16) * 16;
  for (size_t i = 0; i < n; ++i) {
    float* p = &item.rgb.pixels[3 * i];
    if (i % 2) p[0] = p[1] = p[2] = 0.3f;  // grey
    else p[0] = 0.4f, p[1] = 0.5f, p[2] = 0.6f;  // a colour: turned, it stays inside [0, 1]
  }
  AugmentSettings s;
  s.brightness_p = s.contrast_p = s.saturation_p = 0;
  s.rotation_p = s.shear_p = s.shift_p = s.zoom_p = s.hflip_p = s.vflip_p = 0;
  s.hue = 0.25, s.hue_p = 1;
  std::mt19937_64 rng(11);
  const LabeledImage out = augment(item, s, rng);
  const float* p = &out.rgb.pixels[0];  // the colour
  EXPECT_GT(std::abs(p[0] - 0.4f) + std::abs(p[2] - 0.6f), 0.01f) << "the colour should turn";
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.5f, 1e-5f);
  const float mean = 0.5f;  // distance from the grey axis: sqrt(0.1^2 + 0 + 0.1^2)
  EXPECT_NEAR(std::hypot(p[0] - mean, p[1] - mean, p[2] - mean), std::sqrt(0.02f), 1e-5f);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(out.rgb.pixels[3 + c], 0.3f, 1e-6f) << "grey stays grey";
  EXPECT_EQ(out.vessel, item.vessel);
}

// The original's settings draw exactly the numbers they drew before the hue jitter existed (a
// run resumed across versions continues the same stream); a zero hue probability draws none.
TEST(Augment, HueOffDrawsNoRandomNumbers) {
  const LabeledImage item = self_describing(32);
  AugmentSettings plain, hue_off;
  hue_off.hue = 0.02, hue_off.hue_p = 0;
  std::mt19937_64 a(9), b(9);
  const LabeledImage x = augment(item, plain, a), y = augment(item, hue_off, b);
  EXPECT_EQ(x.rgb.pixels, y.rgb.pixels);
  EXPECT_EQ(a(), b());
}

TEST(Augment, PresetsByName) {
  EXPECT_EQ(augment_preset_from("original"), AugmentPreset::original);
  EXPECT_EQ(to_string(augment_preset_from("strong")), "strong");
  EXPECT_THROW(augment_preset_from("heavy"), std::invalid_argument);
  const AugmentSettings original = augment_settings(AugmentPreset::original), strong = augment_settings(AugmentPreset::strong);
  EXPECT_EQ(original.zoom_p, AugmentSettings{}.zoom_p);
  EXPECT_EQ(original.hue_p, 0);
  EXPECT_EQ(strong.zoom_min, 0.7);
  EXPECT_EQ(strong.zoom_max, 1.3);
  EXPECT_EQ(strong.shear_deg, 25);
  EXPECT_EQ(strong.zoom_p, 0.5);
  EXPECT_EQ(strong.hue, 0.02);
  EXPECT_EQ(strong.rotation_deg, original.rotation_deg);
}

}  // namespace
}  // namespace seqnet
