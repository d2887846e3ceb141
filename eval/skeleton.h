// skeleton.h: binary masks, 8-connected components and a topology-keeping one-pixel skeleton
// (steps 1 and 2 of eval/postprocess.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace seqnet {

// A width x height mask, row-major; pixels outside the image read as unset.
struct BinaryMask {
  int width = 0, height = 0;
  std::vector<uint8_t> on;  // height * width, 1 = set

  BinaryMask() = default;
  BinaryMask(int w, int h) : width(w), height(h), on(size_t(w) * size_t(h), 0) {}
  bool inside(int x, int y) const { return x >= 0 && y >= 0 && x < width && y < height; }
  bool get(int x, int y) const { return inside(x, y) && on[size_t(y) * width + x]; }
  void set(int x, int y, bool value) { on[size_t(y) * width + x] = value; }
  int count() const;
};

// The 8 neighbours in Zhang-Suen order P2..P9: N, NE, E, SE, S, SW, W, NW.
inline constexpr int kNeighbourDx[8] = {0, 1, 1, 1, 0, -1, -1, -1};
inline constexpr int kNeighbourDy[8] = {-1, -1, 0, 1, 1, 1, 0, -1};

// Number of set 8-neighbours of (x, y).
int count_neighbours(const BinaryMask& mask, int x, int y);

// 8-connected components: label[pixel] = component id (0..sizes.size()-1) or -1 where unset.
struct Components {
  std::vector<int32_t> label;
  std::vector<int64_t> sizes;
};
Components label_components(const BinaryMask& mask);

// Step 1: unsets every 8-connected component smaller than min_pixels; returns how many it removed.
int remove_small_components(BinaryMask& mask, int min_pixels);

// Step 2, in parts (skeletonize runs them in order):
// Zhang-Suen thinning (Zhang and Suen 1984, two sub-iterations until nothing changes).
void thin_zhang_suen(BinaryMask& mask);
// Zhang-Suen leaves staircase corners where a pixel has 3 neighbours without being a junction.
// This unsets every pixel that is 8-simple (Yokoi connectivity number 1: removing it changes no
// connection and opens no hole) and is not an end point, raster order, until nothing changes.
void remove_redundant_pixels(BinaryMask& mask);
// Unsets spurs: runs from an end point to a junction pixel (3+ neighbours) shorter than
// min_length pixels. A piece with end points at both ends is a whole vessel and stays.
void prune_spurs(BinaryMask& mask, int min_length);

// The skeleton of `shape`: thinned, minimal, spurs shorter than spur_length pruned. A component
// that thinning erased entirely (Zhang-Suen deletes a 2x2 core) keeps its pixel nearest its
// centroid, so every component of `shape` has a skeleton.
BinaryMask skeletonize(const BinaryMask& shape, int spur_length);

}  // namespace seqnet
