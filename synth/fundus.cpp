// fundus.cpp: painting the synthetic fundus photograph and its labels (fundus.h).
//
// The photograph is built up in layers, each a multiplication or blend of RGB in [0, 1]:
// background colour -> low-frequency blotches and fine grain (value-noise fBm) -> vignetting
// -> darker macula -> bright optic disc -> veins, then arteries on top -> a slight blur ->
// sensor noise -> black outside the field of view. Vessels are drawn anti-aliased from the
// distance of each pixel centre to each segment's axis; the label marks the pixels whose
// centre lies within the vessel radius.
#include "synth/fundus.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "io/atomic_file.h"
#include "synth/layout.h"
#include "synth/random.h"
#include "synth/vessel_tree.h"

namespace seqnet {

namespace {

using synth::FundusLayout;
using synth::Random;
using synth::VesselSegment;
using synth::VesselType;
using Rgb = std::array<double, 3>;

constexpr uint8_t kArteryBit = 1, kVeinBit = 2;

double smoothstep(double edge0, double edge1, double x) {
  double t = std::clamp((x - edge0) / (edge1 - edge0), 0.0, 1.0);
  return t * t * (3 - 2 * t);
}

// Fractal value noise: random values on a grid of `cell`-pixel squares, smoothly interpolated,
// summed over `octaves` grids each half the cell size and half the amplitude. Values in [-1, 1].
std::vector<float> fbm_field(int width, int height, double cell, int octaves, Random& random) {
  std::vector<float> field(size_t(width) * height, 0.0f);
  double amplitude = 1.0, total = 0.0;
  for (int o = 0; o < octaves; ++o, cell /= 2, amplitude /= 2) {
    int gw = int(width / cell) + 2, gh = int(height / cell) + 2;
    std::vector<double> grid(size_t(gw) * gh);
    for (double& g : grid) g = random.uniform(-1.0, 1.0);
    for (int y = 0; y < height; ++y) {
      double gy = y / cell;
      int iy = int(gy);
      double ty = smoothstep(0, 1, gy - iy);
      for (int x = 0; x < width; ++x) {
        double gx = x / cell;
        int ix = int(gx);
        double tx = smoothstep(0, 1, gx - ix);
        const double* row0 = &grid[size_t(iy) * gw + ix];
        const double* row1 = row0 + gw;
        double top = row0[0] + (row0[1] - row0[0]) * tx;
        double bottom = row1[0] + (row1[1] - row1[0]) * tx;
        field[size_t(y) * width + x] += float(amplitude * (top + (bottom - top) * ty));
      }
    }
    total += amplitude;
  }
  for (float& v : field) v = float(v / total);
  return field;
}

// Per pixel: how much vein and artery covers it (opacity in [0, 1]), the artery's central light
// reflex, and the label bits.
struct VesselMaps {
  int width, height;
  std::vector<float> vein, artery, reflex;
  std::vector<uint8_t> label;
  VesselMaps(int w, int h)
      : width(w), height(h), vein(size_t(w) * h), artery(size_t(w) * h), reflex(size_t(w) * h), label(size_t(w) * h) {}
};

void rasterize(const VesselSegment& s, double scale, VesselMaps& maps) {
  const double reach = std::max(s.r0, s.r1) + 1.0;
  const int x_begin = std::max(0, int(std::floor(std::min(s.x0, s.x1) - reach)));
  const int x_end = std::min(maps.width, int(std::ceil(std::max(s.x0, s.x1) + reach)) + 1);
  const int y_begin = std::max(0, int(std::floor(std::min(s.y0, s.y1) - reach)));
  const int y_end = std::min(maps.height, int(std::ceil(std::max(s.y0, s.y1) + reach)) + 1);
  const double dx = s.x1 - s.x0, dy = s.y1 - s.y0;
  const double length2 = std::max(dx * dx + dy * dy, 1e-12);
  const bool is_vein = s.type == VesselType::vein;
  std::vector<float>& opacity = is_vein ? maps.vein : maps.artery;
  for (int y = y_begin; y < y_end; ++y) {
    for (int x = x_begin; x < x_end; ++x) {
      const double px = x + 0.5, py = y + 0.5;  // pixel centre
      const double t = std::clamp(((px - s.x0) * dx + (py - s.y0) * dy) / length2, 0.0, 1.0);
      const double ex = s.x0 + t * dx - px, ey = s.y0 + t * dy - py;
      const double d = std::sqrt(ex * ex + ey * ey);
      const double r = s.r0 + t * (s.r1 - s.r0);
      const double coverage = std::clamp(r + 0.5 - d, 0.0, 1.0);  // anti-aliased edge, one pixel wide
      if (coverage <= 0) continue;
      const size_t i = size_t(y) * maps.width + x;
      // Light crosses more blood near the axis of a cylinder (chord length ~ sqrt(1 - (d/r)^2)),
      // and thin vessels hold too little blood to look fully dark.
      const double chord = std::sqrt(std::max(0.0, 1.0 - (d * d) / ((r + 0.5) * (r + 0.5))));
      const double contrast = std::clamp(0.25 + 0.3 * r / scale, 0.0, 1.0);
      opacity[i] = std::max(opacity[i], float(coverage * (0.55 + 0.45 * chord) * contrast));
      if (d <= r) maps.label[i] |= is_vein ? kVeinBit : kArteryBit;
      // Arteries thicker than ~2.5 px show a light streak along their axis (the central reflex).
      if (!is_vein && r > 1.25 * scale) {
        const double streak = 0.55 * std::exp(-(d * d) / (0.09 * r * r));
        maps.reflex[i] = std::max(maps.reflex[i], float(streak));
      }
    }
  }
}

// The look of one photograph: colours and strengths drawn once per image.
struct Appearance {
  Rgb background, disc, cup, vein_factor, artery_factor;
  double vignetting, macula_depth, light_x, light_y;
};

Appearance random_appearance(const FundusLayout& l, Random& random) {
  Appearance a;
  // DRIVE's field-of-view means: red 0.5 to 0.96, green/red 0.42 to 0.73, blue/red 0.21 to 0.49.
  const double brightness = random.uniform(0.65, 1.2);
  a.background = {brightness, brightness * random.uniform(0.48, 0.66), brightness * random.uniform(0.22, 0.36)};
  const double disc_brightness = random.uniform(0.9, 1.05);
  a.disc = {1.0 * disc_brightness, 0.84 * disc_brightness * random.uniform(0.92, 1.05), 0.45 * disc_brightness};
  a.cup = {1.0, 0.93, 0.68};
  // Blood absorbs green and blue far more than red; veins (deoxygenated, wider) look darker.
  const double v = random.uniform(0.9, 1.1), r = random.uniform(0.9, 1.1);
  a.vein_factor = {0.70 * v, 0.44 * v, 0.52 * v};
  a.artery_factor = {std::min(0.95, 0.88 * r), 0.62 * r, 0.72 * r};
  a.vignetting = random.uniform(0.25, 0.45);
  a.macula_depth = random.uniform(0.6, 1.2);
  // The illumination is rarely centred: vignetting is measured from a shifted point.
  a.light_x = l.centre_x + random.uniform(-0.15, 0.15) * l.fov_radius;
  a.light_y = l.centre_y + random.uniform(-0.15, 0.15) * l.fov_radius;
  return a;
}

// Background, macula and disc at every pixel (no vessels yet).
void paint_background(const FundusLayout& l, const Appearance& a, Random& random, Image& photo) {
  const int w = l.width, h = l.height;
  const double R = l.fov_radius;
  const std::vector<float> blotches = fbm_field(w, h, 0.7 * R, 3, random);
  const std::vector<float> hue = fbm_field(w, h, 0.5 * R, 2, random);
  const std::vector<float> mottle = fbm_field(w, h, 24.0 * l.scale, 2, random);
  const std::vector<float> grain = fbm_field(w, h, 6.0 * l.scale, 2, random);
  const double macula_sigma = 1.3 * l.disc_radius;
  const double cup_x = l.disc_x + l.temporal * 0.15 * l.disc_radius, cup_y = l.disc_y;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const size_t i = size_t(y) * w + x;
      const double px = x + 0.5, py = y + 0.5;
      Rgb c = a.background;
      const double light = std::min(1.0, std::hypot(px - a.light_x, py - a.light_y) / R);
      const double bright = (1 - a.vignetting * std::pow(light, 2.2)) * (1 + 0.12 * blotches[i]) * (1 + 0.05 * mottle[i]) * (1 + 0.03 * grain[i]);
      for (double& v : c) v *= bright;
      // The rim reddens: green and blue fall faster than red.
      const double greener = (1 - 0.15 * light * light) * (1 + 0.07 * hue[i]) * (1 - 0.04 * mottle[i]);
      c[1] *= greener;
      c[2] *= greener;
      const double dm2 = (px - l.macula_x) * (px - l.macula_x) + (py - l.macula_y) * (py - l.macula_y);
      const double m = a.macula_depth * std::exp(-dm2 / (2 * macula_sigma * macula_sigma));
      c[0] *= 1 - 0.20 * m;
      c[1] *= 1 - 0.33 * m;
      c[2] *= 1 - 0.30 * m;
      // The disc: a slightly tall ellipse with a soft rim, a paler cup inside and a faint halo.
      const double dd = std::hypot(px - l.disc_x, (py - l.disc_y) / 1.08);
      const double halo = 0.10 * std::exp(-std::pow((dd - l.disc_radius) / (0.6 * l.disc_radius), 2));
      for (double& v : c) v *= 1 + halo;
      const double in_disc = smoothstep(1.1 * l.disc_radius, 0.85 * l.disc_radius, dd + 0.04 * l.disc_radius * grain[i]);
      const double in_cup = smoothstep(0.55 * l.disc_radius, 0.15 * l.disc_radius, std::hypot(px - cup_x, py - cup_y));
      for (int k = 0; k < 3; ++k) {
        const double disc = a.disc[k] * (1 + 0.05 * blotches[i]) + (a.cup[k] - a.disc[k]) * in_cup;
        c[k] += (disc - c[k]) * in_disc;
        photo.at(y, x, k) = float(c[k]);
      }
    }
  }
}

void paint_vessels(const VesselMaps& maps, const Appearance& a, Image& photo) {
  for (int y = 0; y < photo.height; ++y) {
    for (int x = 0; x < photo.width; ++x) {
      const size_t i = size_t(y) * photo.width + x;
      const double vein = maps.vein[i], artery = maps.artery[i] * (1 - maps.reflex[i]);
      if (vein == 0 && artery == 0) continue;
      for (int k = 0; k < 3; ++k) {
        // Absorption multiplies: the artery, lying on top at a crossing, darkens the vein further.
        const double factor = (1 - vein * (1 - a.vein_factor[k])) * (1 - artery * (1 - a.artery_factor[k]));
        photo.at(y, x, k) = float(photo.at(y, x, k) * factor);
      }
    }
  }
}

// A separable Gaussian blur (the optics are never perfectly sharp), edges clamped.
void blur(Image& image, double sigma) {
  const int radius = std::max(1, int(std::ceil(2.5 * sigma)));
  std::vector<double> kernel(2 * radius + 1);
  double sum = 0;
  for (int k = -radius; k <= radius; ++k) sum += kernel[k + radius] = std::exp(-k * k / (2 * sigma * sigma));
  for (double& v : kernel) v /= sum;
  const int w = image.width, h = image.height, c = image.channels;
  std::vector<float> tmp(image.pixels.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < c; ++ch) {
        double v = 0;
        for (int k = -radius; k <= radius; ++k) v += kernel[k + radius] * image.at(y, std::clamp(x + k, 0, w - 1), ch);
        tmp[(size_t(y) * w + x) * c + ch] = float(v);
      }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < c; ++ch) {
        double v = 0;
        for (int k = -radius; k <= radius; ++k) v += kernel[k + radius] * tmp[(size_t(std::clamp(y + k, 0, h - 1)) * w + x) * c + ch];
        image.at(y, x, ch) = float(v);
      }
}

}  // namespace

SynthSample draw_fundus(int width, int height, uint64_t seed) {
  if (width < 64 || height < 64 || width > 8192 || height > 8192)
    throw std::invalid_argument("synthetic fundus size " + std::to_string(width) + "x" + std::to_string(height) +
                                " is out of range: each side must be 64 to 8192 pixels");
  Random random(seed);
  const FundusLayout layout = synth::random_layout(width, height, random);
  const Appearance look = random_appearance(layout, random);
  const std::vector<VesselSegment> segments = synth::grow_vessel_trees(layout, random);

  VesselMaps maps(width, height);
  for (const VesselSegment& s : segments) rasterize(s, layout.scale, maps);

  SynthSample sample{Image(width, height, 3), Image(width, height, 3), Image(width, height, 1),
                     synth::geometry_truth(layout, segments)};
  paint_background(layout, look, random, sample.photo);
  paint_vessels(maps, look, sample.photo);
  blur(sample.photo, 0.6 * layout.scale);

  const Rgb outside = {0.02, 0.02, 0.02};
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double d = std::hypot(x + 0.5 - layout.centre_x, y + 0.5 - layout.centre_y);
      const double inside = std::clamp(layout.fov_radius + 0.5 - d, 0.0, 1.0);  // anti-aliased rim
      const double grain = random.normal();
      for (int k = 0; k < 3; ++k) {
        // Sensor noise: a shared brightness part and a smaller per-channel part.
        const double noisy = sample.photo.at(y, x, k) * (1 + 0.012 * grain) + 0.006 * random.normal();
        sample.photo.at(y, x, k) = float(std::clamp(outside[k] + (noisy - outside[k]) * inside, 0.0, 1.0));
      }
      const bool in_fov = d <= layout.fov_radius;
      sample.mask.at(y, x, 0) = in_fov ? 1.0f : 0.0f;
      const uint8_t bits = in_fov ? maps.label[size_t(y) * width + x] : 0;
      // RITE colours: red artery, blue vein, green where both overlap.
      sample.label.at(y, x, 0) = bits == kArteryBit ? 1.0f : 0.0f;
      sample.label.at(y, x, 1) = bits == (kArteryBit | kVeinBit) ? 1.0f : 0.0f;
      sample.label.at(y, x, 2) = bits == kVeinBit ? 1.0f : 0.0f;
    }
  }
  return sample;
}

void write_synthetic_set(const std::string& dir, int n, uint64_t seed, int width, int height,
                         const std::function<void(int index, const std::string& name)>& on_written) {
  if (n < 1) throw std::invalid_argument("the number of synthetic images must be at least 1, got " + std::to_string(n));
  namespace fs = std::filesystem;
  const fs::path root(dir);
  for (const char* sub : {"images", "av", "mask", "truth"}) fs::create_directories(root / sub);
  const int digits = std::max(3, int(std::to_string(n - 1).size()));
  for (int i = 0; i < n; ++i) {
    const std::string number = std::to_string(i);
    const std::string name = "synth_" + std::string(digits - number.size(), '0') + number;
    const SynthSample sample = draw_fundus(width, height, synth::derive_seed(seed, uint64_t(i)));
    write_png((root / "images" / (name + ".png")).string(), sample.photo);
    write_png((root / "av" / (name + ".png")).string(), sample.label);
    write_png((root / "mask" / (name + "_mask.png")).string(), sample.mask);
    write_file_atomically((root / "truth" / (name + ".json")).string(), synth::geometry_truth_json(sample.truth));
    if (on_written) on_written(i, name);
  }
}

}  // namespace seqnet
