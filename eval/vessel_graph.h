// vessel_graph.h: the skeleton as a graph of nodes and segments (step 3 of eval/postprocess.h) and
// which segments continue each other at the nodes (step 6).
#pragma once

#include <cstdint>
#include <vector>

#include "eval/postprocess.h"
#include "eval/skeleton.h"

namespace seqnet {

struct VesselGraph {
  int width = 0, height = 0;
  std::vector<int32_t> segment_of;                  // per pixel: segment id of a segment pixel, else -1
  std::vector<int32_t> node_of;                     // per pixel: node id of a junction pixel, else -1
  std::vector<std::vector<int32_t>> segment_pixels;  // pixel indices (y * width + x)
  std::vector<std::vector<int32_t>> node_pixels;
  std::vector<std::vector<int32_t>> node_segments;   // segments touching each node, each once
  std::vector<std::vector<int32_t>> segment_nodes;   // nodes touching each segment, each once
};

// Step 3: junction pixels (3+ skeleton neighbours) merged 8-connectedly into nodes; the rest of the
// skeleton split into 8-connected segments.
VesselGraph build_vessel_graph(const BinaryMask& skeleton);

// Step 6: links between segments that carry one vessel through a node.
struct Continuations {
  std::vector<std::vector<int32_t>> linked;  // per segment, the segments it shares a label with
  int crossings = 0, bifurcations = 0;
};
Continuations find_continuations(const VesselGraph& graph, const PostprocessSettings& settings);

// Unit direction of `segment` leaving `node`: the principal axis of its `pixel_count` skeleton
// pixels nearest the node (along the segment), pointing away from the node. (0, 0) when undefined.
struct Direction {
  double x = 0, y = 0;
};
Direction direction_at_node(const VesselGraph& graph, int32_t segment, int32_t node, int pixel_count);

// How far two directions leaving one place are from continuing straight, in degrees: 0 when
// opposite (a straight vessel), 180 when equal. 180 when either is undefined.
double deviation_from_straight(const Direction& a, const Direction& b);

}  // namespace seqnet
