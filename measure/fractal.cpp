// fractal.cpp: box counting and density (fractal.h).
#include "measure/fractal.h"

#include <algorithm>
#include <cmath>

namespace seqnet::measure {

std::vector<int> box_sizes(int width, int height) {
  std::vector<int> sizes;
  for (int s = kSmallestBox; s <= std::min(width, height) / 8; s *= 2) sizes.push_back(s);
  return sizes;
}

std::string box_sizes_text(int width, int height) {
  const std::vector<int> s = box_sizes(width, height);
  if (s.empty()) return "none (image too small)";
  return std::to_string(s.front()) + "-" + std::to_string(s.back()) + " px, doubling";
}

double box_counting_dimension(const BinaryMask& mask) {
  const std::vector<int> sizes = box_sizes(mask.width, mask.height);
  if (sizes.size() < 3 || mask.count() == 0) return NAN;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int s : sizes) {
    const int bw = (mask.width + s - 1) / s, bh = (mask.height + s - 1) / s;
    std::vector<uint8_t> occupied(size_t(bw) * bh, 0);
    for (int y = 0; y < mask.height; ++y)
      for (int x = 0; x < mask.width; ++x)
        if (mask.on[size_t(y) * mask.width + x]) occupied[size_t(y / s) * bw + x / s] = 1;
    const double lx = std::log(1.0 / s), ly = std::log(double(std::count(occupied.begin(), occupied.end(), 1)));
    sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
  }
  const double n = double(sizes.size());
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

double density(const BinaryMask& mask, const std::vector<uint8_t>& fov) {
  const bool whole = std::find(fov.begin(), fov.end(), 1) == fov.end();
  double set = 0, area = 0;
  for (size_t i = 0; i < mask.on.size(); ++i)
    if (whole || fov[i]) set += mask.on[i], area += 1;
  return area > 0 ? set / area : NAN;
}

}  // namespace seqnet::measure
