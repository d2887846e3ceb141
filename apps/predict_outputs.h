// predict_outputs.h: the five maps `seqnet predict` writes for a photograph, where they go, and
// whether a photograph's are all there (so that a rerun can skip it).
//
// For a photograph keyed KEY (predict_inputs.h), each map is OUT/FOLDER/KEY with its extension
// replaced by .png, FOLDER one of out_seg, out_art, out_vei, out_final, overlay. Every map is
// written atomically (a temporary file renamed over it), so a map that exists is complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "io/image.h"
#include "model/inference.h"

namespace seqnet::cli {

// The output folders, in the order they are written.
inline constexpr const char* kOutputFolders[] = {"out_seg", "out_art", "out_vei", "out_final", "overlay"};

// OUT/FOLDER/KEY.png for each folder.
std::vector<std::filesystem::path> output_paths(const std::filesystem::path& out, const std::string& key);

// True when every map of the photograph exists. The overlay is written last, so checking it
// first answers "not done" for most unfinished photographs with one look-up.
bool outputs_complete(const std::filesystem::path& out, const std::string& key);

// Writes the five maps of `p` for the photograph `photo_rgb` (the overlay draws over it),
// creating subfolders as needed. Throws on a write failure (ImageError, filesystem_error).
void write_outputs(const std::filesystem::path& out, const std::string& key, const Image& photo_rgb,
                   const Prediction& p);

// Removes temporary files ("NAME.png.tmp-PID") that a killed run left beside the maps of the
// photographs in `keys`; returns how many. Those of other photographs (another shard may be
// writing them) are left alone.
int remove_leftover_temporary_files(const std::filesystem::path& out, const std::set<std::string>& keys);

// What the manifest records of a prediction: the fraction of field-of-view pixels that are
// vessel (P_vessel >= 0.5), and of those classified artery (P_artery >= P_vein) or vein, as the
// out_final and overlay maps draw them. An image without a field of view is measured whole.
struct VesselFractions {
  double vessel = 0, artery = 0, vein = 0;
  bool whole_image = false;  // no field of view was found
};
VesselFractions vessel_fractions(const Prediction& p, const std::vector<uint8_t>& fov);

}  // namespace seqnet::cli
