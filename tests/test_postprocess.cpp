// test_postprocess.cpp: the artery/vein label propagation of eval/postprocess.h on drawn vessel
// graphs (its three acceptance cases, and the conservative readings and fixes that
// docs/POSTPROCESSING.md describes), and the skeleton it is built on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <queue>
#include <random>
#include <stdexcept>

#include "eval/postprocess.h"
#include "eval/skeleton.h"
#include "eval/vessel_graph.h"

namespace seqnet {
namespace {

constexpr int kSize = 96;
constexpr float kVesselProbability = 0.9f;
constexpr double kRadius = 2.5;  // drawn vessels are about 5 pixels wide

// Probability maps with vessels drawn as thick line segments; `drawn` remembers which line drew
// each pixel (bit per line) so a test can ask about one vessel's pixels.
// `scale` magnifies the whole drawing (image side, coordinates and vessel width), as a photograph
// of higher resolution would.
struct Canvas {
  explicit Canvas(int scale = 1)
      : scale(scale), width(kSize * scale), height(kSize * scale), vessel(size_t(width) * height, 0.02f),
        artery(size_t(width) * height, 0.0f), vein(size_t(width) * height, 0.0f), fov(size_t(width) * height, 1),
        drawn(size_t(width) * height, 0) {}
  int scale, width, height;
  std::vector<float> vessel, artery, vein;
  std::vector<uint8_t> fov;
  std::vector<uint32_t> drawn;
  int lines = 0;

  // Draws the segment (x0,y0)-(x1,y1) with artery and vein probabilities a, v; returns its line bit.
  uint32_t line(double x0, double y0, double x1, double y1, float a, float v) {
    const uint32_t bit = 1u << lines++;
    x0 *= scale, y0 *= scale, x1 *= scale, y1 *= scale;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const double dx = x1 - x0, dy = y1 - y0;
        const double t = std::clamp(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0);
        if (std::hypot(x - (x0 + t * dx), y - (y0 + t * dy)) > kRadius * scale) continue;
        const size_t i = size_t(y) * width + x;
        vessel[i] = kVesselProbability;
        artery[i] = a;
        vein[i] = v;
        drawn[i] |= bit;
      }
    return bit;
  }

  PostprocessStats run(const PostprocessSettings& settings = {}) {
    return propagate_av_labels(artery, vein, vessel, fov, width, height, settings);
  }

  // Counts pixels drawn only by lines in `bits` (any of them) whose output is not `want_artery`,
  // leaving out those closer than keep_out (drawing units) to (cx, cy).
  int wrong_pixels(uint32_t bits, bool want_artery, uint32_t exclude_bits = 0, double cx = 0, double cy = 0,
                   double keep_out = 0) const {
    int wrong = 0;
    for (size_t i = 0; i < drawn.size(); ++i) {
      if (!(drawn[i] & bits) || (drawn[i] & exclude_bits)) continue;
      if (std::hypot(double(i % width) - cx * scale, double(i / width) - cy * scale) < keep_out * scale) continue;
      const bool is_artery = artery[i] > 0 && vein[i] == 0;
      const bool is_vein = vein[i] > 0 && artery[i] == 0;
      wrong += want_artery ? !is_artery : !is_vein;
    }
    return wrong;
  }
};

TEST(PostprocessAcceptance, WeakBranchOfBifurcationInheritsTrunkLabel) {
  Canvas c;
  const uint32_t trunk = c.line(48, 90, 48, 50, 0.9f, 0.1f);          // z = 0.8: anchor
  const uint32_t strong = c.line(48, 50, 18, 10, 0.8f, 0.2f);         // z = 0.6: anchor
  const uint32_t weak = c.line(48, 50, 78, 10, 0.45f, 0.55f);         // z = -0.1: slightly vein-ish
  const PostprocessStats stats = c.run();
  EXPECT_EQ(stats.bifurcations, 1);
  EXPECT_EQ(stats.segments, 3);
  EXPECT_EQ(stats.anchors, 2);
  EXPECT_GT(stats.relabelled_pixels, 0);  // the weak branch changed side
  EXPECT_EQ(c.wrong_pixels(trunk | strong | weak, true), 0);
}

TEST(PostprocessAcceptance, CrossingVesselsKeepTheirOwnLabels) {
  Canvas c;
  const uint32_t artery_line = c.line(6, 20, 90, 76, 0.9f, 0.1f);
  const uint32_t vein_line = c.line(6, 76, 90, 20, 0.15f, 0.85f);
  const PostprocessStats stats = c.run();
  EXPECT_EQ(stats.crossings, 1);
  EXPECT_EQ(stats.bifurcations, 0);
  // Every pixel of each vessel outside the overlap, right up to the crossing, keeps its label.
  EXPECT_EQ(c.wrong_pixels(artery_line, true, vein_line), 0);
  EXPECT_EQ(c.wrong_pixels(vein_line, false, artery_line), 0);
}

TEST(PostprocessAcceptance, CrossingLinksCarryLabelsThroughIt) {
  // A crossing whose four arms are: artery anchor, weak vein-ish (continues the artery), vein
  // anchor, weak artery-ish (continues the vein). Each weak arm takes its straight partner's label.
  Canvas c;
  const uint32_t artery_anchor = c.line(6, 48, 48, 48, 0.9f, 0.1f);
  const uint32_t artery_weak = c.line(48, 48, 90, 48, 0.45f, 0.55f);
  const uint32_t vein_anchor = c.line(48, 6, 48, 48, 0.1f, 0.9f);
  const uint32_t vein_weak = c.line(48, 48, 48, 90, 0.55f, 0.45f);
  const PostprocessStats stats = c.run();
  EXPECT_EQ(stats.crossings, 1);
  EXPECT_EQ(stats.anchors, 2);
  EXPECT_EQ(c.wrong_pixels(artery_anchor | artery_weak, true, vein_anchor | vein_weak), 0);
  EXPECT_EQ(c.wrong_pixels(vein_anchor | vein_weak, false, artery_anchor | artery_weak), 0);
}

TEST(PostprocessAcceptance, NoisyMiddleOfLongVeinBecomesVein) {
  // A long vein with two side branches, so that its middle stretch is a segment of its own; the
  // middle leans artery weakly (z = 0.1 < 0.3), the side branches are undecided.
  Canvas c;
  const uint32_t left = c.line(4, 60, 32, 60, 0.1f, 0.9f);
  const uint32_t middle = c.line(32, 60, 64, 60, 0.55f, 0.45f);
  const uint32_t right = c.line(64, 60, 92, 60, 0.1f, 0.9f);
  const uint32_t branches = c.line(32, 60, 32, 30, 0.49f, 0.51f) | c.line(64, 60, 64, 30, 0.49f, 0.51f);
  const PostprocessStats stats = c.run();
  EXPECT_EQ(stats.bifurcations, 2);
  EXPECT_EQ(stats.anchors, 2);
  EXPECT_EQ(c.wrong_pixels(left | middle | right | branches, false), 0);
}

TEST(PostprocessAcceptance, NoisyMiddleOfUnbranchedVeinBecomesVein) {
  Canvas c;
  const uint32_t vessel = c.line(4, 48, 30, 48, 0.1f, 0.9f) | c.line(30, 48, 66, 48, 0.6f, 0.4f) |
                          c.line(66, 48, 92, 48, 0.1f, 0.9f);
  const PostprocessStats stats = c.run();
  EXPECT_EQ(stats.segments, 1);
  EXPECT_EQ(c.wrong_pixels(vessel, false), 0);
}

TEST(PostprocessOutput, SmallComponentsKeepTheirPixelWiseLabels) {
  // Regression: dropped components were written A = V = 0, which "artery iff A >= V" (the
  // evaluation, out_final, the overlay) reads as artery, whatever the model said.
  Canvas c;
  const uint32_t big = c.line(10, 80, 86, 80, 0.8f, 0.2f);
  const uint32_t small = c.line(20, 20, 21, 20, 0.2f, 0.7f);  // about 25 pixels, vein
  int small_pixels = 0;
  for (uint32_t d : c.drawn) small_pixels += (d & small) != 0;
  ASSERT_LT(small_pixels, 30);
  const PostprocessStats stats = c.run();
  EXPECT_EQ(stats.components_removed, 1);
  for (size_t i = 0; i < c.drawn.size(); ++i)
    if (c.drawn[i] & small) {
      EXPECT_EQ(c.artery[i], 0.2f);
      EXPECT_EQ(c.vein[i], 0.7f);
    }
  EXPECT_EQ(c.wrong_pixels(big, true), 0);
}

TEST(PostprocessOutput, ArteryXorVeinAndTheOtherEqualsVessel) {
  // A tangle with noise: random probabilities on a few vessels, a partial FOV.
  Canvas c;
  c.line(5, 5, 90, 90, 0.6f, 0.4f);
  c.line(5, 90, 60, 10, 0.3f, 0.7f);
  c.line(40, 50, 90, 40, 0.5f, 0.5f);
  uint32_t state = 12345;
  for (size_t i = 0; i < c.vessel.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    const float noise = float(state >> 8) / float(1u << 24) - 0.5f;
    c.artery[i] = std::clamp(c.artery[i] + 0.6f * noise, 0.0f, 1.0f);
    c.vein[i] = std::clamp(c.vein[i] - 0.6f * noise, 0.0f, 1.0f);
    c.fov[i] = (i % kSize) < 88;
  }
  const std::vector<float> artery_before = c.artery, vein_before = c.vein;
  c.run();
  int vessel_pixels = 0;
  for (size_t i = 0; i < c.vessel.size(); ++i) {
    const bool vessel = c.vessel[i] >= 0.5f && c.fov[i];
    if (vessel) {
      ++vessel_pixels;
      EXPECT_NE(c.artery[i] > 0, c.vein[i] > 0) << "pixel " << i;
      EXPECT_TRUE(c.artery[i] == c.vessel[i] || c.vein[i] == c.vessel[i]) << "pixel " << i;
    } else {  // not vessel: the pixel-wise prediction stays
      EXPECT_EQ(c.artery[i], artery_before[i]);
      EXPECT_EQ(c.vein[i], vein_before[i]);
    }
  }
  EXPECT_GT(vessel_pixels, 500);
}

// ---- Propagation: how far a claim reaches -----------------------------------------------------

TEST(PostprocessPropagation, OwnEvidenceStrongerThanTheClaimStays) {
  // Trunk z = 0.44 (an anchor): its claim reaches the branches at 0.44 * hop_decay = 0.22. The
  // branch with z = -0.28 is surer than that and stays vein; the one with z = -0.1 turns artery.
  Canvas c;
  const uint32_t trunk = c.line(48, 90, 48, 50, 0.72f, 0.28f);
  const uint32_t sure = c.line(48, 50, 18, 10, 0.36f, 0.64f);
  const uint32_t unsure = c.line(48, 50, 78, 10, 0.45f, 0.55f);
  const PostprocessStats stats = c.run();
  ASSERT_EQ(stats.bifurcations, 1);
  EXPECT_EQ(stats.anchors, 1);
  EXPECT_EQ(c.wrong_pixels(trunk | unsure, true, sure), 0);
  EXPECT_EQ(c.wrong_pixels(sure, false, trunk | unsure), 0);
}

// Segments 0-1-2-... linked in a chain.
Continuations chain(size_t n) {
  Continuations c;
  c.linked.resize(n);
  for (int32_t s = 0; s + 1 < static_cast<int32_t>(n); ++s) c.linked[s].push_back(s + 1), c.linked[s + 1].push_back(s);
  return c;
}

TEST(PostprocessPropagation, ClaimsDecayPerHopUntilOwnEvidenceIsStronger) {
  // From the vein anchor: 0.4, 0.2, 0.1, 0.05 at hops 1-4 (hop_decay 0.5). Segments 1 and 2
  // (z = 0.05) take vein; segment 3 (z = 0.15 > 0.1) keeps artery and passes nothing on, so
  // segment 4 (z = 0.01) keeps artery too.
  int anchors = 0;
  const std::vector<AVLabel> label =
      propagate_segment_labels({-0.8, 0.05, 0.05, 0.15, 0.01}, chain(5), PostprocessSettings{}, anchors);
  EXPECT_EQ(anchors, 1);
  EXPECT_EQ(label, (std::vector<AVLabel>{AVLabel::vein, AVLabel::vein, AVLabel::vein, AVLabel::artery, AVLabel::artery}));
}

TEST(PostprocessPropagation, EqualOppositeClaimsLeaveTheOwnLabel) {
  // Regression: an exact tie went to the label that sorts last (vein) whatever the segment said.
  int anchors = 0;
  for (double middle : {0.125, -0.125}) {
    const std::vector<AVLabel> label =
        propagate_segment_labels({0.5, middle, -0.5}, chain(3), PostprocessSettings{}, anchors);
    EXPECT_EQ(label[0], AVLabel::artery);
    EXPECT_EQ(label[1], middle > 0 ? AVLabel::artery : AVLabel::vein);
    EXPECT_EQ(label[2], AVLabel::vein);
  }
  // Not tied: the stronger claim wins against the middle's own sign.
  const std::vector<AVLabel> label =
      propagate_segment_labels({0.5, -0.125, -0.3}, chain(3), PostprocessSettings{}, anchors);
  EXPECT_EQ(label[1], AVLabel::artery);
}

// ---- Resolution ---------------------------------------------------------------------------------

TEST(PostprocessScale, ThresholdsFollowTheResolution) {
  // Regression: the pixel thresholds were applied in the photograph's pixels, so on a 1620-pixel
  // LES-AV map (2.7x the 576-pixel working size) a crossing's two 3-way nodes lay further apart
  // than 8 pixels and the crossing became two bifurcations, linking the artery to the vein.
  // The X crossing of CrossingLinksCarryLabelsThroughIt, at 45 degrees, drawn 3x larger.
  const auto draw = [](Canvas& c, uint32_t& artery_bits, uint32_t& vein_bits) {
    const double r = 44, a = 22.5 * std::numbers::pi / 180;
    const double dx = r * std::cos(a), dy = r * std::sin(a);
    artery_bits = c.line(48 - dx, 48 - dy, 48, 48, 0.9f, 0.1f) | c.line(48, 48, 48 + dx, 48 + dy, 0.45f, 0.55f);
    vein_bits = c.line(48 - dx, 48 + dy, 48, 48, 0.1f, 0.9f) | c.line(48, 48, 48 + dx, 48 - dy, 0.55f, 0.45f);
    c.line(20, 85, 21, 85, 0.9f, 0.1f);  // ~225 pixels: under 30 * 3^2, over 30
  };
  uint32_t artery_bits = 0, vein_bits = 0;
  Canvas unscaled(3);
  draw(unscaled, artery_bits, vein_bits);
  const PostprocessStats before = unscaled.run();
  ASSERT_EQ(before.crossings, 0);  // what the scaling fixes
  ASSERT_EQ(before.components_removed, 0);

  Canvas c(3);
  draw(c, artery_bits, vein_bits);
  const PostprocessSettings settings = scaled_to_image(PostprocessSettings{}, c.width, c.height, kSize);
  EXPECT_DOUBLE_EQ(settings.pixel_scale, 3.0);
  const PostprocessStats stats = c.run(settings);
  EXPECT_EQ(stats.crossings, 1);
  EXPECT_EQ(stats.bifurcations, 0);
  EXPECT_EQ(stats.components_removed, 1);
  // Every pixel of each vessel away from the overlap (the crossing's own segment) has its label.
  EXPECT_EQ(c.wrong_pixels(artery_bits, true, vein_bits, 48, 48, 8), 0);
  EXPECT_EQ(c.wrong_pixels(vein_bits, false, artery_bits, 48, 48, 8), 0);
}

TEST(PostprocessScale, ScaleIsTheGeometricMeanOfTheAxes) {
  // LES-AV 1620x1444 predicted at 576: sqrt(1620 * 1444) / 576.
  EXPECT_NEAR(scaled_to_image(PostprocessSettings{}, 1620, 1444, 576).pixel_scale, 2.65533, 1e-5);
  Canvas c;
  PostprocessSettings bad;
  bad.pixel_scale = 0;
  EXPECT_THROW(c.run(bad), std::invalid_argument);
}

TEST(PostprocessOutput, RejectsMismatchedSizes) {
  Canvas c;
  c.vein.pop_back();
  EXPECT_THROW(c.run(), std::invalid_argument);
}

// ---- The skeleton and the graph ---------------------------------------------------------------

BinaryMask disc_line(int width, int height, double x0, double y0, double x1, double y1, double radius) {
  BinaryMask m(width, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const double dx = x1 - x0, dy = y1 - y0;
      const double t = std::clamp(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0);
      if (std::hypot(x - (x0 + t * dx), y - (y0 + t * dy)) <= radius) m.set(x, y, true);
    }
  return m;
}

TEST(PostprocessSkeleton, StraightLineIsOneSegmentWithoutNodes) {
  for (const auto& [x1, y1] : {std::pair{88.0, 50.0}, std::pair{80.0, 75.0}}) {
    const BinaryMask line = disc_line(kSize, kSize, 8, 40, x1, y1, 3.0);
    const BinaryMask skeleton = skeletonize(line, 5);
    const VesselGraph g = build_vessel_graph(skeleton);
    EXPECT_EQ(g.segment_pixels.size(), 1u);
    EXPECT_EQ(g.node_pixels.size(), 0u);
    EXPECT_GT(skeleton.count(), 60);  // most of the length survives
    int ends = 0;
    for (int y = 0; y < kSize; ++y)
      for (int x = 0; x < kSize; ++x)
        if (skeleton.get(x, y)) {
          EXPECT_TRUE(line.get(x, y));
          EXPECT_LE(count_neighbours(skeleton, x, y), 2);  // one pixel wide
          ends += count_neighbours(skeleton, x, y) == 1;
        }
    EXPECT_EQ(ends, 2);
  }
}

// Zhang-Suen thinning as the textbook writes it: every pass scans every pixel of the image.
void thin_by_full_scans(BinaryMask& mask) {
  bool changed = true;
  for (int pass = 0; changed || pass % 2 == 1; ++pass) {
    if (pass % 2 == 0) changed = false;
    std::vector<std::pair<int, int>> remove;
    for (int y = 0; y < mask.height; ++y)
      for (int x = 0; x < mask.width; ++x) {
        if (!mask.get(x, y)) continue;
        int p[8], neighbours = 0, transitions = 0;
        for (int k = 0; k < 8; ++k) p[k] = mask.get(x + kNeighbourDx[k], y + kNeighbourDy[k]);
        for (int k = 0; k < 8; ++k) neighbours += p[k], transitions += p[k] == 0 && p[(k + 1) % 8] == 1;
        const bool border = pass % 2 == 0 ? p[0] * p[2] * p[4] == 0 && p[2] * p[4] * p[6] == 0
                                          : p[0] * p[2] * p[6] == 0 && p[0] * p[4] * p[6] == 0;
        if (neighbours >= 2 && neighbours <= 6 && transitions == 1 && border) remove.push_back({x, y});
      }
    for (const auto& [x, y] : remove) mask.set(x, y, false);
    changed = changed || !remove.empty();
  }
}

// thin_zhang_suen visits only the pixels still set; on a tangle of thick random vessels (up to 9
// pixels wide, crossing, touching the border) it must unset exactly what full scans unset.
TEST(PostprocessSkeleton, ThinningVisitingSetPixelsOnlyEqualsFullScans) {
  std::mt19937 random(5);
  std::uniform_real_distribution<double> along(0.0, 1.0), width(0.5, 4.5);
  for (int trial = 0; trial < 4; ++trial) {
    const int w = 150 + 13 * trial, h = 120;
    BinaryMask tangle(w, h);
    for (int line = 0; line < 12; ++line) {
      const BinaryMask one = disc_line(w, h, along(random) * w, along(random) * h, along(random) * w, along(random) * h,
                                       width(random));
      for (size_t i = 0; i < one.on.size(); ++i) tangle.on[i] |= one.on[i];
    }
    BinaryMask fast = tangle, reference = tangle;
    thin_zhang_suen(fast);
    thin_by_full_scans(reference);
    EXPECT_GT(tangle.count(), 3 * reference.count()) << "trial " << trial;  // thinning did thin
    EXPECT_EQ(fast.on, reference.on) << "trial " << trial;
  }
}

TEST(PostprocessSkeleton, ThinningKeepsARingClosed) {
  BinaryMask ring(kSize, kSize);
  for (int y = 0; y < kSize; ++y)
    for (int x = 0; x < kSize; ++x) {
      const double r = std::hypot(x - 48.0, y - 48.0);
      ring.set(x, y, r >= 20 && r <= 26);
    }
  const BinaryMask skeleton = skeletonize(ring, 5);
  EXPECT_EQ(label_components(skeleton).sizes.size(), 1u);
  // A closed curve: every pixel has exactly two neighbours, and the centre is cut off from the
  // corner (4-connected background flood fill).
  for (int y = 0; y < kSize; ++y)
    for (int x = 0; x < kSize; ++x)
      if (skeleton.get(x, y)) EXPECT_EQ(count_neighbours(skeleton, x, y), 2) << x << "," << y;
  std::vector<uint8_t> reached(kSize * kSize, 0);
  std::queue<std::pair<int, int>> q;
  q.push({0, 0});
  reached[0] = 1;
  while (!q.empty()) {
    const auto [x, y] = q.front();
    q.pop();
    for (const auto& [dx, dy] : {std::pair{1, 0}, std::pair{-1, 0}, std::pair{0, 1}, std::pair{0, -1}}) {
      const int nx = x + dx, ny = y + dy;
      if (!skeleton.inside(nx, ny) || skeleton.get(nx, ny) || reached[ny * kSize + nx]) continue;
      reached[ny * kSize + nx] = 1;
      q.push({nx, ny});
    }
  }
  EXPECT_FALSE(reached[48 * kSize + 48]);
  EXPECT_GT(skeleton.count(), 100);  // circumference about 2 pi 23
}

TEST(PostprocessSkeleton, ShortSpursArePrunedLongBranchesStay) {
  BinaryMask m(40, 20);
  for (int x = 2; x < 38; ++x) m.set(x, 10, true);  // a line
  for (int y = 7; y < 10; ++y) m.set(12, y, true);   // spur of 3 pixels
  for (int y = 11; y < 19; ++y) m.set(25, y, true);  // branch of 8 pixels
  remove_redundant_pixels(m);  // as skeletonize does: (12,10) goes, (12,9) becomes the junction
  prune_spurs(m, 5);
  remove_redundant_pixels(m);
  EXPECT_FALSE(m.get(12, 7));
  EXPECT_FALSE(m.get(12, 8));
  EXPECT_FALSE(m.get(12, 9) && m.get(12, 10));  // no bump is left where the spur was
  EXPECT_TRUE(m.get(25, 18));
  EXPECT_TRUE(m.get(2, 10));
  EXPECT_TRUE(m.get(37, 10));
  EXPECT_EQ(label_components(m).sizes.size(), 1u);
  int junction_pixels = 0;  // only where the long branch meets the line
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 40; ++x) junction_pixels += m.get(x, y) && count_neighbours(m, x, y) >= 3;
  EXPECT_EQ(junction_pixels, 1);
}

TEST(PostprocessSkeleton, SmallComponentsGoBigOnesStay) {
  BinaryMask m(20, 20);
  for (int x = 0; x < 5; ++x)
    for (int y = 0; y < 5; ++y) m.set(x, y, true);  // 25 pixels
  for (int x = 0; x < 20; ++x)
    for (int y = 10; y < 12; ++y) m.set(x, y, true);  // 40 pixels
  EXPECT_EQ(remove_small_components(m, 30), 1);
  EXPECT_EQ(m.count(), 40);
}

TEST(PostprocessGraph, DirectionsAndDeviationFromStraight) {
  // A horizontal line crossing a vertical one: four arms, one 4-segment node.
  BinaryMask m(41, 41);
  for (int i = 0; i < 41; ++i) m.set(i, 20, true), m.set(20, i, true);
  const VesselGraph g = build_vessel_graph(m);
  ASSERT_EQ(g.node_pixels.size(), 1u);
  ASSERT_EQ(g.node_segments[0].size(), 4u);
  std::vector<Direction> d;
  for (int32_t s : g.node_segments[0]) d.push_back(direction_at_node(g, s, 0, 10));
  int straight_pairs = 0, right_angles = 0;
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = i + 1; j < 4; ++j) {
      const double deviation = deviation_from_straight(d[i], d[j]);
      straight_pairs += deviation < 1e-6;
      right_angles += std::abs(deviation - 90.0) < 1e-6;
    }
  EXPECT_EQ(straight_pairs, 2);
  EXPECT_EQ(right_angles, 4);
  const Continuations c = find_continuations(g, PostprocessSettings{});
  EXPECT_EQ(c.crossings, 1);
  for (const auto& partners : c.linked) EXPECT_EQ(partners.size(), 1u);
}

}  // namespace
}  // namespace seqnet
