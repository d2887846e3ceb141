// error_map.h: a picture of where an artery/vein map is right and wrong against the ground truth,
// for looking at failure cases (`seqnet evaluate --errors DIR`).
//
// Inside the field of view, by the rules eval/metrics.h scores with:
//   green   ground-truth artery or vein pixel called right (artery where P_art >= P_vein)
//   red     ground-truth artery or vein pixel called the other class
//   grey    a pixel the model calls vessel (P_vessel >= 0.5) where the ground truth has none
//   black   everything else (background, crossings and uncertain pixels, outside the FOV)
// The "all" accuracy of eval/metrics.h is green / (green + red).
#pragma once

#include <cstdint>
#include <span>

#include "io/image.h"

namespace seqnet {

// All maps are width*height, row-major; probabilities in [0, 1], classes LabelClass values.
// Throws std::invalid_argument when a size differs.
Image artery_vein_error_map(std::span<const float> artery_prob, std::span<const float> vein_prob,
                            std::span<const float> vessel_prob, std::span<const uint8_t> classes,
                            std::span<const uint8_t> fov, int width, int height);

}  // namespace seqnet
