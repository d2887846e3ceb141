// postprocess.h: propagating confident artery/vein labels along the vessel tree, in 8 steps:
//   1. vessel mask: B = (S >= 0.5) inside the field of view, small 8-connected components dropped;
//   2. skeleton: one pixel wide, topology kept (skeleton.h), short spurs pruned;
//   3. graph: touching junction pixels (3+ skeleton neighbours) form a node; removing them cuts
//      the skeleton into segments (vessel_graph.h);
//   4. ownership: each vessel pixel belongs to the segment of its nearest skeleton pixel;
//   5. segment evidence: z = mean of (A - V) over its pixels, confidence |z|, label sign(z);
//   6. continuations: at a node, segments within a set angle of straight continue each other;
//      a crossing's two straightest pairs are its two vessels, a bifurcation's three share a label;
//   7. propagation: confident segments (anchors) keep their label; labels travel along
//      continuations with their confidence decayed per hop, and the stronger claim wins;
//   8. output: every vessel pixel takes its segment's label, A and V rewritten to match.
// Every threshold is a field of PostprocessSettings with its default; where this code departs
// from the usual reading, docs/POSTPROCESSING.md says why and with which measurements.
#pragma once

#include <cstdint>
#include <vector>

namespace seqnet {

struct Continuations;  // vessel_graph.h

// Lengths and areas are in pixels of the image the model worked on; pixel_scale converts them to
// the pixels of the maps given (see scaled_to_image).
struct PostprocessSettings {
  float vessel_threshold = 0.5f;        // step 1: B = (S >= this) inside the FOV
  int min_component_pixels = 30;        // step 1: smaller 8-connected components are dropped
  int min_spur_pixels = 5;              // step 2: shorter spurs are pruned
  int direction_pixels = 10;            // step 6: skeleton pixels nearest a node that fit a direction
  double straightness_degrees = 30.0;   // step 6: continuation within this of straight (180 deg)
  double crossing_node_distance = 8.0;  // step 6: two 3-nodes closer than this form one crossing
  double anchor_confidence = 0.3;       // step 7: segments with |mean(A - V)| >= this are anchors
  // Step 7: a claim's confidence is multiplied by this per hop. The spec's default is 0.9; 0.5
  // keeps a label within about two links of its anchor, beyond which a link chain is more often
  // wrong than the segment's own evidence (docs/POSTPROCESSING.md, measured on 31 images).
  double hop_decay = 0.5;
  // Image pixels per working pixel. The model sees every photograph at size x size and its maps
  // are resized back, so a 1620-pixel LES-AV map carries 576-pixel detail: its vessels are ~2.7x
  // wider, a crossing's two 3-way nodes ~2.7x further apart. 1 leaves the thresholds as they are.
  double pixel_scale = 1.0;
};

// The settings in pixels of a width x height map predicted at working_size x working_size:
// pixel_scale = sqrt(width * height) / working_size (the geometric mean of the two axes' factors).
PostprocessSettings scaled_to_image(PostprocessSettings settings, int width, int height, int working_size);

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
//   - every other pixel keeps its pixel-wise A and V, the dropped small components included (the
//     post-processing has no better label for them, and A = V = 0 would read as artery under the
//     evaluation's "artery iff A >= V").
// The thresholds are applied multiplied by settings.pixel_scale (areas by its square).
// Throws std::invalid_argument when a size does not match width * height.
PostprocessStats propagate_av_labels(std::vector<float>& artery, std::vector<float>& vein,
                                     const std::vector<float>& vessel, const std::vector<uint8_t>& fov,
                                     int width, int height, const PostprocessSettings& settings = {});

enum class AVLabel : int8_t { none = 0, artery = 1, vein = 2 };

// Step 7 on its own (exposed for tests): every segment's label from its score z (mean of A - V)
// and the links of step 6; `anchors` is set to the number of anchors.
std::vector<AVLabel> propagate_segment_labels(const std::vector<double>& z, const Continuations& links,
                                              const PostprocessSettings& settings, int& anchors);

}  // namespace seqnet
