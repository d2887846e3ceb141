// geometry_truth.h: the geometry a synthetic fundus was drawn with, as the numbers the vascular
// measures (measure/) should recover: the optic disc, the width of every vessel where it crosses
// the middle of zone B, and each vessel's tortuosity. Written beside each synthetic photograph as
// DIR/truth/NAME.json (docs/SYNTH.md, docs/MEASURES.md).
//
// Coordinates are the measures': a pixel's centre at the integer point (x, y) (the drawing puts
// it at (x + 0.5, y + 0.5)). A vessel's width is its label's: 2 r, the pixels within r of its axis.
#pragma once

#include <string>
#include <vector>

#include "synth/layout.h"
#include "synth/vessel_tree.h"

namespace seqnet::synth {

struct ZoneCrossing {
  bool artery = false;
  double x = 0, y = 0, width = 0;
  int vessel = -1;  // index into GeometryTruth::vessels
  int drawn = 1;    // how many drawn vessels it stands for (label_crossings merges some)
};

struct VesselTortuosity {
  bool artery = false;
  double length = 0, chord = 0;  // pixels, along the drawn polyline and end to end
};

struct GeometryTruth {
  double disc_x = 0, disc_y = 0;
  double disc_diameter = 0;           // horizontal; the disc is drawn 1.08 times taller than wide
  double zone_b_middle = 0;           // 1.25 disc diameters from the centre
  std::vector<ZoneCrossing> zone_b;   // every drawn vessel crossing that circle
  std::vector<ZoneCrossing> zone_b_label;  // the same as the label shows them (label_crossings)
  std::vector<VesselTortuosity> vessels;   // each vessel (a chain of segments, branch to end)
  std::vector<VesselSegment> segments;     // everything drawn, in the drawing's coordinates
  std::vector<int> segment_vessel;         // per segment, its index in `vessels`
};

GeometryTruth geometry_truth(const FundusLayout& layout, const std::vector<VesselSegment>& segments);

// Where the drawn vessels cross the circle of `radius` about (x, y) (the measures' coordinates),
// each with the width drawn there: one per crossing of a segment, so a vessel that crosses and
// crosses back counts twice, and the two vessels just past a fork count as two.
std::vector<ZoneCrossing> circle_crossings(const GeometryTruth& truth, double x, double y, double radius);

// The crossings of the circle of `radius` as a label shows them: synth at times draws two vessels
// of one class over each other for a stretch (two veins leaving the disc together), and the
// label then holds one vessel as wide as both. Two crossings of one class are one where their
// drawn extents on the circle touch (centres less than (w1 + w2) / 2 + kLabelTouchGap apart along
// it) and the same two vessels touch on the circle of `inner_radius` too (zone B's inner edge):
// they run together across the zone, where the two branches just past a fork part within it. The
// merged crossing spans both, edge to edge along the circle (the vessels near the disc run nearly
// radially, so that is across them).
inline constexpr double kLabelTouchGap = 1.0;  // pixels: a narrower gap between label edges may close
std::vector<ZoneCrossing> label_crossings(const GeometryTruth& truth, double x, double y, double radius,
                                          double inner_radius);

// As JSON, with distance factors (length / chord, length-weighted over vessels of at least 20 px)
// per class.
std::string geometry_truth_json(const GeometryTruth& truth);

}  // namespace seqnet::synth
