// augment.cpp: colour jitter, one composed affine warp (bilinear image, nearest labels), crops.
#include "train/augment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace seqnet {
namespace {

using Affine = std::array<double, 6>;  // [a b c; d e f]: x' = a x + b y + c, y' = d x + e y + f

Affine compose(const Affine& m, const Affine& n) {  // m after n: p -> m(n(p))
  return {m[0] * n[0] + m[1] * n[3], m[0] * n[1] + m[1] * n[4], m[0] * n[2] + m[1] * n[5] + m[2],
          m[3] * n[0] + m[4] * n[3], m[3] * n[1] + m[4] * n[4], m[3] * n[2] + m[4] * n[5] + m[5]};
}

const Affine identity = {1, 0, 0, 0, 1, 0};

double uniform(std::mt19937_64& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
bool coin(std::mt19937_64& rng, double p) { return uniform(rng, 0.0, 1.0) < p; }

// Luminance weights (ITU-R BT.601) for RGB.
float luminance(const float* p) { return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]; }

// Turns every colour by `angle` radians about the grey axis u = (1,1,1)/sqrt(3) (Rodrigues):
//   M = cos(a) I + (1 - cos(a)) u u^T + sin(a) [u]x,   [u]x the cross product with u.
void rotate_hue(float* px, size_t n, double angle) {
  const double c = std::cos(angle), s = std::sin(angle) / std::sqrt(3.0), t = (1.0 - c) / 3.0;
  const double m[3][3] = {{c + t, t - s, t + s}, {t + s, c + t, t - s}, {t - s, t + s, c + t}};
  for (size_t i = 0; i < n; ++i) {
    float* p = px + 3 * i;
    const double r = p[0], g = p[1], b = p[2];
    for (int k = 0; k < 3; ++k) p[k] = std::clamp(float(m[k][0] * r + m[k][1] * g + m[k][2] * b), 0.0f, 1.0f);
  }
}

void jitter_colours(Image& rgb, const AugmentSettings& s, std::mt19937_64& rng) {
  const size_t n = size_t(rgb.width) * rgb.height;
  float* px = rgb.pixels.data();
  if (coin(rng, s.brightness_p)) {
    const float a = float(1.0 + uniform(rng, -s.brightness, s.brightness));
    for (size_t i = 0; i < 3 * n; ++i) px[i] = std::clamp(a * px[i], 0.0f, 1.0f);
  }
  if (coin(rng, s.contrast_p)) {
    const float a = float(1.0 + uniform(rng, -s.contrast, s.contrast));
    double mean = 0;
    for (size_t i = 0; i < n; ++i) mean += luminance(px + 3 * i);
    const float shift = float((1.0 - a) * mean / double(n));
    for (size_t i = 0; i < 3 * n; ++i) px[i] = std::clamp(a * px[i] + shift, 0.0f, 1.0f);
  }
  if (coin(rng, s.saturation_p)) {
    const float a = float(1.0 + uniform(rng, -s.saturation, s.saturation));
    for (size_t i = 0; i < n; ++i) {
      const float grey = (1.0f - a) * luminance(px + 3 * i);
      for (int c = 0; c < 3; ++c) px[3 * i + c] = std::clamp(a * px[3 * i + c] + grey, 0.0f, 1.0f);
    }
  }
  // Drawn only when enabled, so that the original's settings draw the same numbers as before.
  if (s.hue_p > 0 && coin(rng, s.hue_p)) rotate_hue(px, n, 2 * std::numbers::pi * uniform(rng, -s.hue, s.hue));
}

// The map from an output pixel to the source position, both relative to the image centre, as the
// original's sequence of keras apply_affine_transform calls composes it (each call maps its
// output to its input, so the first transform applied is the outermost factor).
Affine draw_geometry(int w, int h, const AugmentSettings& s, std::mt19937_64& rng) {
  const double degree = std::numbers::pi / 180.0;
  Affine m = identity;
  if (coin(rng, s.rotation_p)) {
    const double t = uniform(rng, -s.rotation_deg, s.rotation_deg) * degree;
    m = compose(m, {std::cos(t), -std::sin(t), 0, std::sin(t), std::cos(t), 0});
  }
  if (coin(rng, s.shear_p)) {
    const double t = uniform(rng, -s.shear_deg, s.shear_deg) * degree;
    m = compose(m, {1, -std::sin(t), 0, 0, std::cos(t), 0});
  }
  if (coin(rng, s.hflip_p)) m = compose(m, {-1, 0, 0, 0, 1, 0});
  if (coin(rng, s.vflip_p)) m = compose(m, {1, 0, 0, 0, -1, 0});
  if (coin(rng, s.shift_p)) {
    const double tx = uniform(rng, -s.shift, s.shift) * w, ty = uniform(rng, -s.shift, s.shift) * h;
    m = compose(m, {1, 0, tx, 0, 1, ty});
  }
  if (coin(rng, s.zoom_p)) {
    const double zx = uniform(rng, s.zoom_min, s.zoom_max), zy = uniform(rng, s.zoom_min, s.zoom_max);
    m = compose(m, {zx, 0, 0, 0, zy, 0});
  }
  return m;
}

// Resamples everything in `item` through `m` (centre-relative output -> source coordinates).
LabeledImage warp(const LabeledImage& item, const Affine& m) {
  const int w = item.width, h = item.height;
  const double cx = w / 2.0, cy = h / 2.0;
  LabeledImage out = item;
  std::fill(out.rgb.pixels.begin(), out.rgb.pixels.end(), 0.0f);
  for (auto* v : {&out.vessel, &out.artery, &out.vein, &out.fov, &out.label_class}) std::fill(v->begin(), v->end(), 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      // Pixel centres: output (x+0.5, y+0.5) -> source position in pixel-index units.
      const double px = x + 0.5 - cx, py = y + 0.5 - cy;
      const double sx = m[0] * px + m[1] * py + m[2] + cx - 0.5;
      const double sy = m[3] * px + m[4] * py + m[5] + cy - 0.5;
      const size_t o = size_t(y) * w + x;
      // Labels: nearest source pixel, none outside.
      const int nx = int(std::lround(sx)), ny = int(std::lround(sy));
      if (nx >= 0 && nx < w && ny >= 0 && ny < h) {
        const size_t s = size_t(ny) * w + nx;
        out.vessel[o] = item.vessel[s];
        out.artery[o] = item.artery[s];
        out.vein[o] = item.vein[s];
        out.fov[o] = item.fov[s];
        out.label_class[o] = item.label_class[s];
      }
      // Photograph: bilinear over the four neighbours, those outside counting as black.
      const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
      const float fx = float(sx - x0), fy = float(sy - y0);
      for (int dy = 0; dy <= 1; ++dy)
        for (int dx = 0; dx <= 1; ++dx) {
          const int ix = x0 + dx, iy = y0 + dy;
          if (ix < 0 || ix >= w || iy < 0 || iy >= h) continue;
          const float weight = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
          for (int c = 0; c < 3; ++c) out.rgb.at(y, x, c) += weight * item.rgb.at(iy, ix, c);
        }
    }
  return out;
}

}  // namespace

std::string to_string(AugmentPreset preset) { return preset == AugmentPreset::strong ? "strong" : "original"; }

AugmentPreset augment_preset_from(const std::string& name) {
  if (name == "original") return AugmentPreset::original;
  if (name == "strong") return AugmentPreset::strong;
  throw std::invalid_argument("--augment " + name + ": expected original or strong");
}

AugmentSettings augment_settings(AugmentPreset preset) {
  AugmentSettings s;
  if (preset == AugmentPreset::strong) {
    s.zoom_min = 0.7, s.zoom_max = 1.3, s.zoom_p = 0.5;
    s.shear_deg = 25, s.shear_p = 0.5;
    s.hue = 0.02, s.hue_p = 0.5;
  }
  return s;
}

LabeledImage augment(const LabeledImage& item, const AugmentSettings& settings, std::mt19937_64& rng) {
  if (!settings.enabled) return item;
  LabeledImage coloured = item;
  jitter_colours(coloured.rgb, settings, rng);
  const Affine m = draw_geometry(item.width, item.height, settings, rng);
  return m == identity ? coloured : warp(coloured, m);
}

LabeledImage random_crop(const LabeledImage& item, int size, std::mt19937_64& rng) {
  if (size <= 0 || size > item.width || size > item.height)
    throw std::invalid_argument("cannot crop " + std::to_string(size) + "x" + std::to_string(size) + " from " + item.name +
                                " (" + std::to_string(item.width) + "x" + std::to_string(item.height) + ")");
  const int x0 = std::uniform_int_distribution<int>(0, item.width - size)(rng);
  const int y0 = std::uniform_int_distribution<int>(0, item.height - size)(rng);
  LabeledImage out;
  out.rgb = Image(size, size, 3);
  out.width = out.height = size;
  out.name = item.name;
  for (auto* v : {&out.vessel, &out.artery, &out.vein, &out.fov, &out.label_class}) v->resize(size_t(size) * size);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const size_t s = size_t(y0 + y) * item.width + x0 + x, o = size_t(y) * size + x;
      for (int c = 0; c < 3; ++c) out.rgb.at(y, x, c) = item.rgb.at(y0 + y, x0 + x, c);
      out.vessel[o] = item.vessel[s];
      out.artery[o] = item.artery[s];
      out.vein[o] = item.vein[s];
      out.fov[o] = item.fov[s];
      out.label_class[o] = item.label_class[s];
    }
  return out;
}

}  // namespace seqnet
