// cmd_predict.cpp: `seqnet predict -i PATH... -o DIR [--weights FILE...]`: vessel and artery/vein maps
// for photographs of any size, at their own resolution, in the original SeqNet's output folders
// (docs/ARCHITECTURE.md), post-processed as eval/postprocess.h does (on by default), plus an overlay.
// Several --weights make an ensemble: the models' maps are averaged before the post-processing.
// For cohorts (docs/COHORT.md): one shard of a job array per process (predict_inputs.h), photographs
// whose maps exist are skipped, and a per-photograph table is kept (manifest.h); the work itself is
// predict_pipeline.h.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/args.h"
#include "apps/default_model.h"
#include "apps/device_option.h"
#include "apps/manifest.h"
#include "apps/measure_options.h"
#include "apps/model_options.h"
#include "apps/path_checks.h"
#include "apps/predict_inputs.h"
#include "apps/predict_outputs.h"
#include "apps/predict_pipeline.h"
#include "apps/registry.h"
#include "io/atomic_file.h"
#include "io/sha256.h"
#include "model/weights.h"

namespace seqnet::cli {

namespace {
namespace fs = std::filesystem;

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
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

// The items joined by `separator` ("a + b" for an ensemble's files, "h1+h2" for its hashes).
std::string joined(const std::vector<std::string>& items, const std::string& separator) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

// DIR/predict.json: how the maps were made, so that `seqnet evaluate` can print it in its protocol,
// and so that a rerun into DIR can tell whether the maps already there were made the same way.
// An ensemble's weights and hashes are its members' in the order given, joined by " + " and "+".
nlohmann::json settings_record(const std::string& weights, const std::string& weights_sha256,
                               const InferenceSettings& inference, bool postprocess, const PostprocessSettings& pp,
                               const std::string& conv_precision) {
  nlohmann::json record = {{"weights", weights},
                           {"weights_sha256", weights_sha256},
                           {"size", inference.size},
                           {"tiled", inference.tiled},
                           {"flips", inference.flips},
                           {"postprocess", postprocess}};
  if (inference.tiled) record["tile"] = inference.tile, record["stride"] = inference.stride;
  // --conv-precision, recorded only when not fp32, so that maps made before the option existed match.
  if (conv_precision != "fp32") record["conv_precision"] = conv_precision;
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
  return record;
}

// Maps already in DIR may only be kept (skipped) when they were made with the same model and
// settings: the earlier predict.json must match, apart from the path the weights were read from.
// Without --overwrite a mismatch is a UsageError naming what differs.
void check_earlier_settings(const fs::path& out, const nlohmann::json& record, bool overwrite) {
  const fs::path path = out / "predict.json";
  if (overwrite || !fs::exists(path)) return;
  nlohmann::json earlier;
  try {
    earlier = nlohmann::json::parse(read_text_file(path.string()));
  } catch (const std::exception& e) {
    throw UsageError(path.string() + " cannot be read (" + e.what() + "); remove it, or give --overwrite");
  }
  std::string differing;
  for (const auto& [key, value] : record.items())
    if (key != "weights" && earlier.value(key, nlohmann::json()) != value) differing += " " + key;
  if (earlier.contains("conv_precision") && !record.contains("conv_precision")) differing += " conv_precision";
  if (!differing.empty())
    throw UsageError("the maps in " + out.string() + " were made with other settings (predict.json differs in" +
                     differing + "): use another -o DIR, or --overwrite to predict every photograph again");
}

// This shard's rows of earlier runs (a finished table, then a killed run's journal), by path.
std::map<std::string, ManifestRow> earlier_rows(const fs::path& out, const Shard& shard) {
  std::map<std::string, ManifestRow> rows = read_manifest(shard_table_path(out, shard.index, shard.count));
  for (auto& [path, row] : read_manifest(shard_table_path(out, shard.index, shard.count, ".partial.csv")))
    rows[path] = row;
  return rows;
}

// The row of a photograph whose maps an earlier run wrote: that run's row when there is one
// (so a resumed shard's table reads as an uninterrupted one's), else "skipped".
ManifestRow row_of_finished(const InputPhoto& photo, const std::map<std::string, ManifestRow>& earlier,
                            const std::string& model_sha256) {
  const auto it = earlier.find(photo.key);
  if (it != earlier.end() && it->second.status == "ok") return it->second;
  ManifestRow row;
  row.path = photo.key;
  row.status = "skipped";
  row.message = "its maps were already there; no earlier row of it survived";
  row.model_sha256 = model_sha256;
  return row;
}

int run(int argc, char** argv) {
  const PostprocessSettings pp_defaults;
  Args args("predict", "-i PATH [-i PATH...] -o DIR [--weights FILE...] [options]",
            "Predicts vessel and artery/vein maps for photographs (files, folders of .png .jpg .tif .bmp .gif,\n"
            "or .txt lists of paths, one a line) at their own resolution: DIR/out_seg (grey vessel probability),\n"
            "DIR/out_art, DIR/out_vei (artery and vein probability), DIR/out_final (artery red, vein blue,\n"
            "brightness the vessel probability) and DIR/overlay (the photograph with the classified vessels\n"
            "drawn over it), each PATH.png (PATH relative to its folder or list). A photograph whose five maps\n"
            "exist is skipped. Each run writes the table DIR/manifest/shard-K-of-N.csv (one row per photograph:\n"
            "size, status, seconds, vessel/artery/vein fractions, the model's SHA-256). A file that cannot be\n"
            "read is an error row; the exit status is then 1. Cohorts on a cluster: docs/COHORT.md.");
  args.repeated("input", "a photograph, a folder of photographs, or a .txt/.lst file listing photographs", "PATH")
      .short_name('i', "input")
      .option("out", "", "output folder", "DIR")
      .short_name('o', "out")
      .repeated("weights", "trained weights (.safetensors); default: the model shipped in models/ (docs/MODEL.md) or "
                           "$SEQNET_MODEL. Given several times: an ensemble, whose maps are the mean of its models' "
                           "(one forward per model)", "FILE")
      .flag("recursive", "take the photographs in the subfolders of an input folder too (keeping their subfolders)")
      .option("shard", "", "predict only shard K (0 to N-1) of N; default from SLURM_ARRAY_TASK_ID, "
                           "SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN when set, else all", "K/N")
      .flag("overwrite", "predict every photograph of the shard again, even those whose maps exist")
      .flag("json", "also write the table as JSON lines (DIR/manifest/shard-K-of-N.jsonl)")
      .flag("dry-run", "print the shard's photographs (todo or done) and exit without predicting")
      .option("batch", "1", "photographs per forward of the model (for GPUs; on the CPU 1 was fastest, docs/PERFORMANCE.md)", "N")
      .flag("sequential", "read, predict and write one photograph at a time in one thread (for comparison)")
      .option("merge-manifests", "", "instead of predicting: join DIR/manifest/shard-*.csv into "
                                     "DIR/manifest/all.csv and report shards, photographs (of -i, if given) "
                                     "and errors missing; exit status 1 if any", "DIR")
      .option("size", "576", "working size: photographs are resized to SIZE x SIZE for the model", "SIZE")
      .flag("tiled", "cover the image with overlapping tiles averaged where they overlap (the original's way)")
      .option("tile", "128", "tile side with --tiled", "PIXELS")
      .option("stride", "64", "step between tiles with --tiled", "PIXELS")
      .flag("no-flips", "predict the photograph alone, not also its three mirror images: 4x faster model stage, "
                        "A/V accuracy about 0.01-0.02 lower (by default the four maps are averaged; docs/MODEL.md)")
      .flag("flips", "average the maps of the photograph and its three mirror images: the default since "
                     "2026-12-07 (accepted, changes nothing)")
      .flag("no-postprocess", "skip the artery/vein label propagation (docs/POSTPROCESSING.md)")
      .option("pp-vessel-threshold", shortest(pp_defaults.vessel_threshold), "post-processing: vessel probability threshold", "P")
      .option("pp-min-component", shortest(pp_defaults.min_component_pixels), "post-processing: smaller vessel components are dropped (working-size pixels)", "PIXELS")
      .option("pp-min-spur", shortest(pp_defaults.min_spur_pixels), "post-processing: shorter skeleton spurs are pruned (working-size pixels)", "PIXELS")
      .option("pp-direction-pixels", shortest(pp_defaults.direction_pixels), "post-processing: skeleton pixels fitting a segment's direction at a node (working size)", "PIXELS")
      .option("pp-straightness", shortest(pp_defaults.straightness_degrees), "post-processing: continuation within this of straight", "DEGREES")
      .option("pp-crossing-distance", shortest(pp_defaults.crossing_node_distance), "post-processing: two 3-way nodes closer than this are a crossing (working-size pixels)", "PIXELS")
      .option("pp-anchor-confidence", shortest(pp_defaults.anchor_confidence), "post-processing: segments with |mean(A-V)| >= this keep their label", "C")
      .option("pp-hop-decay", shortest(pp_defaults.hop_decay), "post-processing: confidence factor per propagation hop", "F");
  add_model_options(args);  // for weights that store no configuration (a PyTorch state_dict)
  args.flag("measures", "also measure each photograph's vessels (CRAE, CRVE, AVR, ...; docs/MEASURES.md) into the table")
      .option("measures-overlay", "", "with --measures: draw the disc, zones and measured vessels into DIR/KEY.png", "DIR");
  add_scale_options(args);
  add_device_option(args);
  if (!args.parse(argc, argv)) return 0;

  if (args.given("merge-manifests")) {
    std::vector<std::string> expected;
    if (!args.all("input").empty())
      for (const InputPhoto& photo : list_inputs(args.all("input"), args.on("recursive"), args.str("merge-manifests")))
        expected.push_back(photo.key);
    return merge_manifests(args.str("merge-manifests"), expected);
  }
  if (args.all("input").empty()) throw UsageError("missing -i PATH (a photograph, a folder or a list of photographs)");
  if (!args.given("out")) throw UsageError("missing -o DIR (where to write the predictions)");
  PipelineSettings settings;
  settings.inference.size = args.integer("size");
  settings.inference.tiled = args.on("tiled");
  settings.inference.tile = args.integer("tile");
  settings.inference.stride = args.integer("stride");
  if (args.on("flips") && args.on("no-flips")) throw UsageError("--flips and --no-flips: give one (flips are the default)");
  settings.inference.flips = !args.on("no-flips");
  settings.postprocess = !args.on("no-postprocess");
  settings.postprocess_settings = postprocess_settings_from(args);
  settings.out = args.str("out");
  settings.batch = args.integer("batch");
  settings.sequential = args.on("sequential");
  if (settings.batch < 1 || settings.batch > 256) throw UsageError("--batch must be 1 to 256");
  settings.measures = args.on("measures");
  settings.measure_scale = scale_option(args);
  settings.measures_overlay = args.str("measures-overlay");
  if (!settings.measures && (args.given("measures-overlay") || args.given("pixel-size") || args.given("fov-degrees")))
    throw UsageError("--measures-overlay, --pixel-size and --fov-degrees go with --measures");
  const bool overwrite = args.on("overwrite");
  const Shard shard = choose_shard(args.str("shard"));
  const std::vector<InputPhoto> all = list_inputs(args.all("input"), args.on("recursive"), args.str("out"));
  const std::vector<InputPhoto> mine = photos_of_shard(all, shard);
  const fs::path& out = settings.out;
  std::vector<std::string> weights = args.all("weights");
  if (weights.empty()) {
    weights.push_back(shipped_model_path());
    std::fprintf(stderr, "predict: using the shipped model %s\n", weights.front().c_str());
  }
  std::vector<std::string> hashes;
  for (const std::string& file : weights) {
    require_regular_file(file, "--weights");
    hashes.push_back(sha256_file_hex(file));
  }
  settings.model_sha256 = joined(hashes, "+");

  const nlohmann::json record = settings_record(joined(weights, " + "), settings.model_sha256, settings.inference,
                                                settings.postprocess, settings.postprocess_settings,
                                                args.str("conv-precision"));
  check_earlier_settings(out, record, overwrite);
  const std::map<std::string, ManifestRow> earlier = earlier_rows(out, shard);
  std::vector<InputPhoto> todo;
  std::map<std::string, ManifestRow> rows;  // by path
  for (const InputPhoto& photo : mine) {
    if (!overwrite && outputs_complete(out, photo.key)) rows[photo.key] = row_of_finished(photo, earlier, settings.model_sha256);
    else todo.push_back(photo);
  }
  refuse_outputs_over_inputs(out, todo, all);
  std::fprintf(stderr, "predict: shard %d/%d (%s): %zu of %zu photographs, %zu done earlier, %zu to predict\n",
               shard.index, shard.count, shard.source.c_str(), mine.size(), all.size(), mine.size() - todo.size(),
               todo.size());
  if (args.on("dry-run")) {
    for (const InputPhoto& photo : mine)
      std::printf("%s\t%s\n", rows.count(photo.key) ? "done" : "todo", photo.key.c_str());
    return 0;
  }

  const Device device = chosen_device(args);
  std::vector<std::unique_ptr<SeqNet>> loaded;
  std::vector<SeqNet*> models;
  for (size_t m = 0; m < weights.size(); ++m) {
    loaded.push_back(load_model(weights[m], device, model_config_for_weights(args, weights[m], stderr)));
    models.push_back(loaded.back().get());
    try {
      settings.inference.validate(models.back()->config());
    } catch (const std::invalid_argument& e) {
      throw UsageError(weights[m] + ": " + e.what());
    }
    if (weights.size() > 1)
      std::fprintf(stderr, "predict: ensemble member %zu of %zu: %s, %s (sha256 %.12s)\n", m + 1, weights.size(),
                   weights[m].c_str(), models.back()->config().describe().c_str(), hashes[m].c_str());
  }
  const InferenceSettings& inference = settings.inference;
  const std::string model_description =
      weights.size() > 1 ? "an ensemble of " + std::to_string(weights.size()) + " models, maps averaged"
                         : models.front()->config().describe() + " (sha256 " + hashes.front().substr(0, 12) + ")";
  std::fprintf(stderr, "predict: %s; %dx%d %s, post-processing %s, %s\n", model_description.c_str(), inference.size,
               inference.size,
               inference.tiled ? ("in " + std::to_string(inference.tile) + "-pixel tiles every " +
                                  std::to_string(inference.stride)).c_str()
                               : "whole",
               settings.postprocess ? "on" : "off",
               settings.sequential ? "one photograph at a time"
                                   : ("pipelined, batch " + std::to_string(settings.batch)).c_str());

  for (const char* folder : kOutputFolders) fs::create_directories(out / folder);
  write_file_atomically((out / "predict.json").string(), record.dump(2) + "\n");
  std::set<std::string> todo_keys;
  for (const InputPhoto& photo : todo) todo_keys.insert(photo.key);
  if (const int removed = remove_leftover_temporary_files(out, todo_keys))
    std::fprintf(stderr, "predict: removed %d temporary file%s a killed run left\n", removed, removed == 1 ? "" : "s");

  ManifestJournal journal(shard_table_path(out, shard.index, shard.count, ".partial.csv"), settings.measures);
  std::vector<std::string> failed;
  int done = 0;
  const auto start = std::chrono::steady_clock::now();
  const StageSeconds stages = run_prediction_pipeline(models, todo, settings, [&](const ManifestRow& row) {
    journal.append(row);
    rows[row.path] = row;
    if (row.status == "error") {
      std::fprintf(stderr, "%spredict: %s: %s\n", isatty(fileno(stderr)) ? "\n" : "", row.path.c_str(), row.message.c_str());
      failed.push_back(row.path);
    }
    show_progress(++done, int(todo.size()), row.path + (row.status == "error" ? " (unreadable)" : ""));
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (isatty(fileno(stderr)) && !todo.empty()) std::fprintf(stderr, "\n");

  std::vector<ManifestRow> table;
  for (const InputPhoto& photo : mine) table.push_back(rows.at(photo.key));
  write_shard_table(out, shard.index, shard.count, table, args.on("json"));
  fs::remove(shard_table_path(out, shard.index, shard.count, ".partial.csv"));

  const int written = int(todo.size() - failed.size());
  std::printf("predict: wrote %d image%s to %s/{out_seg,out_art,out_vei,out_final,overlay} in %.1f s (%.2f photographs/s); "
              "table %s\n",
              written, written == 1 ? "" : "s", out.string().c_str(), seconds, seconds > 0 ? todo.size() / seconds : 0.0,
              shard_table_path(out, shard.index, shard.count).string().c_str());
  if (!todo.empty())
    std::printf("predict: stages' seconds a photograph: decoding %.3f, model %.3f, post-processing and writing %.3f\n",
                stages.decode / todo.size(), stages.model / todo.size(), stages.finish / todo.size());
  if (!todo.empty() && settings.measures)
    std::printf("predict: of which the measures %.3f s a photograph\n", stages.measures / todo.size());
  if (!failed.empty()) {
    std::fprintf(stderr, "predict: %d of %d images could not be read:", int(failed.size()), int(todo.size()));
    for (const std::string& f : failed) std::fprintf(stderr, " %s", f.c_str());
    std::fprintf(stderr, "\n");
    return 1;
  }
  return 0;
}

const bool registered = register_command({"predict", "vessel and artery/vein maps for photographs", 20, run});

}  // namespace

}  // namespace seqnet::cli
