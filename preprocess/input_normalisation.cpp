// input_normalisation.cpp: normalise_photograph (input_normalisation.h).
#include "preprocess/input_normalisation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace seqnet {

std::string to_string(InputNorm norm) { return norm == InputNorm::fov ? "fov" : "none"; }

InputNorm input_norm_from(const std::string& name) {
  if (name == "none") return InputNorm::none;
  if (name == "fov") return InputNorm::fov;
  throw std::invalid_argument("input normalisation must be 'none' or 'fov', got '" + name + "'");
}

namespace {

// A Gaussian of the given sigma, cut at 3 sigma, summing to 1.
std::vector<float> gaussian_taps(double sigma) {
  const int radius = std::max(1, int(std::ceil(3 * sigma)));
  std::vector<float> taps(2 * radius + 1);
  double sum = 0;
  for (int k = -radius; k <= radius; ++k) sum += taps[k + radius] = float(std::exp(-0.5 * k * k / (sigma * sigma)));
  for (float& t : taps) t = float(t / sum);
  return taps;
}

// `plane` (w x h) blurred by the separable Gaussian; the picture is zero outside its border, as
// outside the field of view (the mask's blur divides that out). Each output pixel is the sum of
// its taps in the order k = -radius .. radius, starting from 0, whichever loop computes it:
//   rows[y][x] = sum over k in [max(-r, -x), min(r, w-1-x)] of taps[k] * plane[y][x+k]
//   out[y][x]  = sum over k in [max(-r, -y), min(r, h-1-y)] of taps[k] * rows[y+k][x]
// The loops run k outside and x inside wherever the range of k is the same for a run of x (every
// x of a column pass; the x at least r from the border in a row pass), so the compiler vectorises
// them over x, and rows are split over the threads; the sums are those of the pixel-by-pixel
// loop, bit for bit (InputNormalisation.BlurIsThePixelByPixelSum). At 576x576 (61 taps) the
// pixel-by-pixel loop took 0.1 s of a photograph's prediction.
std::vector<float> blur(const std::vector<float>& plane, int w, int h, const std::vector<float>& taps) {
  const int radius = int(taps.size() / 2);
  std::vector<float> rows(plane.size()), out(plane.size());
  const int inner_begin = std::min(radius, w), inner_end = std::max(inner_begin, w - radius);  // full range of k
#pragma omp parallel for schedule(static) if (int64_t(w) * h >= (1 << 16))
  for (int y = 0; y < h; ++y) {
    const float* in = plane.data() + size_t(y) * w;
    float* row = rows.data() + size_t(y) * w;
    const auto border_pixel = [&](int x) {
      float sum = 0;
      for (int k = std::max(-radius, -x); k <= std::min(radius, w - 1 - x); ++k) sum += taps[k + radius] * in[x + k];
      row[x] = sum;
    };
    for (int x = 0; x < inner_begin; ++x) border_pixel(x);
    for (int x = inner_begin; x < inner_end; ++x) row[x] = 0;
    for (int k = -radius; k <= radius; ++k) {
      const float tap = taps[k + radius];
      for (int x = inner_begin; x < inner_end; ++x) row[x] += tap * in[x + k];
    }
    for (int x = inner_end; x < w; ++x) border_pixel(x);
  }
#pragma omp parallel for schedule(static) if (int64_t(w) * h >= (1 << 16))
  for (int y = 0; y < h; ++y) {
    float* o = out.data() + size_t(y) * w;
    std::fill(o, o + w, 0.0f);
    for (int k = std::max(-radius, -y); k <= std::min(radius, h - 1 - y); ++k) {
      const float tap = taps[k + radius];
      const float* source = rows.data() + size_t(y + k) * w;
      for (int x = 0; x < w; ++x) o[x] += tap * source[x];
    }
  }
  return out;
}

}  // namespace

void normalise_photograph(Image& rgb, const std::vector<uint8_t>& fov) {
  if (rgb.channels != 3) throw std::invalid_argument("normalise_photograph: expected 3 channels, got " + std::to_string(rgb.channels));
  const int w = rgb.width, h = rgb.height;
  const size_t n = size_t(w) * h;
  if (fov.size() != n) throw std::invalid_argument("normalise_photograph: the mask has another size than the image");
  const std::vector<float> taps = gaussian_taps(std::max(w, h) / 57.6);
  std::vector<float> mask(n), channel(n);
  size_t inside = 0;
  for (size_t i = 0; i < n; ++i) inside += mask[i] = fov[i] ? 1.0f : 0.0f;
  const std::vector<float> mask_blur = blur(mask, w, h, taps);
  for (int c = 0; c < 3; ++c) {
    for (size_t i = 0; i < n; ++i) channel[i] = rgb.pixels[i * 3 + c] * mask[i];
    const std::vector<float> background = blur(channel, w, h, taps);
    double squares = 0;
    for (size_t i = 0; i < n; ++i) {
      channel[i] = fov[i] ? rgb.pixels[i * 3 + c] - background[i] / std::max(mask_blur[i], 1e-6f) : 0.0f;
      squares += double(channel[i]) * channel[i];
    }
    const double spread = inside ? std::sqrt(squares / double(inside)) : 0.0;
    const float scale = spread > 1e-6 ? float(1.0 / (8.0 * spread)) : 0.0f;  // a flat field stays at 0.5
    for (size_t i = 0; i < n; ++i)
      rgb.pixels[i * 3 + c] = fov[i] ? std::clamp(0.5f + channel[i] * scale, 0.0f, 1.0f) : 0.0f;
  }
}

}  // namespace seqnet
