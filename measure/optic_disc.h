// optic_disc.h: where the optic disc is and how large, from the photograph and the vessel map, and
// the measurement zones it sets.
//
// The disc is the brightest region of a fundus photograph and the place where the large vessels
// converge. On a grid shrunk so the field of view is about 400 cells across, every cell scores
//   S = z(B) + z(V),
// B the mean brightness of non-vessel pixels in a square one expected disc diameter wide
// (0.15 x the field of view's diameter), V the mean vessel probability in it, z the standard score
// over the field of view. Around the best cell (within a third of that diameter) the rim is the
// circle whose inside is brightest against its outside: for each centre and radius r the edge
// score is mean(B over r - b .. r) - mean(B over r .. r + b), radial rings of non-vessel
// brightness, b = 15% of the expected radius, r from 0.3 to 1.0 expected diameters; centres on a
// grid of two cells, then around the best. The cup inside the disc has an edge of its own, at
// times the stronger, so the rim is the largest r (at the best centre) whose edge score is at
// least 0.85 of the best.
//
// How sure: contrast = mean B inside 0.8 r / mean B in the ring 1.5 r .. 2 r - 1, and agreement =
// 1 when the brightest square and the densest vessel square lie within one disc diameter of each
// other, falling to 0 at three. confidence = (min(1, contrast / 0.4) + agreement) / 2. The disc is
// not found (and not guessed) when the photograph is too dark, contrast < kMinDiscContrast, or no
// vessel passes through its rim zone.
#pragma once

#include <string>

#include "measure/measure_input.h"

namespace seqnet::measure {

inline constexpr double kExpectedDiscFraction = 0.15;  // disc diameter / field-of-view diameter (DRIVE: 80/540)
inline constexpr double kMinDiscContrast = 0.08;       // the disc must be 8% brighter than around it
inline constexpr double kTooDarkBrightness = 0.08;     // mean luminance in the field of view under this: too dark

struct OpticDisc {
  bool found = false;
  double x = 0, y = 0, diameter = 0;  // pixels of the photograph (the best guess even when not found)
  double contrast = 0, agreement = 0, confidence = 0;
  std::string problem;  // why it was not found ("" when found)
};

// The method, for the table's disc_method column.
inline constexpr const char* kDiscMethod = "brightest region + vessel convergence, rim by radial brightness edge";

// Mean luminance inside the field of view (the whole image when it has none).
double mean_brightness(const MeasureInput& in);

// The field of view's diameter in pixels, 2 sqrt(area / pi) (the shorter side when it has none).
double fov_diameter(const MeasureInput& in);

OpticDisc find_optic_disc(const MeasureInput& in);

// The zones, as distances from the disc centre: the margin lies at D/2 (D the disc diameter);
// zone B spans 0.5 to 1 D from the margin (D .. 1.5 D from the centre), zone C 0.5 to 2 D
// (D .. 2.5 D) (Knudtson et al. 2003; Hubbard et al. 1999).
struct Zone {
  double inner = 0, outer = 0;
  bool contains(double distance) const { return distance >= inner && distance <= outer; }
};
inline Zone zone_b(const OpticDisc& d) { return {d.diameter, 1.5 * d.diameter}; }
inline Zone zone_c(const OpticDisc& d) { return {d.diameter, 2.5 * d.diameter}; }

}  // namespace seqnet::measure
