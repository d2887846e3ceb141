// input_normalisation.h: what the model sees of a photograph. Models trained with
// `--input-norm fov` see each photograph with its slowly varying background removed and its
// contrast equalised inside the field of view (RRWNet's preprocessing), so that a dark camera, a
// bright one and uneven illumination give the network the same vessels. The setting is part of
// the model's configuration (model/config.h), so a weights file says which input it expects.
//
// Per channel c, with x the channel, m the field-of-view mask (0/1) and G a Gaussian of
// sigma = size / 57.6 (10 px at the 576 working size):
//   background  b = G * (x m) / G * m         (a blur that only averages pixels inside the field)
//   residual    r = x - b
//   spread      s = sqrt(mean over the field of r^2)
//   input       0.5 + r / (8 s), clipped to [0, 1] inside the field; 0 outside it
// 0.5 is "as bright as its surroundings"; vessels, darker than their background, fall below it;
// the range holds +-4 spreads, so clipping touches only glare and the darkest vessel centres.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/image.h"

namespace seqnet {

enum class InputNorm { none, fov };

std::string to_string(InputNorm norm);          // "none" or "fov"
InputNorm input_norm_from(const std::string&);  // throws std::invalid_argument

// Rewrites the RGB image `rgb` (3 channels, [0, 1]) in place as above; `fov` is its mask (one
// 0/1 value per pixel). An empty field of view leaves a black image.
void normalise_photograph(Image& rgb, const std::vector<uint8_t>& fov);

}  // namespace seqnet
