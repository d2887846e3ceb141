// field_of_view.h: the field of view of a fundus photograph (the lit disc inside the black border),
// for datasets without mask files, for prediction, and for the per-photograph input normalisation.
#pragma once

#include <cstdint>
#include <vector>

#include "io/image.h"

namespace seqnet {

// Pixels brighter than 10% of the bright end, the largest connected region of them, holes filled.
// 0/1 per pixel.
std::vector<uint8_t> compute_fov(const Image& rgb);

}  // namespace seqnet
