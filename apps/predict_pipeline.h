// predict_pipeline.h: predicting many photographs with their decoding, the model and the writing
// overlapped. Three stages joined by small bounded queues:
//
//   reader thread: read + decode photograph i+1, i+2   (ImageError -> an error row, not the end)
//   caller thread: the model (or each model of an ensemble) on up to `batch` decoded photographs at once
//   writer thread: post-processing, the manifest's fractions, the five PNGs of photograph i-1
//                  (and its vascular measures with --measures)
//
// The queues hold 2 x batch photographs each, so memory stays bounded however many photographs
// there are. `sequential` runs the same stages one after another in one thread (for comparison).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "apps/manifest.h"
#include "apps/predict_inputs.h"
#include "eval/postprocess.h"
#include "measure/photo_measures.h"
#include "model/inference.h"

namespace seqnet::cli {

struct PipelineSettings {
  InferenceSettings inference;
  bool postprocess = true;
  PostprocessSettings postprocess_settings;
  std::filesystem::path out;
  std::string model_sha256;  // copied into every row (an ensemble's: its members', joined by '+')
  int batch = 1;             // photographs per forward of the model
  bool sequential = false;
  bool measures = false;                        // --measures: the vascular measures into each row
  measure::ScaleOption measure_scale;
  std::filesystem::path measures_overlay;       // "" = no pictures of the measures
};

// Seconds each stage worked, summed over the photographs: in the pipeline the wall time
// approaches the largest of them when cores are free to overlap the stages; in one thread it is
// their sum.
struct StageSeconds {
  double decode = 0, model = 0, finish = 0;  // finish: post-processing, fractions, PNG writing, measures
  double measures = 0;                        // the part of finish spent on the measures
};

// Predicts every photograph of `photos` with `models` (one, or an ensemble whose maps are averaged:
// model/inference.h) and writes its maps (predict_outputs.h). `on_finished` is
// called once per photograph, in the order of `photos`, from one thread at a time, with its row
// (status ok, or error with the reason). A failure other than an unreadable photograph (a full
// disk, a GPU error) stops the stages and is rethrown here.
StageSeconds run_prediction_pipeline(const std::vector<SeqNet*>& models, const std::vector<InputPhoto>& photos,
                                     const PipelineSettings& settings,
                                     const std::function<void(const ManifestRow&)>& on_finished);

}  // namespace seqnet::cli
