// dataset.h: finding image/label/mask triples in a folder and loading them as training targets.
//
// Layout: DIR/images, DIR/av and optionally DIR/mask, or the same under DIR/training (the
// original's data/ALL/training). Files pair by stem, ignoring the suffixes "_training", "_test",
// "_AVmanual", "_manual1" and "_mask" ("21_training.tif" + "21_training.png" + "21_training_mask.gif").
// Labels use the RITE colours (data/README.md): red artery, blue vein, green crossing, white
// uncertain, black background.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/label_class.h"
#include "io/image.h"
#include "preprocess/field_of_view.h"  // compute_fov, where a dataset has no masks

namespace seqnet {

struct DatasetItem {
  std::string image, label, mask;  // mask empty: the field of view is computed from the image
};

// All items in `dir`, sorted by image file name. Throws std::runtime_error naming the folder or
// file for: no images/ or av/ folder, an empty folder, an image without a label (or without a
// mask when a mask/ folder exists), a label or mask without an image, two files with one stem.
std::vector<DatasetItem> find_dataset(const std::string& dir);

// The items of several datasets together. Throws std::runtime_error naming both files when one
// photograph is given twice: the same file (--data DIR --data DIR/training) or the same bytes
// under two names; a duplicate would be trained on twice, or be in training and validation at once.
std::vector<DatasetItem> find_datasets(const std::vector<std::string>& dirs);

struct LabeledImage {
  Image rgb;                         // 3 channels, values in [0, 1]
  std::vector<uint8_t> vessel;       // 0/1 per pixel: any labelled pixel
  std::vector<uint8_t> artery;       // 0/1: red, green (crossing) or white (uncertain), as the original trains
  std::vector<uint8_t> vein;         // 0/1: blue only
  std::vector<uint8_t> fov;          // 0/1: inside the field of view
  std::vector<uint8_t> label_class;  // LabelClass per pixel
  int width = 0, height = 0;
  std::string name;                  // the image's file stem
};

// Reads one item. Throws ImageError (unreadable files) or std::runtime_error naming the file for a
// label whose size differs from the image's, or with more than 1% of pixels off the five colours.
LabeledImage load_labeled(const DatasetItem& item);

// Decodes label colours into `out` (vessel, artery, vein, label_class; sized to the label).
// `what` names the label in errors. Exposed for tests.
void decode_label_colours(const Image& label, const std::string& what, LabeledImage& out);

// Square size x size: the photograph bilinear, every label map nearest.
LabeledImage resize_labeled(const LabeledImage& item, int size);

}  // namespace seqnet
