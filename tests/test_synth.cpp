// test_synth.cpp: the synthetic fundus drawer (synth/fundus.h) and the `seqnet synth` command.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "io/image.h"
#include "synth/fundus.h"
#include "test_support.h"

namespace seqnet {

namespace {

constexpr int kWidth = 565, kHeight = 584;  // DRIVE's size, the default

enum class Label { background, artery, vein, crossing, other };

Label label_at(const Image& label, int y, int x) {
  const float r = label.at(y, x, 0), g = label.at(y, x, 1), b = label.at(y, x, 2);
  if (r == 0 && g == 0 && b == 0) return Label::background;
  if (r == 1 && g == 0 && b == 0) return Label::artery;
  if (r == 0 && g == 0 && b == 1) return Label::vein;
  if (r == 0 && g == 1 && b == 0) return Label::crossing;
  return Label::other;
}

// Runs `seqnet ARGS`, returns its exit status and leaves stdout+stderr in `output`.
int run_seqnet(const std::string& args, const test::TempDir& tmp, std::string& output) {
  const std::string log = tmp.str("seqnet.log");
  const int status = test::run_seqnet(args, log, log);
  output = test::read_text(log);
  return status;
}

}  // namespace

TEST(SynthDraw, SameSeedGivesIdenticalImagesAndOtherSeedsDiffer) {
  const SynthSample a = draw_fundus(kWidth, kHeight, 7), b = draw_fundus(kWidth, kHeight, 7);
  EXPECT_EQ(a.photo.pixels, b.photo.pixels);
  EXPECT_EQ(a.label.pixels, b.label.pixels);
  EXPECT_EQ(a.mask.pixels, b.mask.pixels);
  const SynthSample c = draw_fundus(kWidth, kHeight, 8);
  EXPECT_NE(a.photo.pixels, c.photo.pixels);
  EXPECT_NE(a.label.pixels, c.label.pixels);
}

TEST(SynthDraw, HasTheRequestedSizeAndRejectsTinyOnes) {
  const SynthSample s = draw_fundus(200, 150, 1);
  EXPECT_EQ(s.photo.width, 200);
  EXPECT_EQ(s.photo.height, 150);
  EXPECT_EQ(s.photo.channels, 3);
  EXPECT_EQ(s.label.channels, 3);
  EXPECT_EQ(s.mask.channels, 1);
  EXPECT_THROW(draw_fundus(10, 584, 1), std::invalid_argument);
}

TEST(SynthLabel, UsesOnlyRiteColoursAndIsBlackOutsideTheFieldOfView) {
  const SynthSample s = draw_fundus(kWidth, kHeight, 3);
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x) {
      const Label l = label_at(s.label, y, x);
      ASSERT_NE(l, Label::other) << "pixel (" << x << "," << y << ") is not a RITE colour";
      if (s.mask.at(y, x, 0) == 0) ASSERT_EQ(l, Label::background) << "vessel outside the mask at (" << x << "," << y << ")";
    }
}

// DRIVE's RITE labels cover 11-14% of the field of view, arteries a little less than veins.
TEST(SynthLabel, VesselSharesArePlausibleAndArteriesCrossVeins) {
  long crossings = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const SynthSample s = draw_fundus(kWidth, kHeight, seed);
    long fov = 0, artery = 0, vein = 0, both = 0;
    for (int y = 0; y < kHeight; ++y)
      for (int x = 0; x < kWidth; ++x) {
        if (s.mask.at(y, x, 0) == 0) continue;
        ++fov;
        const Label l = label_at(s.label, y, x);
        artery += l == Label::artery;
        vein += l == Label::vein;
        both += l == Label::crossing;
      }
    const double share = double(artery + vein + both) / fov;
    EXPECT_GT(share, 0.05) << "seed " << seed;
    EXPECT_LT(share, 0.20) << "seed " << seed;
    EXPECT_GT(double(artery) / fov, 0.01) << "seed " << seed;
    EXPECT_GT(double(vein) / fov, 0.01) << "seed " << seed;
    EXPECT_GT(vein, artery) << "veins are wider, seed " << seed;
    crossings += both;
  }
  EXPECT_GT(crossings, 50);
}

TEST(SynthPhoto, VesselsAreDarkerThanTheirSurroundingsInGreen) {
  const SynthSample s = draw_fundus(kWidth, kHeight, 11);
  // Compare each vessel pixel's green with the mean green of the non-vessel field-of-view pixels
  // within 7 pixels of it.
  double vessel_sum = 0, surround_sum = 0;
  long count = 0;
  for (int y = 7; y < kHeight - 7; y += 2)
    for (int x = 7; x < kWidth - 7; x += 2) {
      if (label_at(s.label, y, x) == Label::background) continue;
      double sum = 0;
      int n = 0;
      for (int dy = -7; dy <= 7; ++dy)
        for (int dx = -7; dx <= 7; ++dx)
          if (s.mask.at(y + dy, x + dx, 0) > 0 && label_at(s.label, y + dy, x + dx) == Label::background) {
            sum += s.photo.at(y + dy, x + dx, 1);
            ++n;
          }
      if (n == 0) continue;
      vessel_sum += s.photo.at(y, x, 1);
      surround_sum += sum / n;
      ++count;
    }
  ASSERT_GT(count, 1000);
  EXPECT_LT(vessel_sum / count, 0.9 * surround_sum / count);
}

TEST(SynthMask, IsADiscAndThePhotoIsDarkOutsideIt) {
  const SynthSample s = draw_fundus(kWidth, kHeight, 5);
  long area = 0;
  double cx = 0, cy = 0, outside[3] = {0, 0, 0}, inside_red = 0;
  int left = kWidth, right = -1;
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x) {
      const float m = s.mask.at(y, x, 0);
      ASSERT_TRUE(m == 0 || m == 1);
      if (m == 1) {
        ++area;
        cx += x + 0.5;
        cy += y + 0.5;
        left = std::min(left, x);
        right = std::max(right, x);
        inside_red += s.photo.at(y, x, 0);
      } else {
        for (int k = 0; k < 3; ++k) outside[k] += s.photo.at(y, x, k);
      }
    }
  const long out_count = long(kWidth) * kHeight - area;
  cx /= area;
  cy /= area;
  const double radius = (right - left + 1) / 2.0;
  EXPECT_NEAR(cx, kWidth / 2.0, 0.02 * kWidth);
  EXPECT_NEAR(cy, kHeight / 2.0, 0.02 * kHeight);
  EXPECT_NEAR(area / (M_PI * radius * radius), 1.0, 0.02) << "the mask is not a disc";
  EXPECT_GT(radius, 0.4 * kWidth);
  for (double o : outside) EXPECT_LT(o / out_count, 0.05);
  EXPECT_GT(inside_red / area, 0.3);
}

TEST(SynthTruth, VesselsDrawnOverEachOtherAcrossZoneBAreOneInTheLabel) {
  // A disc 40 px across at (100.5, 100.5) in the drawing (100, 100 in the measures'), zone B's
  // middle circle 50 px out, its inner one 40. Two veins 4 px wide run out side by side 3 px
  // apart, touching across the zone: one vessel 7 px wide in the label. An artery forks inside
  // the zone: its branch leaves at 40 px, touches the trunk at the middle circle but not at the
  // inner one, so the two stay two.
  synth::FundusLayout layout;
  layout.disc_x = layout.disc_y = 100.5;
  layout.disc_radius = 20;
  using synth::VesselType;
  std::vector<synth::VesselSegment> drawn;
  // In steps of 2 px, as synth grows them (geometry_truth interpolates linearly along a step).
  auto vessel = [&](double x0, double y0, double x1, double y1, double r, VesselType type) {
    const int steps = int(std::hypot(x1 - x0, y1 - y0) / 2);
    for (int i = 0; i < steps; ++i)
      drawn.push_back({x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps, x0 + (x1 - x0) * (i + 1) / steps,
                       y0 + (y1 - y0) * (i + 1) / steps, r, r, type});
  };
  vessel(100.5, 100.5, 200.5, 100.5, 2, VesselType::vein);
  vessel(100.5, 103.5, 200.5, 103.5, 2, VesselType::vein);
  vessel(100.5, 100.5, 100.5, 200.5, 2, VesselType::artery);
  vessel(101.5, 140.5, 111.5, 190.5, 1.5, VesselType::artery);
  const synth::GeometryTruth t = synth::geometry_truth(layout, drawn);
  EXPECT_EQ(t.zone_b.size(), 4u);
  ASSERT_EQ(t.zone_b_label.size(), 3u);
  for (const synth::ZoneCrossing& c : t.zone_b_label) {
    if (c.artery) {
      EXPECT_EQ(c.drawn, 1);
      continue;
    }
    EXPECT_EQ(c.drawn, 2);
    EXPECT_NEAR(c.width, 7.0, 0.05);  // 3 px apart + half of each
    EXPECT_NEAR(c.y, 101.5, 0.1);     // between them
  }
}

TEST(SynthSet, WritesTheDataLayoutThatReadsBack) {
  test::TempDir tmp;
  int progress = 0;
  write_synthetic_set(tmp.str("set"), 2, 4, 120, 100, [&](int, const std::string&) { ++progress; });
  EXPECT_EQ(progress, 2);
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(tmp.str("set")))
    files += entry.is_regular_file();
  EXPECT_EQ(files, 8);  // images, av, mask, truth of each
  for (const std::string name : {"synth_000", "synth_001"}) {
    const Image photo = read_image(tmp.str("set/images/" + name + ".png"));
    const Image label = read_image(tmp.str("set/av/" + name + ".png"));
    const Image mask = read_image(tmp.str("set/mask/" + name + "_mask.png"));
    for (const Image* image : {&photo, &label, &mask}) {
      EXPECT_EQ(image->width, 120);
      EXPECT_EQ(image->height, 100);
    }
    EXPECT_EQ(photo.channels, 3);
    EXPECT_EQ(label.channels, 3);
  }
  // Image 1 is not image 0 drawn again.
  EXPECT_NE(read_image(tmp.str("set/images/synth_000.png")).pixels, read_image(tmp.str("set/images/synth_001.png")).pixels);
  EXPECT_THROW(write_synthetic_set(tmp.str("none"), 0, 1, 120, 100), std::invalid_argument);
}

TEST(SynthCommand, WritesImagesAndRejectsBadCounts) {
  test::TempDir tmp;
  std::string output;
  EXPECT_EQ(run_seqnet("synth -o " + tmp.str("out") + " -n 1 --seed 3 --size 100x90", tmp, output), 0) << output;
  EXPECT_TRUE(std::filesystem::is_regular_file(tmp.str("out/av/synth_000.png"))) << output;
  EXPECT_EQ(read_image(tmp.str("out/mask/synth_000_mask.png")).height, 90);

  EXPECT_EQ(run_seqnet("synth -o " + tmp.str("zero") + " -n 0", tmp, output), 2);
  EXPECT_NE(output.find("-n must be at least 1"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(tmp.str("zero")));

  EXPECT_EQ(run_seqnet("synth -o " + tmp.str("bad") + " -n 1 --size 10x", tmp, output), 2);
  EXPECT_NE(output.find("--size must be WIDTHxHEIGHT"), std::string::npos) << output;

  EXPECT_EQ(run_seqnet("synth -n 1", tmp, output), 2);
  EXPECT_NE(output.find("missing -o DIR"), std::string::npos) << output;
}

}  // namespace seqnet
