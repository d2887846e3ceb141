// field_of_view.cpp: compute_fov (field_of_view.h).
#include "preprocess/field_of_view.h"

#include <algorithm>

namespace seqnet {

std::vector<uint8_t> compute_fov(const Image& rgb) {
  const int w = rgb.width, h = rgb.height;
  const size_t n = size_t(w) * h;
  // Brightness = the largest channel; the bright end = its 99th percentile (robust to glare).
  std::vector<float> brightness(n);
  for (size_t i = 0; i < n; ++i)
    brightness[i] = *std::max_element(&rgb.pixels[i * rgb.channels], &rgb.pixels[i * rgb.channels] + std::min(rgb.channels, 3));
  std::vector<float> sorted = brightness;
  std::nth_element(sorted.begin(), sorted.begin() + n * 99 / 100, sorted.end());
  const float threshold = 0.1f * sorted[n * 99 / 100];

  // Largest 4-connected region above the threshold.
  std::vector<int> region(n, -1);
  std::vector<size_t> stack;
  int best = -1;
  size_t best_size = 0;
  const auto flood = [&](size_t start, int id, auto inside) {
    size_t size = 0;
    stack.assign(1, start);
    region[start] = id;
    while (!stack.empty()) {
      const size_t i = stack.back();
      stack.pop_back();
      ++size;
      const int x = int(i % w), y = int(i / w);
      const size_t next[4] = {x > 0 ? i - 1 : i, x + 1 < w ? i + 1 : i, y > 0 ? i - w : i, y + 1 < h ? i + w : i};
      for (size_t j : next)
        if (region[j] == -1 && inside(j)) {
          region[j] = id;
          stack.push_back(j);
        }
    }
    return size;
  };
  int id = 0;
  for (size_t i = 0; i < n; ++i)
    if (region[i] == -1 && brightness[i] > threshold) {
      const size_t size = flood(i, id, [&](size_t j) { return brightness[j] > threshold; });
      if (size > best_size) best_size = size, best = id;
      ++id;
    }
  std::vector<uint8_t> fov(n);
  for (size_t i = 0; i < n; ++i) fov[i] = region[i] == best;

  // Fill holes: background not reachable from the border becomes field of view.
  region.assign(n, -1);
  const auto outside = [&](size_t j) { return !fov[j]; };
  for (int x = 0; x < w; ++x)
    for (size_t i : {size_t(x), size_t(h - 1) * w + x})
      if (!fov[i] && region[i] == -1) flood(i, 0, outside);
  for (int y = 0; y < h; ++y)
    for (size_t i : {size_t(y) * w, size_t(y) * w + w - 1})
      if (!fov[i] && region[i] == -1) flood(i, 0, outside);
  for (size_t i = 0; i < n; ++i)
    if (!fov[i] && region[i] == -1) fov[i] = 1;
  return fov;
}

}  // namespace seqnet
