// trainer.cpp: the training loop (trainer.h).
#include "train/trainer.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>

#include "eval/metrics.h"
#include "io/atomic_file.h"
#include "io/json_number.h"
#include "io/safetensors.h"
#include "kernels/ops.h"
#include "model/loss.h"
#include "model/seqnet.h"
#include "model/weights.h"
#include "preprocess/input_normalisation.h"
#include "synth/random.h"
#include "layers/adam_optimizer.h"
#include "train/batch_loader.h"
#include "train/conv3x3_choices_json.h"
#include "train/dataset.h"
#include "train/distributed.h"
#include "train/plot.h"
#include "train/split.h"
#include "train/stop_signals.h"
#include "train/weight_average.h"

namespace seqnet {

namespace fs = std::filesystem;

// ---- Settings ----------------------------------------------------------------------------------

std::string to_string(Selection selection) { return selection == Selection::av_accuracy ? "av" : "vessel"; }

Selection selection_from(const std::string& name) {
  if (name == "vessel") return Selection::vessel_auc;
  if (name == "av") return Selection::av_accuracy;
  throw std::invalid_argument("the selection score must be 'vessel' or 'av', got '" + name + "'");
}

nlohmann::json TrainSettings::to_json() const {
  return {{"data", data_dirs},
          {"model", nlohmann::json::parse(model.to_json())},
          {"batch", batch},
          {"crops_per_image", crops_per_image},
          {"crop", crop},
          {"size", size},
          {"epochs", epochs},
          {"steps_per_epoch", steps_per_epoch},
          {"lr", lr},
          {"seed", seed},
          {"split_seed", effective_split_seed()},
          {"workers", workers},
          {"val_fraction", val_fraction},
          {"folds", folds},
          {"fold", fold},
          {"select", to_string(select)},
          {"ema", ema},
          {"ema_warmup", ema_warmup},
          {"val_every", val_every},
          {"log_every", log_every},
          {"av_loss", to_string(av_loss)},
          {"av_targets", to_string(av_targets)},
          {"head_weights", to_string(head_weights)},
          {"augment", to_string(augment)},
          {"lr_schedule", to_string(lr_schedule)},
          {"sync_batchnorm", sync_batchnorm},
          {"conv_precision", conv_precision}};
}

TrainSettings TrainSettings::from_json(const nlohmann::json& j) {
  TrainSettings s;
  s.data_dirs = j.at("data").get<std::vector<std::string>>();
  s.model = ModelConfig::from_json(j.at("model").dump());
  // Checked conversions: the JSON comes from a checkpoint file (io/json_number.h).
  for (auto [key, field] : {std::pair{"batch", &s.batch}, {"crops_per_image", &s.crops_per_image}, {"crop", &s.crop},
                            {"size", &s.size}, {"epochs", &s.epochs}, {"steps_per_epoch", &s.steps_per_epoch},
                            {"workers", &s.workers}, {"val_every", &s.val_every}, {"log_every", &s.log_every}})
    *field = json_integer<int>(j.at(key), key);
  s.lr = json_real<double>(j.at("lr"), "lr");
  s.seed = json_integer<uint64_t>(j.at("seed"), "seed");
  // Runs written before --split-seed split by their seed.
  if (j.contains("split_seed")) s.split_seed = json_integer<uint64_t>(j.at("split_seed"), "split_seed");
  s.val_fraction = json_real<double>(j.at("val_fraction"), "val_fraction");
  // Runs written before cross-validation, selection, the average and the targets existed.
  if (j.contains("folds")) s.folds = json_integer<int>(j.at("folds"), "folds");
  if (j.contains("fold")) s.fold = json_integer<int>(j.at("fold"), "fold");
  if (j.contains("ema")) s.ema = json_real<double>(j.at("ema"), "ema");
  s.ema_warmup = j.value("ema_warmup", false);  // absent before the option: no warm-up
  s.select = selection_from(j.value("select", std::string("vessel")));
  s.av_targets = artery_vein_targets_from(j.value("av_targets", std::string("original")));
  s.head_weights = head_weights_from(j.value("head_weights", std::string("equal")));
  s.augment = augment_preset_from(j.value("augment", std::string("original")));  // absent before the option
  // Runs written before the option existed trained on all pixels.
  s.av_loss = artery_vein_loss_from(j.value("av_loss", std::string("all")));
  s.lr_schedule = lr_schedule_from(j.value("lr_schedule", std::string("constant")));
  s.sync_batchnorm = j.value("sync_batchnorm", false);  // absent in runs from before MPI
  s.conv_precision = j.value("conv_precision", std::string("fp32"));  // absent before the option
  return s;
}

// More batch-preparing threads than this cannot help (a batch is a few images) and, in the
// thousands, fail to start at all.
constexpr int kMaxWorkers = 256;

void TrainSettings::validate() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(what);
  };
  model.validate();
  const int multiple = model.size_multiple();
  require(!data_dirs.empty(), "no dataset given (--data DIR)");
  require(!run_dir.empty(), "no run folder given (-o RUNDIR)");
  require(batch >= 1, "batch must be at least 1, got " + std::to_string(batch));
  require(crops_per_image >= 1 && batch % crops_per_image == 0,
          "batch (" + std::to_string(batch) + ") must be a multiple of crops-per-image (" + std::to_string(crops_per_image) + ")");
  require(crop >= 1 && crop % multiple == 0,
          "crop " + std::to_string(crop) + " must be a positive multiple of " + std::to_string(multiple) + " for this model's depth");
  require(size % multiple == 0 && size >= crop,
          "size " + std::to_string(size) + " must be a multiple of " + std::to_string(multiple) + " and at least the crop (" +
              std::to_string(crop) + ")");
  require(epochs >= 1, "epochs must be at least 1, got " + std::to_string(epochs));
  require(steps_per_epoch >= 0, "steps-per-epoch must be positive (or 0 for the default), got " + std::to_string(steps_per_epoch));
  require(std::isfinite(lr) && lr > 0, "lr must be a positive number");
  require(workers >= 1 && workers <= kMaxWorkers, "workers must be 1 to " + std::to_string(kMaxWorkers) +
                                                       " (threads preparing batches), got " + std::to_string(workers));
  require(val_fraction >= 0 && val_fraction < 1, "val-fraction must be in [0, 1), got " + std::to_string(val_fraction));
  require(folds == 0 || (folds >= 2 && folds <= 100), "folds must be 0 (no cross-validation) or in [2, 100], got " + std::to_string(folds));
  require(folds == 0 ? fold == 0 : fold >= 1 && fold <= folds,
          folds == 0 ? "a fold (--fold K) needs the number of folds (--folds N)"
                     : "fold must be in [1, " + std::to_string(folds) + "], got " + std::to_string(fold));
  require(ema == 0 || (ema > 0 && ema < 1), "ema must be 0 (off) or a decay in (0, 1), got " + std::to_string(ema));
  require(!ema_warmup || ema > 0, "ema-warmup needs a weight average (--ema DECAY)");
  require(av_targets == ArteryVeinTargets::original || av_loss == ArteryVeinLoss::vessel_pixels,
          "av-targets 'both' leaves uncertain pixels out of the artery/vein loss, which needs av-loss 'vessel'");
  require(val_every >= 1, "val-every must be at least 1, got " + std::to_string(val_every));
  require(log_every >= 1, "log-every must be at least 1, got " + std::to_string(log_every));
}

std::string last_checkpoint_path(const std::string& run_dir) { return (fs::path(run_dir) / "last.safetensors").string(); }
std::string best_checkpoint_path(const std::string& run_dir) { return (fs::path(run_dir) / "best.safetensors").string(); }

namespace {

// Independent random streams drawn from the one seed (synth::derive_seed is SplitMix64 of the pair).
enum Stream : uint64_t { kInitStream = 1, kSplitStream = 2, kBatchStream = 3, kDropoutStream = 4 };

nlohmann::json checkpoint_metadata(const TensorFile& file, const std::string& path, const char* key) {
  auto it = file.metadata.find(key);
  if (it == file.metadata.end()) throw std::runtime_error(path + " is not a training checkpoint (no '" + key + "' metadata)");
  try {
    return nlohmann::json::parse(it->second);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": metadata '" + key + "' is not valid JSON: " + e.what());
  }
}

}  // namespace

TrainSettings stored_run_settings(const std::string& run_dir) {
  const std::string path = last_checkpoint_path(run_dir);
  if (!fs::exists(path)) throw std::runtime_error("cannot resume: " + path + " does not exist (no epoch of this run finished)");
  const TensorFile file = read_safetensors(path);
  try {
    TrainSettings s = TrainSettings::from_json(checkpoint_metadata(file, path, "settings"));
    s.run_dir = run_dir;
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": the stored settings are incomplete: " + e.what());
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": a stored setting is unusable: " + e.what());
  }
}

namespace {

// ---- Data --------------------------------------------------------------------------------------

// Every image of every dataset, checked, resized (and normalised when the model asks for it), in
// the order of their sorted paths; dataset[i] is the --data folder image i came from.
struct LoadedImages {
  std::vector<LabeledImage> images;
  std::vector<int> dataset;
};

LoadedImages load_images(const TrainSettings& s, std::FILE* progress) {
  find_datasets(s.data_dirs);  // refuses a photograph given twice (same file or same bytes)
  std::vector<std::pair<DatasetItem, int>> items;
  for (size_t d = 0; d < s.data_dirs.size(); ++d)
    for (DatasetItem& item : find_dataset(s.data_dirs[d])) items.push_back({std::move(item), int(d)});
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first.image < b.first.image; });
  LoadedImages loaded;
  for (size_t i = 0; i < items.size(); ++i) {
    const DatasetItem& item = items[i].first;
    if (progress) std::fprintf(progress, "train: loading %zu/%zu %s\n", i + 1, items.size(), item.image.c_str());
    LabeledImage image = resize_labeled(load_labeled(item), s.size);
    image.name = item.image;  // the full path: names stay unique across datasets and errors name the file
    if (s.model.input_norm == InputNorm::fov) normalise_photograph(image.rgb, image.fov);
    loaded.images.push_back(std::move(image));
    loaded.dataset.push_back(items[i].second);
  }
  return loaded;
}

// Validation scores need vessel and background pixels and some artery or vein pixels in the FOV;
// an image without them is reported now rather than after the first epoch.
void check_validation_image(const LabeledImage& image) {
  bool vessel = false, background = false, artery_or_vein = false;
  for (size_t i = 0; i < image.fov.size(); ++i) {
    if (!image.fov[i]) continue;
    const auto c = LabelClass(image.label_class[i]);
    (c == LabelClass::background ? background : vessel) = true;
    artery_or_vein |= c == LabelClass::artery || c == LabelClass::vein;
  }
  if (!vessel || !background || !artery_or_vein)
    throw std::runtime_error("validation image " + image.name +
                             ": its field of view (at the working size) needs vessel, background and artery or vein "
                             "pixels to be scored");
}

struct Split {
  std::shared_ptr<std::vector<LabeledImage>> training = std::make_shared<std::vector<LabeledImage>>();
  std::vector<LabeledImage> validation;
};

Split split_images(LoadedImages loaded, const TrainSettings& s) {
  const std::vector<bool> validates =
      validation_images(loaded.dataset, SplitSettings{synth::derive_seed(s.effective_split_seed(), kSplitStream),
                                                      s.val_fraction, s.folds, s.fold});
  Split split;
  for (size_t i = 0; i < loaded.images.size(); ++i)
    (validates[i] ? split.validation : *split.training).push_back(std::move(loaded.images[i]));
  if (split.training->empty()) throw std::runtime_error("no image is left to train on after the validation split");
  auto by_name = [](const LabeledImage& a, const LabeledImage& b) { return a.name < b.name; };
  std::sort(split.validation.begin(), split.validation.end(), by_name);
  std::sort(split.training->begin(), split.training->end(), by_name);
  for (const LabeledImage& image : split.validation) check_validation_image(image);
  return split;
}

// ---- Validation --------------------------------------------------------------------------------

struct Scores {
  double vessel_auc = 0, av_accuracy = 0;
  bool better_than(const Scores& o, Selection by) const {
    if (by == Selection::av_accuracy)
      return av_accuracy > o.av_accuracy || (av_accuracy == o.av_accuracy && vessel_auc > o.vessel_auc);
    return vessel_auc > o.vessel_auc || (vessel_auc == o.vessel_auc && av_accuracy > o.av_accuracy);
  }
  double selected(Selection by) const { return by == Selection::av_accuracy ? av_accuracy : vessel_auc; }
};

// Each validation image whole at the working size, in evaluation mode: the vessel probability is
// sigmoid of the last segmentation head, artery and vein of the last classification head.
Scores validate(SeqNet& model, const std::vector<LabeledImage>& images, int size) {
  const Device device = model.device();
  Tensor x_host = Tensor::empty({1, 3, size, size});
  Tensor x = Tensor::empty({1, 3, size, size}, device);
  Tensor seg_prob = Tensor::empty({1, 1, size, size}, device), cls_prob = Tensor::empty({1, 2, size, size}, device);
  VesselEvaluation vessel;
  AVEvaluation av;
  const size_t plane = size_t(size) * size;
  for (const LabeledImage& image : images) {
    for (size_t i = 0; i < plane; ++i)
      for (int c = 0; c < 3; ++c) x_host.f32()[c * plane + i] = image.rgb.pixels[i * 3 + c];
    x.copy_from(x_host);
    const SeqNetOutputs& out = model.forward(x, Mode{false, 0});
    ops::sigmoid_forward(seg_prob, out.seg.back());
    ops::sigmoid_forward(cls_prob, out.cls.back());
    const std::vector<float> p_vessel = seg_prob.to_floats(), p_cls = cls_prob.to_floats();
    const std::span<const float> p_artery(p_cls.data(), plane), p_vein(p_cls.data() + plane, plane);
    vessel.add_image(image.name, p_vessel, vessel_truth_from_classes(image.label_class), image.fov);
    av.add_image(image.name, p_artery, p_vein, p_vessel, image.label_class, image.fov);
  }
  return {vessel.result().pooled.roc_auc, av.result().pooled.all.accuracy};
}

// ---- Checkpoints -------------------------------------------------------------------------------

struct Counters {
  int64_t step = 0;            // steps completed
  uint64_t next_batch = 0;     // BatchLoader index of the next batch
  Scores best{-1, -1};         // best validation so far
  int64_t last_saved_step = -1;
  int ranks = 1;               // of the data-parallel job that wrote the checkpoint
  std::string conv3x3_note;    // what became of the checkpoint's 3x3 algorithm choices
};

// True when every float of `t` is finite (read from a host copy when it lives on the GPU).
bool all_finite(const Tensor& t) {
  const Tensor host = t.device() == Device::cpu ? t : t.to(Device::cpu);
  const float* values = host.f32();
  for (int64_t i = 0; i < host.numel(); ++i)
    if (!std::isfinite(values[i])) return false;
  return true;
}

// Tests only: SEQNET_TEST_NAN_GRADIENT_AT_STEP=N makes the first gradient NaN at step N (1-based)
// on the CPU, as a backward pass that overflowed under a finite loss would. Unset (always,
// outside tests) it costs one getenv per step.
void inject_test_gradient_fault(Tensor& grads, int64_t step) {
  const char* at = std::getenv("SEQNET_TEST_NAN_GRADIENT_AT_STEP");
  if (at && std::atoll(at) == step && grads.device() == Device::cpu && grads.numel() > 0)
    grads.f32()[0] = std::nanf("");
}

// The weight average's tensors in a checkpoint, beside Adam's moments (`seqnet export` writes them
// as the model's weights and running statistics; model/weights.h names them).
const std::pair<const char*, Tensor& (WeightAverage::*)()> kAverageTensors[] = {
    {kAverageWeightsTensor, &WeightAverage::weights}, {kAverageStatisticsTensor, &WeightAverage::statistics}};

void save_checkpoint(const std::string& path, SeqNet& model, AdamOptimizer& adam, const WeightAverage* average,
                     const TrainSettings& s, const Counters& counters, int epoch) {
  // Never overwrite a good checkpoint with broken weights (the guards in train() should have
  // stopped first; this one also covers the GPU, whose gradients are not read back every step).
  if (!all_finite(model.params().values()))
    throw NonFiniteLossError("the weights became nan or inf by step " + std::to_string(counters.step));
  TensorFile file;
  file.tensors = model.params().to_named_tensors();
  file.tensors[std::string(kOptimizerPrefix) + "m"] = adam.first_moment().to(Device::cpu);
  file.tensors[std::string(kOptimizerPrefix) + "v"] = adam.second_moment().to(Device::cpu);
  if (average) {
    file.tensors[kAverageWeightsTensor] = average->weights();
    file.tensors[kAverageStatisticsTensor] = average->statistics();
  }
  file.metadata["config"] = model.config().to_json();
  file.metadata["format"] = "seqnet-weights";
  file.metadata["settings"] = s.to_json().dump();
  file.metadata["training"] = nlohmann::json{{"step", counters.step},
                                             {"epoch", epoch},
                                             {"seed", s.seed},
                                             {"next_batch_index", counters.next_batch},
                                             {"adam_steps", adam.steps_taken()},
                                             {"best_vessel_auc", counters.best.vessel_auc},
                                             {"best_av_accuracy", counters.best.av_accuracy},
                                             {"selected_by", to_string(s.select)},
                                             {"ranks", counters.ranks}}
                                  .dump();
  file.metadata["conv3x3"] = conv3x3_choices_to_json().dump();  // so a resume rounds the same
  write_safetensors(path, file);
}

Counters restore_checkpoint(const std::string& path, SeqNet& model, AdamOptimizer& adam, WeightAverage* average) {
  const TensorFile file = read_safetensors(path);
  const ModelConfig stored = ModelConfig::from_json(file.metadata.count("config") ? file.metadata.at("config") : "{}");
  if (stored.to_json() != model.config().to_json())
    throw std::runtime_error(path + " holds a model " + stored.describe() + ", not the " + model.config().describe() + " asked for");
  load_weights_into(model, path);
  for (auto [name, moment] : {std::pair{"m", &adam.first_moment()}, std::pair{"v", &adam.second_moment()}}) {
    auto it = file.tensors.find(std::string(kOptimizerPrefix) + name);
    if (it == file.tensors.end()) throw std::runtime_error(path + " has no optimizer state (tensor optimizer." + name + ")");
    expect_shape(it->second, moment->shape(), path + ": optimizer." + name);
    moment->copy_from(it->second);
  }
  for (auto [name, part] : kAverageTensors) {
    if (!average) break;
    auto it = file.tensors.find(name);
    if (it == file.tensors.end()) throw std::runtime_error(path + " has no weight average (tensor " + name + ")");
    Tensor& into = (average->*part)();
    expect_shape(it->second, into.shape(), path + ": " + name);
    into.copy_from(it->second);
  }
  const nlohmann::json t = checkpoint_metadata(file, path, "training");
  Counters c;
  try {
    c.step = json_integer<int64_t>(t.at("step"), "step");
    c.next_batch = json_integer<uint64_t>(t.at("next_batch_index"), "next_batch_index");
    c.best = {json_real<double>(t.at("best_vessel_auc"), "best_vessel_auc"),
              json_real<double>(t.at("best_av_accuracy"), "best_av_accuracy")};
    adam.set_steps_taken(json_integer<int64_t>(t.at("adam_steps"), "adam_steps"));
  } catch (const std::exception& e) {  // json's out_of_range (a missing counter) or invalid_argument
    throw std::runtime_error(path + ": metadata 'training' is unusable: " + e.what());
  }
  c.last_saved_step = c.step;
  c.ranks = t.value("ranks", 1);
  if (file.metadata.count("conv3x3")) {
    const nlohmann::json choices = nlohmann::json::parse(file.metadata.at("conv3x3"), nullptr, false);
    if (choices.is_discarded()) throw std::runtime_error(path + ": metadata 'conv3x3' is not JSON");
    c.conv3x3_note = preset_conv3x3_choices_from_json(choices, path);
  }
  return c;
}

// ---- Log and progress --------------------------------------------------------------------------

// Keeps the log lines of steps up to `step` (an interrupted run may have logged past its last
// checkpoint) and returns the curves they describe.
TrainingCurves reload_log(const std::string& path, int64_t step) {
  TrainingCurves curves;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step") || j.at("step").get<int64_t>() > step) continue;
    kept += line + "\n";
    const double at = j.at("step").get<double>();
    if (j.value("event", "") == "step") curves.loss.push_back({at, j.at("loss").get<double>()});
    if (j.value("event", "") == "validation") {
      curves.vessel_auc.push_back({at, j.at("vessel_auc").get<double>()});
      curves.av_accuracy.push_back({at, j.at("av_accuracy").get<double>()});
    }
  }
  write_file_atomically(path, kept);
  return curves;
}

// A run killed while writing a checkpoint leaves its temporary file ("last.safetensors.tmp-PID",
// io/atomic_file.h) beside the intact previous checkpoint; the next run in the folder removes it.
void remove_unfinished_writes(const std::string& run_dir, std::FILE* progress) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("last.safetensors.tmp-", 0) != 0 && name.rfind("best.safetensors.tmp-", 0) != 0) continue;
    if (progress) std::fprintf(progress, "train: removing %s, a checkpoint write that was interrupted\n", entry.path().c_str());
    fs::remove(entry.path(), ec);
  }
}

std::string duration_text(double seconds) {
  const int64_t s = int64_t(std::max(0.0, seconds));
  char text[32];
  if (s >= 3600) std::snprintf(text, sizeof text, "%lldh%02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
  else std::snprintf(text, sizeof text, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  return text;
}

}  // namespace

// ---- The loop ----------------------------------------------------------------------------------

TrainSummary train(const TrainSettings& requested, std::FILE* progress) {
  TrainSettings s = requested;
  s.validate();
  // Data-parallel over MPI ranks (train/distributed.h): rank 0 alone reports, validates and writes.
  Communicator& comm = world();
  check_batch_split(s.batch, s.crops_per_image, comm.ranks());
  if (!comm.root()) progress = nullptr;
  auto say = [&](const char* format, auto... args) {
    if (!progress) return;
    std::fprintf(progress, format, args...);
    std::fflush(progress);
  };

  // 1. Every image loaded and checked before anything is trained, then the split.
  Split data = split_images(load_images(s, progress), s);
  if (s.folds > 0) say("train: cross-validation fold %d of %d (stratified by dataset)\n", s.fold, s.folds);
  const size_t n_train = data.training->size();
  if (s.steps_per_epoch == 0) {
    s.steps_per_epoch = std::max(1, int(100 * n_train / size_t(s.batch)));
    say("train: steps per epoch %d (100 x %zu training images / batch %d)\n", s.steps_per_epoch, n_train, s.batch);
  }
  say("train: %zu training and %zu validation images at %dx%d; validation:", n_train, data.validation.size(), s.size, s.size);
  for (const LabeledImage& image : data.validation) say(" %s", fs::path(image.name).filename().string().c_str());
  say("\n");

  // 2. The model, the optimizer and, when resuming, their state.
  fs::create_directories(s.run_dir);
  const std::string last_path = last_checkpoint_path(s.run_dir), best_path = best_checkpoint_path(s.run_dir);
  const std::string log_path = (fs::path(s.run_dir) / "log.jsonl").string();
  const std::string curves_path = (fs::path(s.run_dir) / "curves.png").string();
  SeqNet model(s.model, s.device, DType::f32, synth::derive_seed(s.seed, kInitStream));
  cpu::AdamSettings adam_settings;
  adam_settings.lr = s.lr;
  AdamOptimizer adam(model.params(), adam_settings);
  std::unique_ptr<WeightAverage> average;
  if (s.ema > 0) average = std::make_unique<WeightAverage>(s.ema, model.params(), s.ema_warmup);
  say("train: model %s, %lld parameters, on %s\n", s.model.describe().c_str(), (long long)model.params().parameter_count(),
      device_name(s.device));
  if (comm.ranks() > 1)
    say("train: %d ranks of %d crops each%s\n", comm.ranks(), s.batch / comm.ranks(),
        s.sync_batchnorm ? ", batch-norm statistics over all ranks" : "");

  Counters counters;
  TrainingCurves curves;
  const std::string resume_command = "seqnet train --resume -o " + s.run_dir;
  // A checkpoint that cannot be written (disk full) stops the run; the files already there stay whole.
  const auto kept_checkpoint = [&] {
    return counters.last_saved_step < 0 ? std::string("no checkpoint was written yet")
                                        : "last good checkpoint " + last_path + " (step " +
                                              std::to_string(counters.last_saved_step) + ") kept";
  };
  auto checkpoint = [&](const std::string& path, int epoch) {
    if (!comm.root()) return;  // rank 0 alone writes the run folder
    try {
      save_checkpoint(path, model, adam, average.get(), s, counters, epoch);
    } catch (const NonFiniteLossError& e) {
      // A runtime_error, not NonFiniteLossError: only rank 0 gets here, so under MPI the command
      // must abort the other ranks (apps/cmd_train.cpp) rather than leave them waiting.
      throw std::runtime_error(std::string(e.what()) + "; not written; " + kept_checkpoint());
    } catch (const std::runtime_error& e) {
      const std::string kept = counters.last_saved_step < 0
                                   ? "no checkpoint had been written yet"
                                   : "the previous checkpoint " + last_path + " (step " +
                                         std::to_string(counters.last_saved_step) + ") is intact";
      throw std::runtime_error("training stopped at step " + std::to_string(counters.step) + ": " + e.what() + "; " +
                               kept + (counters.last_saved_step < 0 ? "" : "; once the disk has room, continue with: " + resume_command));
    }
  };
  if (comm.root()) remove_unfinished_writes(s.run_dir, progress);
  if (s.resume) {
    counters = restore_checkpoint(last_path, model, adam, average.get());
    if (comm.root()) curves = reload_log(log_path, counters.step);
    say("train: resuming %s at step %lld\n", last_path.c_str(), (long long)counters.step);
    if (!counters.conv3x3_note.empty() && s.device == Device::cpu) say("train: %s\n", counters.conv3x3_note.c_str());
    // The batches do not depend on the number of ranks, so a run may resume on another number.
    if (counters.ranks != comm.ranks())
      say("train: the checkpoint was written by %d rank(s), this job has %d: the same batches, split %d ways%s\n",
          counters.ranks, comm.ranks(), comm.ranks(),
          s.model.norm == Norm::batch && !s.sync_batchnorm ? " (so each rank's batch-norm statistics cover other crops)" : "");
  } else if (comm.root()) {
    write_file_atomically(log_path, "");
  }
  // Which photographs train and which validate, for scoring the run afterwards (scripts/cross-validate.sh).
  if (comm.root()) {
    nlohmann::json split_json = {{"validation", nlohmann::json::array()}, {"training", nlohmann::json::array()}};
    for (const LabeledImage& image : data.validation) split_json["validation"].push_back(image.name);
    for (const LabeledImage& image : *data.training) split_json["training"].push_back(image.name);
    write_file_atomically((fs::path(s.run_dir) / "split.json").string(), split_json.dump(2) + "\n");
  }
  counters.ranks = comm.ranks();
  std::ofstream log;  // written by rank 0 alone
  if (comm.root()) {
    write_file_atomically((fs::path(s.run_dir) / "settings.json").string(), s.to_json().dump(2) + "\n");
    log.open(log_path, std::ios::app);
  }

  // 3. Epochs of steps. Batch tensors arrive on the host and are copied into these device tensors.
  const int64_t total_steps = int64_t(s.epochs) * s.steps_per_epoch;
  // A decay whose horizon is long for the run: its first weights still count at the end.
  if (s.ema > 0 && !s.ema_warmup && std::pow(s.ema, double(total_steps)) > 1e-3)
    say("train: note: the weight average (--ema %g) still holds %.1f%% of the first weights after %lld steps, and lags "
        "the model for most of the run; --ema-warmup (or a smaller decay) fits a run this short\n",
        s.ema, 100 * std::pow(s.ema, double(total_steps)), (long long)total_steps);
  BatchLoaderSettings loader_settings;
  loader_settings.batch_size = s.batch;
  loader_settings.crops_per_image = s.crops_per_image;
  loader_settings.crop_size = s.crop;
  loader_settings.av_targets = s.av_targets;
  loader_settings.augment = augment_settings(s.augment);
  loader_settings.seed = synth::derive_seed(s.seed, kBatchStream);
  loader_settings.workers = s.workers;
  loader_settings.part = comm.rank();
  loader_settings.parts = comm.ranks();
  BatchLoader loader(data.training, loader_settings, counters.next_batch);
  const int local_batch = s.batch / comm.ranks();
  Tensor x = Tensor::empty({local_batch, 3, s.crop, s.crop}, s.device);
  SeqNetTargets targets;
  for (Tensor* t : {&targets.vessel, &targets.artery, &targets.vein, &targets.av_weight})
    *t = Tensor::empty({local_batch, 1, s.crop, s.crop}, s.device);
  SeqNetLoss loss(s.av_loss, s.head_weights);
  if (comm.ranks() > 1) loss.set_vessel_pixels_over_ranks([&comm](double pixels) { return comm.average(pixels); });
  const BatchNormSync batchnorm_sync{[&comm](double* values, int64_t n) { comm.sum(values, n); }, comm.ranks()};
  const BatchNormSync* sync = s.sync_batchnorm && comm.ranks() > 1 ? &batchnorm_sync : nullptr;

  const bool tty = progress && isatty(fileno(progress));
  TrainSummary summary;
  const StopSignals stop_signals;
  double interval_loss = 0;
  int interval_steps = 0;
  auto interval_start = std::chrono::steady_clock::now();
  while (counters.step < total_steps) {
    const int epoch = int(counters.step / s.steps_per_epoch);  // 0-based
    int signal = stop_signals.requested();
    if (comm.ranks() > 1) {  // a signal to any rank stops them all at this step (the others would wait for it)
      const bool any_rank_signalled = comm.average(double(signal != 0)) > 0;
      if (any_rank_signalled && !signal) signal = SIGTERM;
    }
    if (signal) {
      if (counters.last_saved_step != counters.step) checkpoint(last_path, epoch);
      say("%strain: stopped by %s at step %lld of %lld; the state is in %s; continue with: %s\n", tty ? "\n" : "",
          signal == SIGINT ? "SIGINT" : "SIGTERM", (long long)counters.step, (long long)total_steps, last_path.c_str(),
          resume_command.c_str());
      summary.steps = counters.step;
      summary.best_score = counters.best.selected(s.select);
      summary.stopped_by_signal = signal;
      return summary;
    }
    const Batch batch = loader.next();
    x.copy_from(batch.x);
    targets.vessel.copy_from(batch.vessel);
    targets.artery.copy_from(batch.artery);
    targets.vein.copy_from(batch.vein);
    targets.av_weight.copy_from(batch.av_weight);
    model.params().zero_grads();
    // Dropout: rank 0 draws the masks of a single process; the other ranks their own.
    uint64_t dropout_seed = synth::derive_seed(s.seed ^ kDropoutStream, uint64_t(counters.step));
    if (!comm.root()) dropout_seed = synth::derive_seed(dropout_seed, uint64_t(comm.rank()));
    const SeqNetOutputs& logits = model.forward(x, Mode{true, dropout_seed, sync});
    loss.forward_backward(logits, targets);
    const double value = comm.average(loss.value());  // the mean over all B crops, the same on every rank
    if (!std::isfinite(value)) {
      if (tty) say("\n");
      throw NonFiniteLossError("loss became " + std::string(std::isnan(value) ? "nan" : "inf") + " at step " +
                               std::to_string(counters.step + 1) + "; " + kept_checkpoint());
    }
    model.backward(loss.gradients());
    comm.average(model.params().grads());
    inject_test_gradient_fault(model.params().grads(), counters.step + 1);
    // A non-finite gradient under a finite loss would turn every weight it reaches into nan in
    // Adam's step. On the CPU it is checked here (a read of the gradients, ~1 ms); on the GPU the
    // next step's loss and the check before each checkpoint catch it.
    if (s.device == Device::cpu && !all_finite(model.params().grads())) {
      if (tty) say("\n");
      throw NonFiniteLossError("gradients became nan or inf at step " + std::to_string(counters.step + 1) +
                               " (the loss, " + std::to_string(value) + ", was finite); " + kept_checkpoint());
    }
    adam.set_learning_rate(learning_rate_at(s.lr_schedule, s.lr, counters.step, total_steps));
    adam.step();
    if (average) average->update(counters.step);
    ++counters.step;
    counters.next_batch = loader.batches_produced();
    interval_loss += value;
    ++interval_steps;

    if (counters.step % s.log_every == 0 || tty) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - interval_start).count();
      const double rate = interval_steps / std::max(seconds, 1e-9);
      const std::string eta = duration_text(double(total_steps - counters.step) / rate);
      say("%sepoch %d/%d step %lld/%lld loss %.4f %.2f steps/s ETA %s%s", tty ? "\r" : "", epoch + 1, s.epochs,
          (long long)counters.step, (long long)total_steps, value, rate, eta.c_str(), tty ? "   " : "\n");
      if (counters.step % s.log_every == 0) {
        const double mean = interval_loss / interval_steps;
        log << nlohmann::json{{"event", "step"}, {"epoch", epoch + 1}, {"step", counters.step}, {"loss", mean}, {"steps_per_s", rate}}.dump()
            << std::endl;
        curves.loss.push_back({double(counters.step), mean});
        interval_loss = 0;
        interval_steps = 0;
        interval_start = std::chrono::steady_clock::now();
      }
    }

    const bool epoch_done = counters.step % s.steps_per_epoch == 0;
    if (!epoch_done) continue;
    comm.expect_same_everywhere(model.params().values(), "weights");
    if (!comm.root()) continue;
    if ((epoch + 1) % s.val_every == 0 || counters.step == total_steps) {
      Scores scores;
      if (average) {  // the average is what the run ships, so it is what is scored
        const WeightAverage::Swap swap(*average);
        scores = validate(model, data.validation, s.size);
      } else {
        scores = validate(model, data.validation, s.size);
      }
      const bool best = scores.better_than(counters.best, s.select);
      if (best) counters.best = scores;
      if (tty) say("\n");
      say("validation after epoch %d (step %lld)%s: vessel AUC %.4f, A/V accuracy %.4f%s\n", epoch + 1, (long long)counters.step,
          average ? " of the weight average" : "", scores.vessel_auc, scores.av_accuracy, best ? " (best so far)" : "");
      log << nlohmann::json{{"event", "validation"},     {"epoch", epoch + 1},
                            {"step", counters.step},      {"vessel_auc", scores.vessel_auc},
                            {"av_accuracy", scores.av_accuracy}, {"best", best},
                            {"weights", average ? "ema" : "trained"}}
                 .dump()
          << std::endl;
      curves.vessel_auc.push_back({double(counters.step), scores.vessel_auc});
      curves.av_accuracy.push_back({double(counters.step), scores.av_accuracy});
      summary.last_vessel_auc = scores.vessel_auc;
      summary.last_av_accuracy = scores.av_accuracy;
      if (best) checkpoint(best_path, epoch + 1);
    }
    checkpoint(last_path, epoch + 1);
    counters.last_saved_step = counters.step;
    write_png(curves_path, plot_curves(curves));
  }
  say("train: done, %lld steps; best (by %s) vessel AUC %.4f, A/V accuracy %.4f in %s; last state in %s\n",
      (long long)counters.step, s.select == Selection::av_accuracy ? "A/V accuracy" : "vessel AUC", counters.best.vessel_auc,
      counters.best.av_accuracy, best_path.c_str(), last_path.c_str());
  summary.steps = counters.step;
  summary.best_score = counters.best.selected(s.select);
  return summary;
}

}  // namespace seqnet
