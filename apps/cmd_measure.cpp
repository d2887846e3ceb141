// cmd_measure.cpp: `seqnet measure`: the vascular measures of each photograph (measure/): the
// optic disc, CRAE, CRVE, AVR, widths, tortuosity, fractal dimension, density, branch points,
// from the maps `seqnet predict` wrote (--pred) or from expert labels (--data), into one CSV table,
// with a picture per photograph on request (docs/MEASURES.md).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "apps/args.h"
#include "apps/measure_options.h"
#include "apps/predict_inputs.h"
#include "apps/predict_outputs.h"
#include "apps/registry.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "measure/measure_table.h"
#include "measure/overlay.h"
#include "measure/photo_measures.h"
#include "preprocess/field_of_view.h"
#include "train/dataset.h"

namespace seqnet::cli {

namespace {
namespace fs = std::filesystem;
using measure::MeasureInput;

// The maps predict wrote for photograph `key` under `pred`, with the photograph itself.
MeasureInput input_from_prediction(const fs::path& pred, const InputPhoto& photo_file, Image& photo) {
  photo = read_image(photo_file.file.string());
  const std::vector<fs::path> maps = output_paths(pred, photo_file.key);  // out_seg, out_art, out_vei, ...
  MeasureInput in;
  in.width = photo.width;
  in.height = photo.height;
  std::vector<float>* targets[] = {&in.vessel, &in.artery, &in.vein};
  for (int k = 0; k < 3; ++k) {
    if (!fs::exists(maps[k]))
      throw measure::MeasureInputError(maps[k].string() + " is missing (run seqnet predict on this photograph into " +
                                       pred.string() + ")");
    *targets[k] = measure::probability_map(read_image(maps[k].string()), photo.width, photo.height, maps[k].string());
  }
  in.fov = compute_fov(to_rgb(photo));
  in.brightness = measure::luminance(photo);
  return in;
}

int run(int argc, char** argv) {
  Args args("measure", "(--pred DIR -i PHOTOS... | --data DIR) -o TABLE.csv [--pixel-size UM | --fov-degrees D] "
                       "[--measures-overlay DIR]",
            "Measures each photograph's vessels: optic disc, zone B and C, CRAE, CRVE, AVR (revised Knudtson),\n"
            "widths, tortuosity, fractal dimension, density, branch points, each with a quality flag, one row\n"
            "per photograph (docs/MEASURES.md defines the columns). From the maps of seqnet predict (--pred,\n"
            "with the photographs they were predicted from, -i) or from expert labels (--data: a dataset folder\n"
            "with images/, av/ and optionally mask/), so the two can be compared.");
  args.option("pred", "", "the folder seqnet predict wrote (out_seg/, out_art/, out_vei/)", "DIR")
      .repeated("input", "the photographs predict was given (files, folders or lists, as for predict)", "PATH")
      .short_name('i', "input")
      .flag("recursive", "with -i FOLDER: its subfolders too")
      .option("data", "", "measure expert labels instead: DIR/images, DIR/av (RITE colours), DIR/mask", "DIR")
      .option("out", "", "the table to write (CSV)", "TABLE.csv")
      .short_name('o', "out")
      .option("measures-overlay", "", "also draw each photograph's disc, zones and measured vessels into DIR/NAME.png",
              "DIR");
  add_scale_options(args);
  if (!args.parse(argc, argv)) return 0;
  if (args.given("pred") == args.given("data")) throw UsageError("give either --pred DIR (with -i) or --data DIR");
  if (args.given("pred") && args.all("input").empty())
    throw UsageError("--pred needs -i PHOTOS: the photographs predict was given (the disc is found on them)");
  if (!args.given("out")) throw UsageError("missing -o TABLE.csv");
  const measure::ScaleOption scale = scale_option(args);
  const fs::path overlay_dir = args.str("measures-overlay");

  std::vector<measure::MeasureRow> rows;
  auto measure_one = [&](const std::string& key, auto&& load) {
    measure::MeasureRow row;
    row.path = key;
    try {
      Image photo;
      const MeasureInput in = load(photo);
      const auto start = std::chrono::steady_clock::now();
      const measure::PhotoMeasures m = measure::measure_photograph(in, scale);
      row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      row.width = in.width, row.height = in.height, row.status = "ok";
      row.values = measure::measure_column_values(m);
      if (!overlay_dir.empty()) {
        const fs::path file = overlay_dir / fs::path(key).replace_extension(".png");
        fs::create_directories(file.parent_path());
        write_png(file.string(), measure::measures_overlay(photo, m));
      }
    } catch (const std::exception& e) {  // one bad photograph is a row, not the end
      row.status = "error";
      row.message = e.what();
    }
    std::printf("measure: %s %s%s%s\n", key.c_str(), row.status.c_str(), row.message.empty() ? "" : ": ",
                row.message.c_str());
    std::fflush(stdout);
    rows.push_back(std::move(row));
  };

  if (args.given("data")) {
    for (const DatasetItem& item : find_dataset(args.str("data")))
      measure_one(fs::path(item.image).filename().string(), [&](Image& photo) {
        const LabeledImage truth = load_labeled(item);
        photo = truth.rgb;
        return measure::input_from_label_classes(truth.label_class, truth.rgb, truth.fov);
      });
  } else {
    const fs::path pred = args.str("pred");
    // The maps of predict's run into --pred are never photographs to measure.
    for (const InputPhoto& photo_file : list_inputs(args.all("input"), args.on("recursive"), pred))
      measure_one(photo_file.key, [&](Image& photo) {
        if (!photo_file.problem.empty()) throw std::runtime_error(photo_file.problem);  // e.g. a symbolic link loop
        return input_from_prediction(pred, photo_file, photo);
      });
  }
  write_file_atomically(args.str("out"), measure::measure_table_csv(rows));
  int errors = 0;
  for (const measure::MeasureRow& row : rows) errors += row.status != "ok";
  std::printf("measure: %zu photograph%s, %d error%s -> %s\n", rows.size(), rows.size() == 1 ? "" : "s", errors,
              errors == 1 ? "" : "s", args.str("out").c_str());
  return errors ? 1 : 0;
}

const bool registered = register_command({"measure", "vascular measures per photograph (CRAE, CRVE, AVR, ...)", 35, run});

}  // namespace

}  // namespace seqnet::cli
