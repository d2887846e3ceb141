// optic_disc.cpp: finding the optic disc (optic_disc.h).
#include "measure/optic_disc.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace seqnet::measure {

double mean_brightness(const MeasureInput& in) {
  double sum = 0, count = 0;
  const bool whole = std::find(in.fov.begin(), in.fov.end(), 1) == in.fov.end();
  for (size_t i = 0; i < in.brightness.size(); ++i)
    if (whole || in.fov[i]) sum += in.brightness[i], count += 1;
  return count > 0 ? sum / count : 0;
}

double fov_diameter(const MeasureInput& in) {
  const double area = double(std::count(in.fov.begin(), in.fov.end(), 1));
  return area > 0 ? 2 * std::sqrt(area / std::numbers::pi) : double(std::min(in.width, in.height));
}

namespace {

constexpr double kRimEdgeShare = 0.85;

// Sums over f x f blocks of pixels: non-vessel brightness and its weight, vessel probability, and
// field-of-view pixels. Non-vessel weight (1 - P(vessel)) keeps the dark vessels crossing the disc
// from dimming it.
struct Grid {
  int width = 0, height = 0, factor = 1;
  std::vector<double> bright, bright_weight, vessel, fov;
};

Grid shrink(const MeasureInput& in, int f) {
  Grid g;
  g.factor = f;
  g.width = (in.width + f - 1) / f;
  g.height = (in.height + f - 1) / f;
  const size_t n = size_t(g.width) * g.height;
  g.bright.assign(n, 0);
  g.bright_weight.assign(n, 0);
  g.vessel.assign(n, 0);
  g.fov.assign(n, 0);
  const bool whole = std::find(in.fov.begin(), in.fov.end(), 1) == in.fov.end();
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x) {
      const size_t i = size_t(y) * in.width + x, c = size_t(y / f) * g.width + x / f;
      if (!whole && !in.fov[i]) continue;
      const double background = 1.0 - in.vessel[i];
      g.bright[c] += background * in.brightness[i];
      g.bright_weight[c] += background;
      g.vessel[c] += in.vessel[i];
      g.fov[c] += 1;
    }
  return g;
}

// Sums over axis-aligned boxes in O(1) (a summed-area table), boxes clipped to the grid.
class BoxSums {
 public:
  BoxSums(const std::vector<double>& values, int width, int height)
      : width_(width), height_(height), sums_(size_t(width + 1) * (height + 1), 0) {
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        at(x + 1, y + 1) = values[size_t(y) * width + x] + at(x, y + 1) + at(x + 1, y) - at(x, y);
  }
  // Sum over [x0, x1) x [y0, y1).
  double box(int x0, int y0, int x1, int y1) const {
    x0 = std::clamp(x0, 0, width_), x1 = std::clamp(x1, 0, width_);
    y0 = std::clamp(y0, 0, height_), y1 = std::clamp(y1, 0, height_);
    return get(x1, y1) - get(x0, y1) - get(x1, y0) + get(x0, y0);
  }

 private:
  double& at(int x, int y) { return sums_[size_t(y) * (width_ + 1) + x]; }
  double get(int x, int y) const { return sums_[size_t(y) * (width_ + 1) + x]; }
  int width_, height_;
  std::vector<double> sums_;
};

// Non-vessel brightness in rings of one cell around (cx, cy), out to `rings`: sums and weights.
struct RadialProfile {
  std::vector<double> sum, weight;
  double mean(double from, double to) const {  // over rings [from, to)
    double s = 0, w = 0;
    for (int r = std::max(0, int(std::floor(from))); r < int(std::ceil(to)) && r < int(sum.size()); ++r) s += sum[r], w += weight[r];
    return w > 0 ? s / w : NAN;
  }
};

// The ring of each offset (dx, dy) within `rings` of a centre, computed once for all centres.
class RingTable {
 public:
  explicit RingTable(int rings) : rings_(rings), side_(2 * rings + 1), ring_(size_t(side_) * side_) {
    for (int dy = -rings; dy <= rings; ++dy)
      for (int dx = -rings; dx <= rings; ++dx) ring_[size_t(dy + rings) * side_ + dx + rings] = int(std::hypot(dx, dy));
  }
  int rings() const { return rings_; }
  int ring(int dx, int dy) const { return ring_[size_t(dy + rings_) * side_ + dx + rings_]; }

 private:
  int rings_, side_;
  std::vector<int> ring_;
};

RadialProfile radial_profile(const Grid& g, int cx, int cy, const RingTable& table) {
  const int rings = table.rings();
  RadialProfile p{std::vector<double>(rings, 0), std::vector<double>(rings, 0)};
  for (int y = std::max(0, cy - rings); y < std::min(g.height, cy + rings + 1); ++y)
    for (int x = std::max(0, cx - rings); x < std::min(g.width, cx + rings + 1); ++x) {
      const int r = table.ring(x - cx, y - cy);
      if (r >= rings) continue;
      const size_t c = size_t(y) * g.width + x;
      p.sum[r] += g.bright[c];
      p.weight[r] += g.bright_weight[c];
    }
  return p;
}

struct Scores {
  std::vector<double> brightness, vessels;  // standard scores; NAN outside the field of view
};

void standardise(std::vector<double>& values) {
  double sum = 0, sum2 = 0, n = 0;
  for (double v : values)
    if (!std::isnan(v)) sum += v, sum2 += v * v, n += 1;
  if (n < 2) return;
  const double mean = sum / n, sd = std::sqrt(std::max(sum2 / n - mean * mean, 1e-18));
  for (double& v : values)
    if (!std::isnan(v)) v = (v - mean) / sd;
}

Scores score_cells(const Grid& g, double disc_cells) {
  const BoxSums bright(g.bright, g.width, g.height), weight(g.bright_weight, g.width, g.height);
  const BoxSums vessel(g.vessel, g.width, g.height), fov(g.fov, g.width, g.height);
  const int half = std::max(1, int(std::lround(disc_cells / 2)));
  const double cell_pixels = double(g.factor) * g.factor;
  Scores s{std::vector<double>(g.fov.size(), NAN), std::vector<double>(g.fov.size(), NAN)};
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x) {
      const size_t c = size_t(y) * g.width + x;
      if (g.fov[c] < 0.5 * cell_pixels) continue;
      const double in_fov = fov.box(x - half, y - half, x + half + 1, y + half + 1);
      const double w = weight.box(x - half, y - half, x + half + 1, y + half + 1);
      if (w < 0.2 * in_fov) continue;  // a square almost all vessel has no background to judge
      s.brightness[c] = bright.box(x - half, y - half, x + half + 1, y + half + 1) / w;
      s.vessels[c] = vessel.box(x - half, y - half, x + half + 1, y + half + 1) / in_fov;
    }
  standardise(s.brightness);
  standardise(s.vessels);
  return s;
}

size_t argmax(const std::vector<double>& values) {
  size_t best = 0;
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isnan(values[i]) && (std::isnan(values[best]) || values[i] > values[best])) best = i;
  return best;
}

}  // namespace

OpticDisc find_optic_disc(const MeasureInput& in) {
  OpticDisc disc;
  const double fov_d = fov_diameter(in);
  const int f = std::max(1, int(fov_d / 400));
  const Grid g = shrink(in, f);
  const double expected = kExpectedDiscFraction * fov_d / f;  // cells

  // 1. The cell where brightness and vessels together stand out most.
  Scores s = score_cells(g, expected);
  std::vector<double> combined(s.brightness.size(), NAN);
  for (size_t c = 0; c < combined.size(); ++c) combined[c] = s.brightness[c] + s.vessels[c];
  const size_t best = argmax(combined);
  if (std::isnan(combined[best])) {
    disc.problem = "no field of view to search";
    return disc;
  }
  const size_t brightest = argmax(s.brightness), densest = argmax(s.vessels);
  const double apart = std::hypot(double(brightest % g.width) - double(densest % g.width),
                                  double(brightest / g.width) - double(densest / g.width));
  disc.agreement = std::clamp(1.0 - (apart - expected) / (2 * expected), 0.0, 1.0);

  // 2. The rim: the circle (centre near the best cell) whose inside is brightest against its
  // outside. Centres on a grid of 2 cells, then the best one's neighbours.
  const int bx = int(best % g.width), by = int(best / g.width);
  const int reach = std::max(1, int(expected / 3));
  const double band = std::max(1.5, 0.15 * expected / 2);
  const int r_min = std::max(2, int(0.3 * expected)), r_max = std::max(r_min + 1, int(expected));
  const RingTable search_rings(r_max + int(std::ceil(band)) + 1);
  auto edge = [&](const RadialProfile& p, int r) { return p.mean(r - band, r) - p.mean(r, r + band); };
  double best_edge = -1e9;
  int cx = bx, cy = by;
  auto try_centre = [&](int x, int y) {
    if (x < 0 || y < 0 || x >= g.width || y >= g.height) return;
    const RadialProfile p = radial_profile(g, x, y, search_rings);
    for (int r = r_min; r <= r_max; ++r)
      if (edge(p, r) > best_edge) best_edge = edge(p, r), cx = x, cy = y;
  };
  for (int y = by - reach; y <= by + reach; y += 2)
    for (int x = bx - reach; x <= bx + reach; x += 2) try_centre(x, y);
  const int coarse_x = cx, coarse_y = cy;
  for (int y = coarse_y - 1; y <= coarse_y + 1; ++y)
    for (int x = coarse_x - 1; x <= coarse_x + 1; ++x) try_centre(x, y);
  // The cup inside the disc has an edge too, sometimes the stronger: the rim is the outermost
  // radius whose edge is at least kRimEdgeShare of the strongest.
  const RadialProfile rim = radial_profile(g, cx, cy, search_rings);
  int radius = r_min;
  for (int r = r_min; r <= r_max; ++r)
    if (edge(rim, r) >= kRimEdgeShare * best_edge) radius = r;
  const RadialProfile around = radial_profile(g, cx, cy, RingTable(2 * radius + 2));
  disc.contrast = around.mean(0, 0.8 * radius) / around.mean(1.5 * radius, 2 * radius) - 1;
  if (std::isnan(disc.contrast)) disc.contrast = 0;
  disc.confidence = 0.5 * (std::clamp(disc.contrast / 0.4, 0.0, 1.0) + disc.agreement);
  // A cell's centre in photograph pixels: cells cover [c f, c f + f).
  disc.x = cx * f + (f - 1) / 2.0;
  disc.y = cy * f + (f - 1) / 2.0;
  disc.diameter = 2.0 * radius * f;

  const double vessels_here = s.vessels[size_t(cy) * g.width + cx];
  if (mean_brightness(in) < kTooDarkBrightness)
    disc.problem = "photograph too dark";
  else if (disc.contrast < kMinDiscContrast)
    disc.problem = "no region stands out as bright (contrast " + std::to_string(disc.contrast).substr(0, 5) + ")";
  else if (!(vessels_here > 0))
    disc.problem = "the vessels do not converge at the brightest region";
  disc.found = disc.problem.empty();
  return disc;
}

}  // namespace seqnet::measure
