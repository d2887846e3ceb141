// split.h: which images of a training run validate.
//
// Without folds (the original's way): a Fisher-Yates shuffle of the images drawn from the seed;
// the first max(1, round(val_fraction * n)) validate.
// With folds (cross-validation): each dataset's images, shuffled by the same stream, are dealt
// round the folds in turn, the deal continuing from one dataset to the next, so every fold holds
// its share of every dataset (stratified) and the folds differ in size by at most one; fold
// `fold` (1-based) validates. Over fold = 1..folds every image validates exactly once.
#pragma once

#include <cstdint>
#include <vector>

namespace seqnet {

struct SplitSettings {
  uint64_t seed = 0;          // of the shuffle
  double val_fraction = 0.1;  // without folds
  int folds = 0, fold = 0;    // folds >= 2: cross-validation, fold in [1, folds]
};

// dataset[i]: the dataset (0, 1, ...) of image i, the images in a fixed order (sorted paths).
// Returns validates[i]. Throws std::runtime_error when there are too few images for the split.
std::vector<bool> validation_images(const std::vector<int>& dataset, const SplitSettings& settings);

}  // namespace seqnet
