// vessel_width.cpp: widths from perpendicular profiles (vessel_width.h).
#include "measure/vessel_width.h"

#include <algorithm>

namespace seqnet::measure {

double sample_bilinear(const std::vector<float>& map, int width, int height, double x, double y) {
  const int x0 = int(std::floor(x)), y0 = int(std::floor(y));
  const double fx = x - x0, fy = y - y0;
  auto at = [&](int px, int py) -> double {
    return px < 0 || py < 0 || px >= width || py >= height ? 0.0 : map[size_t(py) * width + px];
  };
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

namespace {

// Distance from `centre` along the unit vector (ux, uy) to where P falls below 0.5; NAN beyond `reach`.
double half_crossing(const std::vector<float>& map, int width, int height, Point2 centre, double ux, double uy,
                     double reach) {
  double previous = sample_bilinear(map, width, height, centre.x, centre.y);
  for (double t = kProfileStep; t <= reach; t += kProfileStep) {
    const double value = sample_bilinear(map, width, height, centre.x + t * ux, centre.y + t * uy);
    if (value < 0.5) return t - kProfileStep * (0.5 - value) / (previous - value);
    previous = value;
  }
  return NAN;
}

}  // namespace

double width_across(const std::vector<float>& map, int width, int height, Point2 centre, Point2 direction,
                    double max_half_width) {
  if (sample_bilinear(map, width, height, centre.x, centre.y) < 0.5) return NAN;
  const double length = std::hypot(direction.x, direction.y);
  const double ux = -direction.y / length, uy = direction.x / length;  // the normal
  return half_crossing(map, width, height, centre, ux, uy, max_half_width) +
         half_crossing(map, width, height, centre, -ux, -uy, max_half_width);
}

std::vector<double> widths_along(const std::vector<float>& map, int width, int height, const std::vector<Point2>& line,
                                 double max_half_width) {
  const int n = int(line.size());
  std::vector<double> widths(n, NAN);
  if (n < 2) return widths;
  for (int i = 0; i < n; ++i) {
    const Point2 a = line[std::max(0, i - kDirectionReach)], b = line[std::min(n - 1, i + kDirectionReach)];
    widths[i] = width_across(map, width, height, line[i], {b.x - a.x, b.y - a.y}, max_half_width);
  }
  return widths;
}

double median_of_measured(std::vector<double> values) {
  std::erase_if(values, [](double v) { return std::isnan(v); });
  if (values.empty()) return NAN;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  if (values.size() % 2) return values[mid];
  return 0.5 * (values[mid] + *std::max_element(values.begin(), values.begin() + mid));
}

double interquartile_mean(std::vector<double> values) {
  std::erase_if(values, [](double v) { return std::isnan(v); });
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  // Value i covers [i, i + 1) of [0, n); the middle half is [n/4, 3n/4).
  const double n = double(values.size()), from = n / 4, to = 3 * n / 4;
  double sum = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double overlap = std::min(to, i + 1.0) - std::max(from, double(i));
    if (overlap > 0) sum += overlap * values[i];
  }
  return sum / (to - from);
}

}  // namespace seqnet::measure
