// tortuosity.cpp: distance factor and mean curvature (tortuosity.h).
#include "measure/tortuosity.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace seqnet::measure {

std::vector<Point2> smoothed(const std::vector<Point2>& line) {
  const int n = int(line.size()), reach = int(std::ceil(3 * kSmoothingSigma));
  std::vector<Point2> out(n);
  for (int i = 0; i < n; ++i) {
    double x = 0, y = 0, weight = 0;
    for (int j = std::max(0, i - reach); j <= std::min(n - 1, i + reach); ++j) {
      const double w = std::exp(-(j - i) * (j - i) / (2 * kSmoothingSigma * kSmoothingSigma));
      x += w * line[j].x, y += w * line[j].y, weight += w;
    }
    out[i] = {x / weight, y / weight};
  }
  return out;
}

Tortuosity tortuosity_of(const std::vector<Point2>& line) {
  Tortuosity t;
  const int n = int(line.size());
  if (n < kMinTortuosityPoints) return t;
  const std::vector<Point2> p = smoothed(line);
  auto distance = [](Point2 a, Point2 b) { return std::hypot(b.x - a.x, b.y - a.y); };
  for (int i = 1; i < n; ++i) t.arc_length += distance(p[i - 1], p[i]);
  const double chord = distance(p.front(), p.back());
  t.distance_factor = chord > 0 ? t.arc_length / chord : NAN;  // a closed loop has no chord

  const int k = kCurvatureReach;
  double turning = 0, length = 0;
  for (int i = k; i + k < n; ++i) {
    const double ax = p[i].x - p[i - k].x, ay = p[i].y - p[i - k].y;
    const double bx = p[i + k].x - p[i].x, by = p[i + k].y - p[i].y;
    const double la = std::hypot(ax, ay), lb = std::hypot(bx, by);
    if (la == 0 || lb == 0) continue;
    const double angle = std::atan2(std::abs(ax * by - ay * bx), ax * bx + ay * by);
    const double ds = distance(p[i], p[i + 1]);
    turning += angle / (0.5 * (la + lb)) * ds;
    length += ds;
  }
  t.mean_curvature = length > 0 ? turning / length : NAN;
  return t;
}

Tortuosity combined(const std::vector<Tortuosity>& parts) {
  Tortuosity t;
  double df = 0, curvature = 0, df_length = 0, curvature_length = 0;
  for (const Tortuosity& part : parts) {
    if (!std::isnan(part.distance_factor)) df += part.distance_factor * part.arc_length, df_length += part.arc_length;
    if (!std::isnan(part.mean_curvature))
      curvature += part.mean_curvature * part.arc_length, curvature_length += part.arc_length;
    t.arc_length += part.arc_length;
  }
  if (df_length > 0) t.distance_factor = df / df_length;
  if (curvature_length > 0) t.mean_curvature = curvature / curvature_length;
  return t;
}

}  // namespace seqnet::measure
