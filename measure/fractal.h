// fractal.h: the box-counting (Minkowski-Bouligand) dimension of a vessel mask, and its density.
//
// The image is covered by a grid of s x s boxes (anchored at the top-left corner, partial boxes at
// the right and bottom edges included) for s = 2, 4, 8, ... up to the largest power of two not
// over min(width, height) / 8; N(s) counts the boxes holding a vessel pixel, and the dimension is
// the least-squares slope of log N(s) against log(1/s) (Mainster 1990; Liew et al. 2008). A
// straight line reads 1, a filled region 2; retinal trees about 1.4-1.5 (Liew et al. 2008).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/skeleton.h"

namespace seqnet::measure {

inline constexpr int kSmallestBox = 2;

// The box sides used for a width x height image (the table states them).
std::vector<int> box_sizes(int width, int height);
std::string box_sizes_text(int width, int height);  // e.g. "2-64 px, doubling"

// NAN when the mask is empty or the image allows fewer than three box sizes.
double box_counting_dimension(const BinaryMask& mask);

// Set pixels inside the field of view / pixels of the field of view (of the image when it has none).
double density(const BinaryMask& mask, const std::vector<uint8_t>& fov);

}  // namespace seqnet::measure
