// image_resize.cpp: to_rgb, resize_bilinear (PIL-style triangle filter), resize_nearest.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "io/image.h"

namespace seqnet {
namespace {

// Below this many output values a resize is not worth waking the threads for.
constexpr int64_t kParallelMinValues = int64_t(1) << 16;

void check_target(const Image& image, int w, int h, const char* what) {
  if (w <= 0 || h <= 0 || image.width <= 0 || image.height <= 0)
    throw ImageError(std::string(what) + ": cannot resize a " + std::to_string(image.width) + "x" +
                     std::to_string(image.height) + " image to " + std::to_string(w) + "x" + std::to_string(h));
}

// The weights of one output sample along one axis: source indices [first, first + weights.size()).
struct Taps {
  int first = 0;
  std::vector<float> weights;
};

// Output pixel i covers source [i*scale, (i+1)*scale) with centre (i+0.5)*scale. A triangle
// filter of half-width `support` = max(scale, 1) around that centre, over source pixel centres
// (j+0.5), weights normalised to sum 1 (taps beyond the border are dropped, as PIL does).
std::vector<Taps> triangle_taps(int in_size, int out_size) {
  const double scale = double(in_size) / out_size;
  const double support = std::max(scale, 1.0);
  std::vector<Taps> taps(out_size);
  for (int i = 0; i < out_size; ++i) {
    const double centre = (i + 0.5) * scale;
    const int lo = std::max(0, int(std::floor(centre - support)));
    const int hi = std::min(in_size, int(std::ceil(centre + support)));
    taps[i].first = lo;
    double sum = 0;
    for (int j = lo; j < hi; ++j) {
      const double weight = std::max(0.0, 1.0 - std::abs((j + 0.5 - centre) / support));
      taps[i].weights.push_back(float(weight));
      sum += weight;
    }
    for (float& weight : taps[i].weights) weight = float(weight / sum);
  }
  return taps;
}

}  // namespace

Image to_rgb(const Image& image) {
  if (image.channels == 3) return image;
  if (image.channels < 1 || image.channels > 4)
    throw ImageError("cannot convert an image with " + std::to_string(image.channels) + " channels to RGB");
  Image rgb(image.width, image.height, 3);
  const bool grey = image.channels <= 2;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      for (int c = 0; c < 3; ++c) rgb.at(y, x, c) = image.at(y, x, grey ? 0 : c);
  return rgb;
}

Image to_rgb(Image&& image) {
  if (image.channels == 3) return std::move(image);
  return to_rgb(static_cast<const Image&>(image));
}

Image resize_bilinear(const Image& image, int w, int h) {
  check_target(image, w, h, "resize_bilinear");
  const int c = image.channels;
  const std::vector<Taps> across = triangle_taps(image.width, w);
  const std::vector<Taps> down = triangle_taps(image.height, h);
  // Separable: first along x (image.height rows of w), then along y. Rows are shared out over the
  // threads (a 1620x1444 photograph's two resizes were 3.5% of `predict`); every sum runs in the
  // same order on any thread count, so the bits do not depend on it.
  const bool parallel = int64_t(w) * std::max(h, image.height) * c >= kParallelMinValues;
  Image rows(w, image.height, c);
#pragma omp parallel for schedule(static) if (parallel)
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < c; ++ch) {
        float sum = 0;
        for (size_t k = 0; k < across[x].weights.size(); ++k)
          sum += across[x].weights[k] * image.at(y, across[x].first + int(k), ch);
        rows.at(y, x, ch) = sum;
      }
  Image out(w, h, c);
#pragma omp parallel for schedule(static) if (parallel)
  for (int y = 0; y < h; ++y)
    for (size_t k = 0; k < down[y].weights.size(); ++k) {
      const float weight = down[y].weights[k];
      const int source_row = down[y].first + int(k);
      for (int x = 0; x < w; ++x)
        for (int ch = 0; ch < c; ++ch) out.at(y, x, ch) += weight * rows.at(source_row, x, ch);
    }
  return out;
}

Image resize_nearest(const Image& image, int w, int h) {
  check_target(image, w, h, "resize_nearest");
  Image out(w, h, image.channels);
  for (int y = 0; y < h; ++y) {
    const int sy = std::min(image.height - 1, int((y + 0.5) * image.height / h));
    for (int x = 0; x < w; ++x) {
      const int sx = std::min(image.width - 1, int((x + 0.5) * image.width / w));
      for (int ch = 0; ch < image.channels; ++ch) out.at(y, x, ch) = image.at(sy, sx, ch);
    }
  }
  return out;
}

}  // namespace seqnet
