// tortuosity.h: how much a vessel winds, two ways, from its centre line.
//
// The centre line's pixels form a staircase; it is first smoothed by a Gaussian of
// kSmoothingSigma points along the line (ends clipped), which leaves a curve of radius R with
// radius R exp(-sigma^2 / 2R^2) (under 1% smaller for R >= 25 px).
//   distance factor  DF = arc length / chord (1 for a straight vessel; Lotmar et al. 1979);
//   mean curvature   K  = sum |kappa_i| ds_i / sum ds_i, kappa_i = turning angle between the
//                    chords p[i-k]p[i] and p[i]p[i+k] divided by their mean length, k = kCurvatureReach
//                    (radians per pixel; 1/R on a circle, 0 on a straight line; Hart et al. 1999).
// A photograph's value is the length-weighted mean over its segments at least kMinTortuosityPoints long.
#pragma once

#include <cmath>
#include <vector>

#include "measure/centre_lines.h"

namespace seqnet::measure {

inline constexpr double kSmoothingSigma = 3.0;
inline constexpr int kCurvatureReach = 4;
inline constexpr int kMinTortuosityPoints = 20;

std::vector<Point2> smoothed(const std::vector<Point2>& line);

struct Tortuosity {
  double arc_length = 0;       // pixels, of the smoothed line
  double distance_factor = NAN;
  double mean_curvature = NAN;  // radians per pixel
};

// NANs for a line shorter than kMinTortuosityPoints.
Tortuosity tortuosity_of(const std::vector<Point2>& line);

// Length-weighted means of `parts` (those with values).
Tortuosity combined(const std::vector<Tortuosity>& parts);

}  // namespace seqnet::measure
