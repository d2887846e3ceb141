// vessel_width.h: a vessel's width along its centre line, from perpendicular profiles of the
// vessel probability map, to a fraction of a pixel.
//
// At a centre-line point the profile P(t) = P(centre + t n) is sampled every kProfileStep pixels
// (bilinear between pixel centres) outward on both sides along the normal n until it falls below
// 0.5; each crossing is placed by linear interpolation between the last two samples, and the
// width is the distance between the two crossings: the full width at half maximum of a map whose
// vessel is 1 and background 0, the same 0.5 that decides what is vessel. An edge smoothed over a
// pixel or two (anti-aliasing, the model's soft edges) is symmetric about the true edge, so its
// 0.5 crossing is the edge. The normal is square to the chord from kDirectionReach points
// before to as many after: a pixel staircase tilts that chord by at most atan(1 / 16) = 3.6
// degrees, and a tilted profile reads w / cos(tilt), under 0.2% wide; on a circle the chord is
// parallel to the tangent at its middle. (Taking the narrowest of several tilted profiles
// instead reads a binary label low: each profile there is off by up to half a pixel either way,
// and the narrowest of nine picks the low ones, -0.08 px on average over synth's vessels.)
#pragma once

#include <cmath>
#include <vector>

#include "measure/centre_lines.h"

namespace seqnet::measure {

inline constexpr double kProfileStep = 0.1;     // pixels between profile samples
inline constexpr int kDirectionReach = 8;       // centre-line points either side that set the direction

// P at a real-valued point, bilinear between pixel centres; 0 outside the map.
double sample_bilinear(const std::vector<float>& map, int width, int height, double x, double y);

// The width at `centre` across `direction` (any length, not zero); NAN when P(centre) < 0.5 or
// no crossing lies within `max_half_width` on either side.
double width_across(const std::vector<float>& map, int width, int height, Point2 centre, Point2 direction,
                    double max_half_width);

// The width at every point of `line` (NAN where it cannot be measured); the direction at point i
// is that from point i - kDirectionReach to i + kDirectionReach (clipped at the ends).
std::vector<double> widths_along(const std::vector<float>& map, int width, int height, const std::vector<Point2>& line,
                                 double max_half_width);

// The median of the values that are not NAN; NAN when there are none.
double median_of_measured(std::vector<double> values);

// The interquartile mean of the values that are not NAN (the mean of the middle half, sorted:
// the quarter at each end dropped, fractions of a value weighted); NAN when there are none. As
// robust as the median to a few wild profiles (at a junction), but it averages: on a binary
// label each profile reads a whole number of pixels, floor(w) or ceil(w), in proportions whose
// mean is w as the vessel drifts across the pixel grid, where the median reads the majority, w
// rounded (2.4 px reads 2).
double interquartile_mean(std::vector<double> values);

}  // namespace seqnet::measure
