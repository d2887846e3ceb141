// cmd_predict.cpp: `seqnet predict -i PATH... -o DIR --weights FILE`: vessel and artery/vein maps
// for photographs of any size, at their own resolution, in the original SeqNet's output folders
// (docs/ARCHITECTURE.md), post-processed as eval/postprocess.h does (on by default), plus an overlay.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/args.h"
#include "apps/default_model.h"
#include "apps/device_option.h"
#include "apps/registry.h"
#include "eval/metrics.h"
#include "eval/postprocess.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "model/inference.h"
#include "model/weights.h"
#include "train/dataset.h"

namespace seqnet::cli {

namespace {
namespace fs = std::filesystem;

// The output folders, in the order they are written.
const char* const kOutputFolders[] = {"out_seg", "out_art", "out_vei", "out_final", "overlay"};

// How strongly the overlay's red/blue covers the photograph where a vessel is predicted.
constexpr float kOverlayAlpha = 0.6f;

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  static const char* known[] = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif"};
  return std::find(std::begin(known), std::end(known), ext) != std::end(known);
}

// Every input file: files as given, folders as their image files (by extension, sorted). Two
// inputs with one stem would write the same output names: a UsageError naming both.
std::vector<fs::path> input_files(const std::vector<std::string>& inputs) {
  std::vector<fs::path> files;
  for (const std::string& input : inputs) {
    if (fs::is_directory(input)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::directory_iterator(input))
        if (entry.is_regular_file() && entry.path().filename().string()[0] != '.' && has_image_extension(entry.path()))
          found.push_back(entry.path());
      if (found.empty()) throw UsageError("input folder " + input + " holds no image files (.png .jpg .tif .bmp .gif)");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.emplace_back(input);  // a missing or unreadable file is reported when it is read
    }
  }
  std::map<std::string, fs::path> by_stem;
  for (const fs::path& f : files) {
    auto [it, inserted] = by_stem.emplace(f.stem().string(), f);
    if (!inserted)
      throw UsageError("inputs " + it->second.string() + " and " + f.string() + " would both write " +
                       f.stem().string() + ".png; predict them into separate folders");
  }
  return files;
}

// "[####      ] 3/10 name" on stderr: redrawn in place on a terminal, one line per image otherwise.
void show_progress(int done, int total, const std::string& name) {
  constexpr int kBarWidth = 30;
  const int filled = total ? done * kBarWidth / total : kBarWidth;
  const bool terminal = isatty(fileno(stderr));
  std::fprintf(stderr, "%s[%s%s] %d/%d %s%s", terminal ? "\r\033[K" : "", std::string(filled, '#').c_str(),
               std::string(kBarWidth - filled, ' ').c_str(), done, total, name.c_str(), terminal ? "" : "\n");
  std::fflush(stderr);
}

Image grey_image(const std::vector<float>& values, int width, int height) {
  Image image(width, height, 1);
  image.pixels = values;
  return image;
}

// Artery red, vein blue (artery where P_artery >= P_vein), brightness the vessel probability.
Image final_image(const Prediction& p) {
  Image image(p.width, p.height, 3);
  for (size_t i = 0; i < p.vessel.size(); ++i)
    image.pixels[i * 3 + (p.artery[i] >= p.vein[i] ? 0 : 2)] = p.vessel[i];
  return image;
}

// The photograph with pure red (artery) or blue (vein) blended over every predicted vessel pixel.
Image overlay_image(const Image& photo_rgb, const Prediction& p) {
  Image image = photo_rgb;
  for (size_t i = 0; i < p.vessel.size(); ++i) {
    if (p.vessel[i] < kVesselThreshold) continue;
    const bool artery = p.artery[i] >= p.vein[i];
    const float colour[3] = {artery ? 1.0f : 0.0f, 0.0f, artery ? 0.0f : 1.0f};
    for (int c = 0; c < 3; ++c)
      image.pixels[i * 3 + c] = (1 - kOverlayAlpha) * image.pixels[i * 3 + c] + kOverlayAlpha * colour[c];
  }
  return image;
}

// A default as a person writes it: 0.5, 30, 0.9 (not 0.500000).
std::string shortest(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

PostprocessSettings postprocess_settings_from(const Args& args) {
  PostprocessSettings s;
  s.vessel_threshold = float(args.number("pp-vessel-threshold"));
  s.min_component_pixels = args.integer("pp-min-component");
  s.min_spur_pixels = args.integer("pp-min-spur");
  s.direction_pixels = args.integer("pp-direction-pixels");
  s.straightness_degrees = args.number("pp-straightness");
  s.crossing_node_distance = args.number("pp-crossing-distance");
  s.anchor_confidence = args.number("pp-anchor-confidence");
  s.hop_decay = args.number("pp-hop-decay");
  if (s.vessel_threshold <= 0 || s.vessel_threshold >= 1) throw UsageError("--pp-vessel-threshold must be in (0, 1)");
  if (s.min_component_pixels < 1 || s.min_spur_pixels < 0 || s.direction_pixels < 2)
    throw UsageError("--pp-min-component must be >= 1, --pp-min-spur >= 0 and --pp-direction-pixels >= 2");
  if (s.straightness_degrees < 0 || s.straightness_degrees > 90) throw UsageError("--pp-straightness must be 0 to 90 degrees");
  if (s.crossing_node_distance < 0) throw UsageError("--pp-crossing-distance must be >= 0");
  if (s.anchor_confidence < 0 || s.anchor_confidence > 1) throw UsageError("--pp-anchor-confidence must be 0 to 1");
  if (s.hop_decay <= 0 || s.hop_decay > 1) throw UsageError("--pp-hop-decay must be in (0, 1]");
  return s;
}

// DIR/predict.json: how the maps were made, so that `seqnet evaluate` can print it in its protocol.
void write_settings_record(const fs::path& out, const std::string& weights, const InferenceSettings& inference,
                           bool postprocess, const PostprocessSettings& pp) {
  nlohmann::json record = {{"weights", weights},
                           {"size", inference.size},
                           {"tiled", inference.tiled},
                           {"flips", inference.flips},
                           {"postprocess", postprocess}};
  if (inference.tiled) record["tile"] = inference.tile, record["stride"] = inference.stride;
  if (postprocess)
    record["postprocess_settings"] = {{"vessel_threshold", pp.vessel_threshold},
                                      {"min_component_pixels", pp.min_component_pixels},
                                      {"min_spur_pixels", pp.min_spur_pixels},
                                      {"direction_pixels", pp.direction_pixels},
                                      {"straightness_degrees", pp.straightness_degrees},
                                      {"crossing_node_distance", pp.crossing_node_distance},
                                      {"anchor_confidence", pp.anchor_confidence},
                                      {"hop_decay", pp.hop_decay},
                                      {"pixel_thresholds", "in pixels of the working size, times sqrt(width * height) / size "
                                                           "for each photograph"}};
  write_file_atomically((out / "predict.json").string(), record.dump(2) + "\n");
}

int run(int argc, char** argv) {
  const PostprocessSettings pp_defaults;
  Args args("predict", "-i PATH [-i PATH...] -o DIR [--weights FILE] [options]",
            "Predicts vessel and artery/vein maps for photographs (files, or folders of .png .jpg .tif .bmp .gif)\n"
            "at their own resolution: DIR/out_seg (grey vessel probability), DIR/out_art, DIR/out_vei (artery and\n"
            "vein probability), DIR/out_final (artery red, vein blue, brightness the vessel probability) and\n"
            "DIR/overlay (the photograph with the classified vessels drawn over it), each NAME.png. A file that\n"
            "cannot be read is reported and skipped; the exit status is then 1.");
  args.repeated("input", "a photograph or a folder of photographs", "PATH")
      .short_name('i', "input")
      .option("out", "", "output folder", "DIR")
      .short_name('o', "out")
      .option("weights", "", "trained weights (.safetensors); default: the model shipped in models/ (docs/MODEL.md) or $SEQNET_MODEL", "FILE")
      .option("size", "576", "working size: photographs are resized to SIZE x SIZE for the model", "SIZE")
      .flag("tiled", "cover the image with overlapping tiles averaged where they overlap (the original's way)")
      .option("tile", "128", "tile side with --tiled", "PIXELS")
      .option("stride", "64", "step between tiles with --tiled", "PIXELS")
      .flag("flips", "average the maps of the photograph and its three mirror images (4x the time)")
      .flag("no-postprocess", "skip the artery/vein label propagation (docs/POSTPROCESSING.md)")
      .option("pp-vessel-threshold", shortest(pp_defaults.vessel_threshold), "post-processing: vessel probability threshold", "P")
      .option("pp-min-component", shortest(pp_defaults.min_component_pixels), "post-processing: smaller vessel components are dropped (working-size pixels)", "PIXELS")
      .option("pp-min-spur", shortest(pp_defaults.min_spur_pixels), "post-processing: shorter skeleton spurs are pruned (working-size pixels)", "PIXELS")
      .option("pp-direction-pixels", shortest(pp_defaults.direction_pixels), "post-processing: skeleton pixels fitting a segment's direction at a node (working size)", "PIXELS")
      .option("pp-straightness", shortest(pp_defaults.straightness_degrees), "post-processing: continuation within this of straight", "DEGREES")
      .option("pp-crossing-distance", shortest(pp_defaults.crossing_node_distance), "post-processing: two 3-way nodes closer than this are a crossing (working-size pixels)", "PIXELS")
      .option("pp-anchor-confidence", shortest(pp_defaults.anchor_confidence), "post-processing: segments with |mean(A-V)| >= this keep their label", "C")
      .option("pp-hop-decay", shortest(pp_defaults.hop_decay), "post-processing: confidence factor per propagation hop", "F");
  add_device_option(args);
  if (!args.parse(argc, argv)) return 0;

  if (args.all("input").empty()) throw UsageError("missing -i PATH (a photograph or a folder of photographs)");
  if (!args.given("out")) throw UsageError("missing -o DIR (where to write the predictions)");
  InferenceSettings inference;
  inference.size = args.integer("size");
  inference.tiled = args.on("tiled");
  inference.tile = args.integer("tile");
  inference.stride = args.integer("stride");
  inference.flips = args.on("flips");
  const bool postprocess = !args.on("no-postprocess");
  const PostprocessSettings pp = postprocess_settings_from(args);
  const std::vector<fs::path> files = input_files(args.all("input"));
  const fs::path out = args.str("out");
  const std::string weights = args.given("weights") ? args.str("weights") : shipped_model_path();
  if (!fs::is_regular_file(weights)) throw UsageError("--weights " + weights + ": no such file");
  if (!args.given("weights")) std::fprintf(stderr, "predict: using the shipped model %s\n", weights.c_str());

  const Device device = chosen_device(args);
  std::unique_ptr<SeqNet> model = load_model(weights, device);
  try {
    inference.validate(model->config());
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  std::fprintf(stderr, "predict: %s; %d image%s, %dx%d %s, post-processing %s\n", model->config().describe().c_str(),
               int(files.size()), files.size() == 1 ? "" : "s", inference.size, inference.size,
               inference.tiled ? ("in " + std::to_string(inference.tile) + "-pixel tiles every " +
                                  std::to_string(inference.stride)).c_str()
                               : "whole",
               postprocess ? "on" : "off");

  for (const char* folder : kOutputFolders) fs::create_directories(out / folder);
  write_settings_record(out, weights, inference, postprocess, pp);

  std::vector<std::string> unreadable;
  const int total = int(files.size());
  for (int index = 0; index < total; ++index) {
    const fs::path& file = files[index];
    const std::string name = file.stem().string();
    Image photo;
    try {
      photo = to_rgb(read_image(file.string()));
    } catch (const ImageError& e) {
      std::fprintf(stderr, "%spredict: skipping %s: %s\n", isatty(fileno(stderr)) ? "\n" : "", file.string().c_str(), e.what());
      unreadable.push_back(file.string());
      show_progress(index + 1, total, name + " (unreadable)");
      continue;
    }
    Prediction p = predict_image(*model, photo, inference);
    if (postprocess)
      propagate_av_labels(p.artery, p.vein, p.vessel, compute_fov(photo), p.width, p.height,
                          scaled_to_image(pp, p.width, p.height, inference.size));

    const std::string png = name + ".png";
    write_png((out / "out_seg" / png).string(), grey_image(p.vessel, p.width, p.height));
    write_png((out / "out_art" / png).string(), grey_image(p.artery, p.width, p.height));
    write_png((out / "out_vei" / png).string(), grey_image(p.vein, p.width, p.height));
    write_png((out / "out_final" / png).string(), final_image(p));
    write_png((out / "overlay" / png).string(), overlay_image(photo, p));
    show_progress(index + 1, total, name);
  }
  if (isatty(fileno(stderr))) std::fprintf(stderr, "\n");

  const int written = total - int(unreadable.size());
  std::printf("predict: wrote %d image%s to %s/{out_seg,out_art,out_vei,out_final,overlay}\n", written,
              written == 1 ? "" : "s", out.string().c_str());
  if (!unreadable.empty()) {
    std::fprintf(stderr, "predict: %d of %d images could not be read:", int(unreadable.size()), total);
    for (const std::string& f : unreadable) std::fprintf(stderr, " %s", f.c_str());
    std::fprintf(stderr, "\n");
    return 1;
  }
  return 0;
}

const bool registered = register_command({"predict", "vessel and artery/vein maps for photographs", 20, run});

}  // namespace

}  // namespace seqnet::cli
