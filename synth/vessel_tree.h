// vessel_tree.h: growing the artery and vein trees of a synthetic fundus.
//
// Each vessel is a polyline grown step by step from the optic disc: its direction follows a
// smooth random walk (the curvature itself wanders and relaxes back to zero), its radius tapers
// slowly, and every few dozen pixels it gives off a branch whose radius obeys Murray's law
// (r_parent^3 = r_continuing^3 + r_branch^3). The main trunks run like the real ones: two
// temporal arcades arching above and below the macula, two nasal vessels, and a few small ones.
// A vessel ends when it becomes thinner than about a pixel, reaches the edge of the field of
// view, or enters the avascular zone around the fovea.
#pragma once

#include <vector>

#include "synth/layout.h"
#include "synth/random.h"

namespace seqnet::synth {

enum class VesselType { artery, vein };

// One straight piece of a vessel; the radius varies linearly from r0 at (x0,y0) to r1 at (x1,y1).
struct VesselSegment {
  double x0, y0, x1, y1;
  double r0, r1;
  VesselType type;
};

// All segments of both trees (arteries and veins), in the order they were grown.
std::vector<VesselSegment> grow_vessel_trees(const FundusLayout& layout, Random& random);

}  // namespace seqnet::synth
