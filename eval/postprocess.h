// postprocess.h: propagating confident artery/vein labels along the vessel tree
// (spec/POSTPROCESS.md). Every threshold of that page is a field here with its default.
#pragma once

#include <cstdint>
#include <vector>

namespace seqnet {

struct PostprocessSettings {
  float vessel_threshold = 0.5f;        // step 1: B = (S >= this) inside the FOV
  int min_component_pixels = 30;        // step 1: smaller 8-connected components are dropped
  int min_spur_pixels = 5;              // step 2: shorter spurs are pruned
  int direction_pixels = 10;            // step 6: skeleton pixels nearest a node that fit a direction
  double straightness_degrees = 30.0;   // step 6: continuation within this of straight (180 deg)
  double crossing_node_distance = 8.0;  // step 6: two 3-nodes closer than this form one crossing
  double anchor_confidence = 0.3;       // step 7: segments with |mean(A - V)| >= this are anchors
  double hop_decay = 0.9;               // step 7: a claim's confidence is multiplied by this per hop
};

// What the post-processing found, for logging.
struct PostprocessStats {
  int components_removed = 0;  // step 1: components under min_component_pixels
  int vessel_pixels = 0;       // pixels of B after step 1
  int segments = 0, nodes = 0;
  int crossings = 0, bifurcations = 0;
  int anchors = 0;
  int relabelled_pixels = 0;   // vessel pixels whose label differs from the pixel-wise A >= V
};

// Rewrites artery and vein (H*W row-major, like vessel and fov) by steps 1-8:
//   - vessel pixels (B) get their segment's label: A = S, V = 0 (artery) or A = 0, V = S (vein);
//   - pixels of the dropped small components get A = V = 0 (they are not vessel);
//   - every other pixel keeps its pixel-wise A and V.
// Throws std::invalid_argument when a size does not match width * height.
PostprocessStats propagate_av_labels(std::vector<float>& artery, std::vector<float>& vein,
                                     const std::vector<float>& vessel, const std::vector<uint8_t>& fov,
                                     int width, int height, const PostprocessSettings& settings = {});

}  // namespace seqnet
