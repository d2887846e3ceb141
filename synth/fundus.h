// fundus.h: synthetic colour fundus photographs with their artery/vein labels.
//
// draw_fundus paints a photograph like DRIVE's (a circular field of view on black, an
// orange-red textured background darkening towards the rim, a bright yellowish optic disc, a
// darker macula, and artery and vein trees from synth/vessel_tree.h) together with its exact
// labels. The same (size, seed) always gives the same bytes. See docs/SYNTH.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "io/image.h"
#include "synth/geometry_truth.h"

namespace seqnet {

struct SynthSample {
  Image photo;  // RGB
  Image label;  // RGB in the RITE colours: red artery, blue vein, green crossing, black background
  Image mask;   // grey: 1 inside the field of view, 0 outside
  synth::GeometryTruth truth;  // the disc, zone B widths and tortuosity it was drawn with
};

// Throws std::invalid_argument when a side is under 64 or over 8192 pixels.
SynthSample draw_fundus(int width, int height, uint64_t seed);

// Writes n samples in the layout of ../shared/data: dir/images/NAME.png, dir/av/NAME.png and
// dir/mask/NAME_mask.png, and the drawn geometry as dir/truth/NAME.json (geometry_truth.h), with NAME synth_000, synth_001, ... (more digits past 1000 images).
// Image i is drawn from synth::derive_seed(seed, i). `on_written(i, name)` is called after each
// image (for progress). Throws std::invalid_argument for n < 1 or a bad size, ImageError or
// std::filesystem::filesystem_error when a file cannot be written.
void write_synthetic_set(const std::string& dir, int n, uint64_t seed, int width, int height,
                         const std::function<void(int index, const std::string& name)>& on_written = {});

}  // namespace seqnet
