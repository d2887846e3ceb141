// centre_lines.h: the vessels' centre lines as ordered point lists: the vessel mask (P >= 0.5 in
// the field of view), its skeleton (eval/skeleton.h) cut at junctions into segments
// (eval/vessel_graph.h), each segment's pixels put in order from one end to the other.
#pragma once

#include <cstdint>
#include <vector>

#include "eval/skeleton.h"
#include "eval/vessel_graph.h"
#include "measure/measure_input.h"

namespace seqnet::measure {

struct Point2 {
  double x = 0, y = 0;
};

struct CentreLines {
  BinaryMask vessels;                     // P(vessel) >= 0.5 inside the field of view (if it has one)
  VesselGraph graph;                      // nodes (junctions) and segments of the skeleton
  std::vector<std::vector<Point2>> lines;  // per segment of `graph`, its pixels end to end
};

// Components under `min_component_pixels` are dropped (noise, not vessels); spurs shorter than
// `spur_pixels` are pruned (a vessel's edge bumps, not branches).
CentreLines trace_centre_lines(const MeasureInput& in, int min_component_pixels, int spur_pixels);
// The same for any width x height probability map (`fov` as MeasureInput's).
CentreLines trace_centre_lines(const std::vector<float>& map, const std::vector<uint8_t>& fov, int width, int height,
                               int min_component_pixels, int spur_pixels);

// The pixels of one segment in order along it, from an end (from any pixel when it is a loop).
std::vector<Point2> ordered_segment(const VesselGraph& graph, int32_t segment);

}  // namespace seqnet::measure
