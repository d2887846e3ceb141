// inference.h: predicting one photograph with a trained SeqNet: vessel, artery and vein
// probability maps at the photograph's own resolution (docs/ARCHITECTURE.md, "Settings and their defaults").
//
// The photograph is resized (bilinear) to size x size, the model runs on it either whole or in
// overlapping tiles averaged where they overlap (the original's way), and the maps are resized
// (bilinear) back to the photograph's width and height. With `flips` the model also sees the
// image mirrored left-right, top-bottom and both; each result is mirrored back and the four are
// averaged (4x the work; the model was trained with such flips, so each is a fair second opinion).
#pragma once

#include <vector>

#include "io/image.h"
#include "model/seqnet.h"

namespace seqnet {

struct InferenceSettings {
  int size = 576;      // working size: the photograph becomes size x size
  bool tiled = false;  // false: one forward over the whole image; true: tile x tile windows
  int tile = 128;      // window side (a multiple of the model's size_multiple)
  int stride = 64;     // step between windows; the last row/column is aligned to the border
  bool flips = false;  // test-time augmentation: average the maps of the image and its three flips

  // Throws std::invalid_argument naming the setting that is out of range for `config`.
  void validate(const ModelConfig& config) const;
};

// Probabilities in [0, 1], width * height each, row-major.
struct Prediction {
  int width = 0, height = 0;
  std::vector<float> vessel, artery, vein;
};

// Runs `model` (evaluation mode) on `photo` (any channel count to_rgb accepts) and returns the
// maps at photo.width x photo.height. Throws std::invalid_argument for bad settings and
// ImageError for an image to_rgb cannot use.
Prediction predict_image(SeqNet& model, const Image& photo, const InferenceSettings& settings);

// The same for several photographs (of any sizes: each becomes size x size): whole-image
// prediction runs them through the model as one batch, tiled prediction one photograph's windows
// at a time (with flips: one batch per mirroring). Each result is predict_image's for that
// photograph alone; whole-image results may
// differ from it in float rounding (a batch's convolutions are split into different GEMMs).
std::vector<Prediction> predict_images(SeqNet& model, const std::vector<Image>& photos,
                                       const InferenceSettings& settings);

// An ensemble: every model of `models` (at least one) predicts every photograph as above, each
// seeing the photograph as it was trained to (its own input normalisation), and the three maps
// are the mean of the models' maps, taken at the working size before the resize back. Models
// trained apart make partly independent errors, so their mean can be right where one of them is
// not; averaging a weaker model into a stronger one did not pay (docs/MODEL.md, "Ensembles"). It
// costs one forward per model.
std::vector<Prediction> predict_images(const std::vector<SeqNet*>& models, const std::vector<Image>& photos,
                                       const InferenceSettings& settings);

}  // namespace seqnet
