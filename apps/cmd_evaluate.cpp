// cmd_evaluate.cpp: `seqnet evaluate --pred DIR --data DIR [--data DIR...] [--json FILE] [--errors DIR]`:
// scores the maps `seqnet predict` wrote against the ground truth exactly as eval/metrics.h states
// the protocol, prints the table and the protocol used, optionally writes it as JSON and draws
// where the artery/vein calls are right and wrong (eval/error_map.h).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/args.h"
#include "apps/registry.h"
#include "eval/error_map.h"
#include "eval/metrics.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "train/dataset.h"

namespace seqnet::cli {

namespace {
namespace fs = std::filesystem;

// One probability map DIR/<folder>/<name>.png as width*height floats at the ground truth's
// resolution (bilinear when the prediction has another size). `resized` is set when it had to.
std::vector<float> read_map(const fs::path& pred, const char* folder, const std::string& name, int width, int height,
                            bool& resized) {
  const fs::path file = pred / folder / (name + ".png");
  if (!fs::exists(file))
    throw std::runtime_error("no prediction for image " + name + ": " + file.string() +
                             " is missing (run seqnet predict on the dataset's images into " + pred.string() + ")");
  Image map = read_image(file.string());
  if (map.channels > 2)
    throw std::runtime_error(file.string() + " has " + std::to_string(map.channels) +
                             " channels; a probability map is a grey image");
  if (map.width != width || map.height != height) {
    // A map of another shape is not of this photograph (or was cropped): resizing it would score
    // something else. The same shape at another scale is resized, and said.
    const double scaled_height = double(map.width) * height / width;
    if (std::abs(scaled_height - map.height) > std::max(1.0, 0.01 * map.height))
      throw std::runtime_error(file.string() + " is " + std::to_string(map.width) + "x" + std::to_string(map.height) +
                               ", not the shape of the ground truth of " + name + " (" + std::to_string(width) + "x" +
                               std::to_string(height) + "): is it the prediction of another photograph?");
    if (!resized)
      std::cout << "evaluate: " << name << ": prediction " << map.width << "x" << map.height << " resized to the ground truth's "
                << width << "x" << height << " (bilinear)\n";
    map = resize_bilinear(map, width, height);
    resized = true;
  }
  std::vector<float> values(size_t(width) * height);
  for (size_t i = 0; i < values.size(); ++i) values[i] = map.pixels[i * map.channels];
  return values;
}

// A protocol line on how the predictions were made, from DIR/predict.json where predict wrote it.
std::string prediction_note(const fs::path& pred) {
  const fs::path record_file = pred / "predict.json";
  if (!fs::exists(record_file))
    return "predictions: " + pred.string() + " (no predict.json: how they were made, post-processing included, is unknown)";
  std::ifstream in(record_file);
  const nlohmann::json record = nlohmann::json::parse(in, nullptr, false);
  if (record.is_discarded() || !record.is_object())
    throw std::runtime_error(record_file.string() + " is not valid JSON; remove it or predict again");
  std::string line = "predictions: " + pred.string() + " from " + record.value("weights", std::string("?")) + ", " +
                     std::to_string(record.value("size", 0)) + "x" + std::to_string(record.value("size", 0)) + " " +
                     (record.value("tiled", false) ? "tiled" : "whole image");
  line += record.value("postprocess", false) ? ", artery/vein post-processing on" : ", artery/vein post-processing off";
  return line;
}

int run(int argc, char** argv) {
  Args args("evaluate", "--pred DIR --data DIR [--data DIR...] [--json FILE] [--errors DIR]",
            "Scores predictions (DIR/out_seg, out_art, out_vei from seqnet predict; NAME.png per image) against\n"
            "datasets (DIR/images, DIR/av, optional DIR/mask) by the protocol every report states: vessel\n"
            "segmentation and artery/vein classification ('all' and 'detected'), pooled and per image.");
  args.option("pred", "", "the folder seqnet predict wrote", "DIR")
      .repeated("data", "a dataset folder with images/, av/ and optionally mask/", "DIR")
      .option("json", "", "also write the report as JSON here", "FILE")
      .option("errors", "", "also write DIR/NAME.png per image: artery/vein pixels called right green, wrong red, "
              "vessel called where there is none grey", "DIR");
  if (!args.parse(argc, argv)) return 0;
  if (!args.given("pred")) throw UsageError("missing --pred DIR (the folder seqnet predict wrote)");
  if (args.all("data").empty()) throw UsageError("missing --data DIR (a dataset with images/ and av/)");
  const fs::path pred = args.str("pred");
  for (const char* folder : {"out_seg", "out_art", "out_vei"})
    if (!fs::is_directory(pred / folder))
      throw UsageError("--pred " + pred.string() + " has no " + folder + "/ folder (is it a seqnet predict output?)");

  VesselEvaluation vessel;
  AVEvaluation artery_vein;
  std::set<std::string> names;
  int computed_fov = 0, resized_images = 0, images = 0;
  for (const std::string& data : args.all("data")) {
    for (const DatasetItem& item : find_dataset(data)) {
      const LabeledImage truth = load_labeled(item);
      if (!names.insert(truth.name).second)
        throw std::runtime_error("two ground-truth images are named " + truth.name +
                                 "; predictions pair by name, so evaluate those datasets separately");
      bool resized = false;
      const std::vector<float> s = read_map(pred, "out_seg", truth.name, truth.width, truth.height, resized);
      const std::vector<float> a = read_map(pred, "out_art", truth.name, truth.width, truth.height, resized);
      const std::vector<float> v = read_map(pred, "out_vei", truth.name, truth.width, truth.height, resized);
      vessel.add_image(truth.name, s, vessel_truth_from_classes(truth.label_class), truth.fov);
      artery_vein.add_image(truth.name, a, v, s, truth.label_class, truth.fov);
      if (args.given("errors")) {
        fs::create_directories(args.str("errors"));
        write_png((fs::path(args.str("errors")) / (truth.name + ".png")).string(),
                  artery_vein_error_map(a, v, s, truth.label_class, truth.fov, truth.width, truth.height));
      }
      computed_fov += item.mask.empty();
      resized_images += resized;
      ++images;
    }
  }

  EvaluationReport report;
  report.vessel = vessel.result();
  report.artery_vein = artery_vein.result();
  report.protocol_notes.push_back(prediction_note(pred));
  report.protocol_notes.push_back(
      "field of view: the dataset's mask for " + std::to_string(images - computed_fov) + " of " + std::to_string(images) +
      " images, computed from the photograph (brightness > 10%, largest region, holes filled) for " +
      std::to_string(computed_fov));
  report.protocol_notes.push_back("resolution: ground truth's own; " + std::to_string(resized_images) + " of " +
                                  std::to_string(images) + " predictions resized to it (bilinear)");
  print_report(std::cout, report);
  if (args.given("json")) {
    write_file_atomically(args.str("json"), report_to_json(report).dump(2) + "\n");
    std::cout << "evaluate: wrote " << args.str("json") << "\n";
  }
  if (args.given("errors")) std::cout << "evaluate: error maps in " << args.str("errors") << "\n";
  return 0;
}

const bool registered = register_command({"evaluate", "score predictions against ground truth", 30, run});

}  // namespace

}  // namespace seqnet::cli
