// config.h: ModelConfig, the settings of docs/ARCHITECTURE.md with their defaults.
#pragma once

#include <string>

#include "preprocess/input_normalisation.h"

namespace seqnet {

enum class Norm { none, batch };

struct ModelConfig {
  int width = 32;           // channels at level 0; level l has width * 2^l
  // The classification branch's own width (0: the same as width). Not in the spec: the vessel map
  // is good at small widths where the artery/vein call still underfits (docs/MODEL.md), so the
  // capacity can go where it is missing. The JSON holds it only when set.
  int cls_width = 0;
  int depth = 5;            // UNet levels of each branch
  int refine_depth = 3;     // levels of the refiner's UNet
  int seg_iterations = 3;   // refiner iterations T of the segmentation branch
  int cls_iterations = 3;   // refiner iterations U of the classification branch
  Norm norm = Norm::batch;
  float dropout = 0.1f;
  // What the model sees of a photograph (preprocess/input_normalisation.h): the photograph as it
  // is (the spec's), or normalised per photograph in its field of view. Not part of the network:
  // the JSON holds it only when it is not "none", so the spec's models keep the peer's form.
  InputNorm input_norm = InputNorm::none;

  // Throws std::invalid_argument naming the setting that is out of range.
  void validate() const;
  // H and W must be multiples of this (2^(max(depth, refine_depth) - 1)).
  int size_multiple() const;
  int segmentation_width() const { return width; }
  int classification_width() const { return cls_width > 0 ? cls_width : width; }
  // {"width":32,"depth":5,...,"norm":"batch","dropout":0.1}: the form PyTorch's peer writes.
  std::string to_json() const;
  // Reads that form; absent keys keep their defaults, unknown keys are an error.
  static ModelConfig from_json(const std::string& json);
  std::string describe() const;  // one line for logs
};

}  // namespace seqnet
