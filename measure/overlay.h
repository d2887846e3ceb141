// overlay.h: the picture a person checks the measures of a photograph with, in a second: the
// photograph dimmed, the disc (yellow circle), zone B (between the two white circles) and the
// outer edge of zone C (dashed grey), and each of the six widest arteries (red) and veins (blue)
// measured in zone B as a bar across the vessel exactly as long as its measured width, numbered
// A1.. and V1.. widest first, with the widths and CRAE, CRVE, AVR written above.
#pragma once

#include "io/image.h"
#include "measure/photo_measures.h"

namespace seqnet::measure {

// `photo` is the photograph the measures came from (RGB or grey, its size).
Image measures_overlay(const Image& photo, const PhotoMeasures& m);

}  // namespace seqnet::measure
