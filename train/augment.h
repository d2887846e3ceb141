// augment.h: the original SeqNet's random augmentation (utils/data_augmentation.py) and random crops.
//
// Colour first, each with its own coin: brightness img*a, contrast a*img + (1-a)*mean luminance,
// saturation a*img + (1-a)*luminance (a = 1 + U(-0.2, 0.2), clipped to [0,1]). Then geometry,
// composed into one affine map about the image centre in the original's order: rotation,
// shear, horizontal flip, vertical flip, shift, zoom. The photograph is sampled bilinear, the
// label maps nearest; whatever comes from outside the picture is 0 (black, background, outside
// the field of view).
//
// A hue jitter (off in the original's settings) turns each colour about the grey axis of RGB by
// 2 pi U(-h, h): greys stay grey, and h = 0.02 is RRWNet's "hue +-0.02" of the colour circle.
//
// Reading of the spec's "shear 0.05": 0.05 is the probability, as for "shift +-10% 0.05"; the
// amount is the original's intensity_range (-5, 5) degrees. (The original draws
// uniform(-(-5), 5), i.e. always +5 degrees, a slip; we draw U(-5, 5) degrees as it meant.)
#pragma once

#include <random>
#include <string>

#include "train/dataset.h"

namespace seqnet {

struct AugmentSettings {
  bool enabled = true;
  double brightness = 0.2, brightness_p = 0.5;  // factor 1 + U(-b, b)
  double contrast = 0.2, contrast_p = 0.5;
  double saturation = 0.2, saturation_p = 0.5;
  double hue = 0, hue_p = 0;                     // fraction of the colour circle, U(-h, h)
  double rotation_deg = 180, rotation_p = 0.5;  // U(-r, r)
  double shear_deg = 5, shear_p = 0.05;         // U(-s, s)
  double hflip_p = 0.5, vflip_p = 0.5;
  double shift = 0.1, shift_p = 0.05;           // U(-s, s) of the size, per axis
  double zoom_min = 0.8, zoom_max = 1.2, zoom_p = 0.05;  // U(min, max) per axis
};

// Named settings for `seqnet train --augment`:
// - original: the spec's (the defaults above).
// - strong: RRWNet's wider ranges (docs/MODEL.md): zoom 0.7-1.3 and shear +-25 degrees, each with
//   probability 0.5 instead of 0.05, and hue +-0.02 with probability 0.5; the rest as original.
enum class AugmentPreset { original, strong };
std::string to_string(AugmentPreset preset);                    // "original" or "strong"
AugmentPreset augment_preset_from(const std::string& name);     // throws std::invalid_argument
AugmentSettings augment_settings(AugmentPreset preset);

// An augmented copy of `item` (same size). With settings.enabled false, an exact copy.
LabeledImage augment(const LabeledImage& item, const AugmentSettings& settings, std::mt19937_64& rng);

// A size x size window of `item` at a uniformly random position (size <= width, height), else
// std::invalid_argument naming the sizes.
LabeledImage random_crop(const LabeledImage& item, int size, std::mt19937_64& rng);

}  // namespace seqnet
