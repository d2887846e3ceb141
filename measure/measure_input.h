// measure_input.h: what one photograph is measured from: the vessel, artery and vein
// probabilities `seqnet predict` writes (out_seg, out_art, out_vei), or an expert's label read as
// probabilities 0 and 1, with the photograph's brightness and field of view, all at one size.
//
// Coordinates everywhere in measure/: x is the column, y the row, and a pixel's centre is at the
// integer point (x, y).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/image.h"

namespace seqnet::measure {

// A problem with the inputs of one photograph (the message names it); the photograph gets an
// error row, the others go on.
struct MeasureInputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct MeasureInput {
  int width = 0, height = 0;
  std::vector<float> vessel, artery, vein;  // P(vessel), P(artery), P(vein) per pixel, in [0, 1]
  std::vector<uint8_t> fov;                 // 1 inside the field of view
  std::vector<float> brightness;            // the photograph's luminance, in [0, 1]
};

// Luminance 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601) of an RGB or grey image.
std::vector<float> luminance(const Image& photo);

// The first channel of a grey probability map; MeasureInputError when it is not grey, or not
// width x height (`what` names the file).
std::vector<float> probability_map(const Image& map, int width, int height, const std::string& what);

// An expert's label (train/dataset.h's LabelClass per pixel) as probabilities: a labelled pixel is
// vessel; red artery, blue vein, green (a crossing) both, white (uncertain) half of each.
MeasureInput input_from_label_classes(const std::vector<uint8_t>& label_class, const Image& photo,
                                      const std::vector<uint8_t>& fov);

// MeasureInputError naming `name` unless every map has width x height pixels and the size is not zero.
void check_input(const MeasureInput& input, const std::string& name);

}  // namespace seqnet::measure
