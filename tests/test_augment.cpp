// test_augment.cpp: augmentation keeps photograph and labels aligned; colour jitter; crops.
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

}  // namespace
}  // namespace seqnet
