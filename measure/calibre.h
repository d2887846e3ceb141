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
// Each class is measured on its own map (class_vessel_map): P(vessel) where the pixel is of the
// class, 0 elsewhere, so an artery running beside or over a vein stays two vessels with two
// widths; on the vessel map alone they merge into one, measured once, as the wider class.
// A vessel of zone B is a place where a centre line (centre_lines.h) of that map crosses the
// middle circle of zone B (1.25 disc diameters from the disc centre), so a vessel split into
// several segments by junctions inside the zone counts once, as graders count vessels crossing
// the zone; a segment ending at a junction is followed to the junction's centroid, so a crossing
// that falls inside a junction counts too. Its width is the interquartile mean
// (vessel_width.h) of the widths along the line within half the zone's width (0.25 D) of the
// crossing and inside the zone, leaving out the points within (width + 2) pixels of a junction,
// where the profile runs into the other vessels (unless fewer than kMinZonePoints are left and
// the crossing is not inside a junction); it needs kMinZonePoints points. A crossing on a segment
// too short for that is measured on the segments carrying its vessel on through its junctions.
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
// A segment carries a short one's vessel on through a junction when it leaves within this many
// degrees of straight on and its median width is within this fraction of the short one's.
inline constexpr double kMaxContinuationDegrees = 45;
inline constexpr double kContinuationWidthRatio = 0.3;

// Knudtson's summary of `widths` (any count; the caller takes the widest six) with the constant
// `factor`: NAN for none, the width itself for one.
double knudtson_summary(std::vector<double> widths, double factor);

struct ZoneVessel {
  int segment = -1;       // in the class's CentreLines::graph
  bool artery = false;    // else vein
  double width = 0;       // pixels: median width in the zone
  Point2 at;              // the zone B point nearest the middle of the zone, for drawing
  Point2 direction;       // the centre line's direction there
};

// The map one class is measured on: P(vessel) where the pixel is of the class, else 0. A pixel is
// of the class when its P(class) is at least the other class's, as predict's out_final draws it;
// ties are both (a label's crossing, green, is 1 and 1; its uncertain white 0.5 and 0.5).
std::vector<float> class_vessel_map(const MeasureInput& in, bool artery);

// Every vessel of one class crossing the middle of `zone`, widest first: `lines` traced on the
// class's map, `widths` its widths_along per line (NAN for lines not measured).
std::vector<ZoneVessel> vessels_in_zone(const CentreLines& lines, const std::vector<std::vector<double>>& widths,
                                        const OpticDisc& disc, const Zone& zone, bool artery);

// The lengths centre lines and widths are traced with (photo_measures.cpp scales them with the
// field of view).
struct TraceLengths {
  int min_component_pixels = 30, spur_pixels = 5;
  double max_half_width = 10;
};

// Every artery (or vein) crossing zone B of `disc`, widest first, each class traced on its own
// map.
std::vector<ZoneVessel> zone_b_vessels(const MeasureInput& in, const OpticDisc& disc, const TraceLengths& lengths,
                                       bool artery);

// The widest kKnudtsonVessels of `vessels` (widest first).
std::vector<ZoneVessel> widest(const std::vector<ZoneVessel>& vessels);

// Knudtson's summary of the widest kKnudtsonVessels of `vessels`, with the class's constant.
double calibre_equivalent(const std::vector<ZoneVessel>& vessels, bool artery);

}  // namespace seqnet::measure
