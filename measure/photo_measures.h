// photo_measures.h: every measure of one photograph (the optic disc, CRAE, CRVE, AVR, widths,
// tortuosity, fractal dimension, density, branch points), each with a quality flag, and the
// table's columns. docs/MEASURES.md defines each column; the files beside this one compute them.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "measure/calibre.h"
#include "measure/measure_input.h"
#include "measure/optic_disc.h"
#include "measure/tortuosity.h"

namespace seqnet::measure {

// Scale: micrometres per pixel from the user (--pixel-size), else from the camera's field of view
// in degrees at kMicrometresPerDegree (Drasdo and Fowler 1974: about 0.29 mm of retina per degree
// near the posterior pole) over the field of view's diameter in pixels, else from the disc,
// assumed kAssumedDiscMicrometres across (a typical adult disc: Jonas et al. 1988 report a mean
// area of 2.7 mm^2, 1.85 mm across). The table's scale_source says which.
inline constexpr double kMicrometresPerDegree = 288.0;
inline constexpr double kAssumedDiscMicrometres = 1800.0;

struct ScaleOption {
  double pixel_size_um = 0;  // > 0 when given
  double fov_degrees = 0;    // > 0 when given
};

struct ClassMeasures {  // for all vessels, arteries or veins
  double width_median = NAN;  // pixels, median width over the centre-line points
  Tortuosity tortuosity;
  double fractal_dimension = NAN, density = NAN;
  int segments = 0;
};

struct PhotoMeasures {
  int width = 0, height = 0;
  double brightness = 0;  // mean luminance in the field of view
  bool too_dark = false;
  OpticDisc disc;
  double um_per_px = NAN;
  std::string scale_source;  // "pixel-size", "fov-degrees", "disc-diameter", "none"
  double crae = NAN, crve = NAN, avr = NAN;  // pixels (AVR has no unit)
  int arteries_in_zone_b = 0, veins_in_zone_b = 0;
  std::vector<ZoneVessel> measured_arteries, measured_veins;  // the widest six of each, for CRAE/CRVE
  ClassMeasures all, artery, vein;
  int branch_points = 0, crossings = 0;  // nodes of the centre-line graph with 3, and 4 or more, segments
  std::string box_sizes;
  std::string disc_quality, crae_quality, crve_quality, avr_quality, vessel_quality;  // "ok" or flags joined by ';'
};

// The lengths centre lines are traced with, tuned on DRIVE (a field of view ~540 px across) and
// grown with the field of view's diameter `fov_d`: components under 30 px (x (fov_d / 540)^2)
// dropped, spurs under 5 px (x fov_d / 540) pruned, profiles out to 0.05 fov_d (10 px at least).
TraceLengths lengths_for(double fov_d);

// Throws MeasureInputError for inconsistent inputs (check_input); an empty vessel map or a dark
// photograph gives flags, not an error.
PhotoMeasures measure_photograph(const MeasureInput& in, const ScaleOption& scale);

// The table: the names of the measure columns and one photograph's values (blank where none).
std::vector<std::string> measure_column_names();
std::vector<std::string> measure_column_values(const PhotoMeasures& m);

}  // namespace seqnet::measure
