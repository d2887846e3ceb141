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
};

struct VesselTortuosity {
  bool artery = false;
  double length = 0, chord = 0;  // pixels, along the drawn polyline and end to end
};

struct GeometryTruth {
  double disc_x = 0, disc_y = 0;
  double disc_diameter = 0;           // horizontal; the disc is drawn 1.08 times taller than wide
  double zone_b_middle = 0;           // 1.25 disc diameters from the centre
  std::vector<ZoneCrossing> zone_b;   // every vessel segment crossing that circle
  std::vector<VesselTortuosity> vessels;  // each vessel (a chain of segments, branch to end)
};

GeometryTruth geometry_truth(const FundusLayout& layout, const std::vector<VesselSegment>& segments);

// As JSON, with distance factors (length / chord, length-weighted over vessels of at least 20 px)
// per class.
std::string geometry_truth_json(const GeometryTruth& truth);

}  // namespace seqnet::synth
