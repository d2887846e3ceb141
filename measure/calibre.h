// calibre.h: the central retinal artery and vein equivalents (CRAE, CRVE) and their ratio (AVR)
// from the widest vessels crossing zone B, by the revised Knudtson formulas.
//
// Knudtson, Lee, Hubbard, Wong, Klein, Klein: "Revised formulas for summarizing retinal vessel
// diameters", Current Eye Research 27(3):143-149, 2003. The six widest arteries (or veins) are
// combined pairwise, the widest with the narrowest, the second widest with the second narrowest,
// and so on; with an odd count the middle one is carried over to the next round unchanged; the
// rounds repeat until one width is left:
//   arteries  W = 0.88 sqrt(w1^2 + w2^2)        veins  W = 0.95 sqrt(w1^2 + w2^2)
// Six widths take three rounds (6 -> 3 -> 2 -> 1). AVR = CRAE / CRVE.
//
// A vessel of zone B is a place where a centre line (centre_lines.h) crosses the middle circle of
// zone B (1.25 disc diameters from the disc centre), so a vessel split into several segments by
// junctions inside the zone counts once, as graders count vessels crossing the zone. Its width is
// the median of the widths (vessel_width.h) along the line within half the zone's width (0.25 D)
// of the crossing and inside the zone, leaving out the points within (width + 2) pixels of a
// junction, where the profile runs into the other vessels (unless fewer than kMinZonePoints are
// left); it needs kMinZonePoints points. Its
// class is that of the larger of mean P(artery) and mean P(vein) at those points (ties: artery, as
// predict's out_final draws them).
#pragma once

#include <vector>

#include "measure/centre_lines.h"
#include "measure/optic_disc.h"
#include "measure/vessel_width.h"

namespace seqnet::measure {

inline constexpr double kKnudtsonArtery = 0.88;
inline constexpr double kKnudtsonVein = 0.95;
inline constexpr int kKnudtsonVessels = 6;  // the widest six of each class
inline constexpr int kMinZonePoints = 5;    // measured centre-line points for a vessel to count

// Knudtson's summary of `widths` (any count; the caller takes the widest six) with the constant
// `factor`: NAN for none, the width itself for one.
double knudtson_summary(std::vector<double> widths, double factor);

struct ZoneVessel {
  int segment = -1;       // in CentreLines::graph
  bool artery = false;    // else vein
  double width = 0;       // pixels: median width in the zone
  Point2 at;              // the zone B point nearest the middle of the zone, for drawing
  Point2 direction;       // the centre line's direction there
};

// Every vessel crossing the middle of `zone`, widest first. `widths` holds widths_along for each line.
std::vector<ZoneVessel> vessels_in_zone(const MeasureInput& in, const CentreLines& lines,
                                        const std::vector<std::vector<double>>& widths, const OpticDisc& disc,
                                        const Zone& zone);

// The widest kKnudtsonVessels vessels of one class among `vessels` (widest first).
std::vector<ZoneVessel> widest_of_class(const std::vector<ZoneVessel>& vessels, bool artery);

}  // namespace seqnet::measure
