// trainer.h: training SeqNet (`seqnet train`): load and check every image, split off a validation
// set, then epochs of Adam steps on random augmented crops, validated and checkpointed.
//
// A run folder holds:
//   settings.json       the settings of the run (TrainSettings::to_json)
//   last.safetensors    the checkpoint after the latest epoch: weights, running statistics,
//                       "optimizer.m"/"optimizer.v" (Adam's moments), and in the metadata the
//                       config, settings, step, epoch, next batch index and best score
//   best.safetensors    the same, from the epoch with the best validation score
//   log.jsonl           one JSON object per logged step and per validation
//   curves.png          training loss and validation scores (train/plot.h)
// Both checkpoints are also plain weights files (model/weights.h skips the optimizer tensors).
//
// Under `mpirun -np R` the batch is split over R ranks (train/distributed.h): each rank trains
// on batch/R crops, the gradients are averaged, and rank 0 alone logs, validates and writes the
// run folder (which must be on a file system every rank sees: each reads it on --resume). The
// checkpoint records R; a run may resume with another R (the batches do not depend on it).
//
// Exact resume: every random number is a function of the seed and a counter (the model's
// initialisation of the seed, batch i of (seed, i), dropout of (seed, step)), and a checkpoint
// stores the counters, so a resumed run repeats an uninterrupted one step for step.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/tensor.h"
#include "model/config.h"
#include "model/loss.h"
#include "train/augment.h"
#include "train/av_targets.h"
#include "train/lr_schedule.h"

namespace seqnet {

// Which validation score picks best.safetensors: vessel ROC AUC (ties by A/V accuracy; the
// original's) or artery/vein accuracy (ties by vessel AUC).
enum class Selection { vessel_auc, av_accuracy };
std::string to_string(Selection selection);          // "vessel" or "av"
Selection selection_from(const std::string& name);  // throws std::invalid_argument

struct TrainSettings {
  std::vector<std::string> data_dirs;  // datasets (find_dataset layout), combined
  std::string run_dir;
  ModelConfig model;
  int batch = 24;            // crops per step
  int crops_per_image = 4;   // 6 images x 4 crops, as the original
  int crop = 128;            // crop side
  int size = 576;            // every image is resized to size x size first
  int epochs = 200;
  int steps_per_epoch = 0;   // 0: 100 * training images / batch, as the original
  double lr = 1e-3;
  uint64_t seed = 0;
  // The seed of the validation split alone (the folds, or the val_fraction hold-out); unset:
  // `seed`. Runs of other seeds on the same split differ only in their initialisation and
  // batches: the members of a cross-validated ensemble (docs/MODEL.md).
  std::optional<uint64_t> split_seed;
  uint64_t effective_split_seed() const { return split_seed.value_or(seed); }
  // How the convolutions multiply (--conv-precision: fp32, tf32 on the GPU, bf16 on the CPU;
  // kernels/ops.h): stored, so that a resumed run keeps it. The caller sets it in ops; the trainer
  // only records it.
  std::string conv_precision = "fp32";
  int workers = 2;           // batch-preparing threads
  double val_fraction = 0.1; // of the images (at least one) held out for validation
  // Cross-validation (folds >= 2): every dataset's images are dealt into `folds` folds (stratified:
  // each fold holds its share of every dataset) and fold `fold` (1-based) validates; val_fraction
  // is then unused. folds = 0: the seeded val_fraction split.
  int folds = 0, fold = 0;
  Selection select = Selection::vessel_auc;  // what makes a validation the best so far
  double ema = 0;            // decay of the weight average that is validated and exported; 0: none
  bool ema_warmup = false;   // the average's decay rises to `ema` over the first steps (weight_average.h)
  int val_every = 1;         // epochs between validations
  int log_every = 10;        // steps between log lines
  ArteryVeinLoss av_loss = ArteryVeinLoss::all_pixels;  // pixels the artery/vein terms average over
  ArteryVeinTargets av_targets = ArteryVeinTargets::original;  // what crossings and uncertain pixels teach
  HeadWeights head_weights = HeadWeights::equal;               // how each branch's heads weigh in the loss
  AugmentPreset augment = AugmentPreset::original;             // the augmentation's ranges (train/augment.h)
  LrSchedule lr_schedule = LrSchedule::constant;         // over epochs * steps_per_epoch steps
  bool sync_batchnorm = false;  // over several MPI ranks: batch-norm statistics over all of them
  Device device = Device::cpu;
  bool resume = false;       // continue run_dir/last.safetensors

  // The settings that define the run (not device, resume): what settings.json and checkpoints hold.
  nlohmann::json to_json() const;
  static TrainSettings from_json(const nlohmann::json& json);
  // Throws std::invalid_argument naming the setting that is out of range.
  void validate() const;
};

// The settings stored in run_dir/last.safetensors (for --resume); errors name the file.
TrainSettings stored_run_settings(const std::string& run_dir);
std::string last_checkpoint_path(const std::string& run_dir);
std::string best_checkpoint_path(const std::string& run_dir);

// The loss or the gradients (checked every step on the CPU) became NaN or infinite, the same on
// every rank: training stopped, the last checkpoint was left as it was. (Weights found non-finite
// before a checkpoint, on rank 0 alone, stop it with a std::runtime_error saying so.)
struct NonFiniteLossError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TrainSummary {
  int64_t steps = 0;            // steps completed in total (including before a resume)
  double best_score = 0;        // the selected score (settings.select) of the best validation
  double last_vessel_auc = 0, last_av_accuracy = 0;
  int stopped_by_signal = 0;    // SIGINT or SIGTERM when one stopped the run early (state checkpointed)
};

// Runs training to settings.epochs. Progress lines go to `progress` (nullptr: silent).
// Throws std::runtime_error naming the file for unusable data (before the first step) or for a
// checkpoint that cannot be written (the previous one stays whole), and NonFiniteLossError when
// the loss or the gradients stop being finite. SIGINT or SIGTERM (train/stop_signals.h) end it early: the state
// at the last completed step goes to last.safetensors, resumable, and the summary says which signal.
TrainSummary train(const TrainSettings& settings, std::FILE* progress = stderr);

}  // namespace seqnet
