// cmd_train.cpp: `seqnet train --data DIR [--data DIR2 ...] -o RUNDIR [options]`: trains SeqNet
// (train/trainer.h) with the original's defaults; --resume continues a run exactly.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/args.h"
#include "apps/device_option.h"
#include "apps/model_options.h"
#include "apps/registry.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace seqnet::cli {

namespace {

// Options that define the run (a resumed run keeps its stored values; giving a different one is
// refused) and where each lives in TrainSettings::to_json (a key the JSON leaves out, as
// model.input_norm when it is "none", compares as null). --epochs, --lr, --lr-schedule, --select,
// --workers, --val-every, --log-every and --device may change on --resume (e.g. to train longer).
const std::vector<std::pair<std::string, std::vector<std::string>>> kFixedOnResume = {
    {"width", {"model", "width"}},
    {"cls-width", {"model", "cls_width"}},
    {"depth", {"model", "depth"}},
    {"refine-depth", {"model", "refine_depth"}},
    {"seg-iterations", {"model", "seg_iterations"}},
    {"cls-iterations", {"model", "cls_iterations"}},
    {"norm", {"model", "norm"}},
    {"dropout", {"model", "dropout"}},
    {"data", {"data"}},
    {"batch", {"batch"}},
    {"crops-per-image", {"crops_per_image"}},
    {"crop", {"crop"}},
    {"size", {"size"}},
    {"steps-per-epoch", {"steps_per_epoch"}},
    {"seed", {"seed"}},
    {"split-seed", {"split_seed"}},
    {"val-fraction", {"val_fraction"}},
    {"av-loss", {"av_loss"}},
    {"av-targets", {"av_targets"}},
    {"head-weights", {"head_weights"}},
    {"augment", {"augment"}},
    {"input-norm", {"model", "input_norm"}},
    {"folds", {"folds"}},
    {"fold", {"fold"}},
    {"ema", {"ema"}},
    {"ema-warmup", {"ema_warmup"}},
    {"conv-precision", {"conv_precision"}},
};

uint64_t parse_seed(const std::string& text, const std::string& option = "--seed") {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19)
    throw UsageError(option + " must be a non-negative integer, got '" + text + "'");
  return std::stoull(text);
}

// The settings as the command line gives them (defaults where an option is absent).
TrainSettings settings_from(const Args& args) {
  TrainSettings s;
  s.conv_precision = args.str("conv-precision");
  s.data_dirs = args.all("data");
  s.run_dir = args.str("out");
  s.model = model_config_from(args);
  s.batch = args.integer("batch");
  s.crops_per_image = args.integer("crops-per-image");
  s.crop = args.integer("crop");
  s.size = args.integer("size");
  s.epochs = args.integer("epochs");
  s.steps_per_epoch = args.given("steps-per-epoch") ? args.integer("steps-per-epoch") : 0;
  if (args.given("steps-per-epoch") && s.steps_per_epoch < 1)
    throw UsageError("--steps-per-epoch must be at least 1, got " + std::to_string(s.steps_per_epoch));
  s.lr = args.number("lr");
  s.seed = parse_seed(args.str("seed"));
  if (args.given("split-seed")) s.split_seed = parse_seed(args.str("split-seed"), "--split-seed");
  s.workers = args.integer("workers");
  s.val_fraction = args.number("val-fraction");
  s.val_every = args.integer("val-every");
  s.log_every = args.integer("log-every");
  try {
    s.av_loss = artery_vein_loss_from(args.str("av-loss"));
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--av-loss: ") + e.what());
  }
  try {
    s.lr_schedule = lr_schedule_from(args.str("lr-schedule"));
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--lr-schedule: ") + e.what());
  }
  s.sync_batchnorm = args.on("sync-batchnorm");
  s.folds = args.given("folds") ? args.integer("folds") : 0;
  s.fold = args.given("fold") ? args.integer("fold") : 0;
  if (s.folds > 0 && !args.given("fold")) throw UsageError("--folds " + std::to_string(s.folds) + " needs --fold K (1 to " + std::to_string(s.folds) + ")");
  s.ema = args.given("ema") ? args.number("ema") : 0;
  s.ema_warmup = args.on("ema-warmup");
  try {
    s.select = selection_from(args.str("select"));
    s.av_targets = artery_vein_targets_from(args.str("av-targets"));
    s.head_weights = head_weights_from(args.str("head-weights"));
    s.augment = augment_preset_from(args.str("augment"));
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  return s;
}

// The stored settings of RUNDIR with the options that may change applied; any other option given
// with a value that differs from the stored one is an error naming both.
TrainSettings resumed_settings(const Args& args, const TrainSettings& given) {
  TrainSettings s = stored_run_settings(given.run_dir);
  const nlohmann::json stored = s.to_json(), asked = given.to_json();
  for (const auto& [option, key] : kFixedOnResume) {
    if (!args.given(option)) continue;
    nlohmann::json a = asked, b = stored;
    for (const std::string& part : key) {
      a = a.is_object() && a.contains(part) ? a.at(part) : nlohmann::json();
      b = b.is_object() && b.contains(part) ? b.at(part) : nlohmann::json();
    }
    if (a != b)
      throw UsageError("--" + option + " " + a.dump() + " conflicts with the run being resumed (" + b.dump() +
                       " in " + last_checkpoint_path(given.run_dir) + "); leave it out to resume");
  }
  if (args.given("epochs")) s.epochs = given.epochs;
  if (args.given("lr")) s.lr = given.lr;
  if (args.given("lr-schedule")) s.lr_schedule = given.lr_schedule;
  if (args.given("select")) s.select = given.select;
  if (args.given("workers")) s.workers = given.workers;
  if (args.given("val-every")) s.val_every = given.val_every;
  if (args.given("log-every")) s.log_every = given.log_every;
  if (args.on("sync-batchnorm")) s.sync_batchnorm = true;
  s.resume = true;
  return s;
}

// The files of a run in RUNDIR. A new run over one that --resume can continue (it has
// last.safetensors) needs --overwrite, so that a finished run is never replaced by a command that
// forgot --resume; a run killed before its first checkpoint cannot be resumed, and a new run simply
// starts again over it.
const char* const kRunFiles[] = {"last.safetensors", "best.safetensors", "log.jsonl", "curves.png", "settings.json"};

void check_run_folder(const std::string& run_dir, bool resume, bool overwrite) {
  namespace fs = std::filesystem;
  if (resume && overwrite) throw UsageError("--resume continues the run in " + run_dir + ", --overwrite replaces it: give one");
  if (resume) return;
  if (!fs::exists(fs::path(run_dir) / "last.safetensors")) return;
  if (!overwrite)
    throw UsageError(run_dir + " holds a training run (last.safetensors): continue it with --resume, start it over "
                     "with --overwrite (its checkpoints and log are removed), or give another -o RUNDIR");
  if (world().root())
    for (const char* name : kRunFiles) fs::remove(fs::path(run_dir) / name);  // nothing of the old run is mixed in
}

int run(int argc, char** argv) {
  Args args("train", "--data DIR [--data DIR ...] -o RUNDIR [options]",
            "Trains SeqNet on artery/vein datasets (DIR/images + DIR/av [+ DIR/mask], or the same under\n"
            "DIR/training) with the original's defaults: Adam lr 1e-3, batches of 24 augmented 128x128\n"
            "crops of images resized to 576x576, 200 epochs of 100*images/24 steps. A share of the images\n"
            "is held out and scored each epoch (vessel ROC AUC, artery/vein accuracy); RUNDIR receives\n"
            "last.safetensors and best.safetensors (weights + optimizer state), log.jsonl, curves.png and\n"
            "settings.json. --resume continues RUNDIR exactly where its last checkpoint stopped.\n"
            "Ctrl-C (SIGINT) or SIGTERM stops at the end of the current step, writes last.safetensors and\n"
            "exits with status 130 or 143; a second signal quits at once. A checkpoint that cannot be\n"
            "written (disk full) stops the run with status 1 and leaves the previous checkpoint whole;\n"
            "so does a loss, gradient or weight that becomes nan or inf.\n\n"
            "Data-parallel over MPI: 'mpirun -np R seqnet train ...' trains one model on R processes (one\n"
            "machine or many): each trains on batch/R crops (whole images: the batch must be a multiple of\n"
            "R x crops-per-image), the gradients are averaged with one all-reduce per step, and rank 0 alone\n"
            "logs, validates and writes RUNDIR (which every rank must see). A rank that fails ends the whole\n"
            "job; --resume continues from the last checkpoint, with the same or another number of ranks.");
  args.repeated("data", "a dataset folder; give several to combine them", "DIR")
      .option("out", "", "run folder", "RUNDIR").short_name('o', "out");
  add_model_options(args);
  args.option("batch", "24", "crops per step", "B")
      .option("crops-per-image", "4", "crops taken from each augmented image of a batch", "K")
      .option("crop", "128", "crop side in pixels", "C")
      .option("size", "576", "images are resized to SIZE x SIZE first", "SIZE")
      .option("epochs", "200", "epochs to train (with --resume: the new total)", "N")
      .option("steps-per-epoch", "", "steps per epoch (default 100 * training images / batch)", "N")
      .option("lr", "0.001", "Adam learning rate", "LR")
      .option("lr-schedule", "constant",
              "'constant' (the original's) or 'cosine' (down to 1% of LR at the last step; may change on --resume)",
              "NAME")
      .option("seed", "0", "seed of initialisation, split, batches and dropout", "S")
      .option("split-seed", "", "seed of the validation split alone (default: --seed); other --seed values with "
                                "the same split train the members of a cross-validated ensemble", "S")
      .option("workers", "2", "threads preparing batches", "N")
      .option("val-fraction", "0.1", "share of the images held out for validation (at least one)", "F")
      .option("val-every", "1", "epochs between validations", "N")
      .option("log-every", "10", "steps between log lines", "N")
      .option("av-loss", "all",
              "artery/vein loss over 'all' pixels (the original's) or ground-truth 'vessel' pixels only",
              "REGION")
      .option("av-targets", "original",
              "'original': crossings and uncertain pixels are artery (the original's); 'both': a crossing is artery "
              "and vein, uncertain pixels are left out of the artery/vein loss (needs --av-loss vessel)",
              "NAME")
      .option("head-weights", "equal",
              "how the heads of each branch weigh in the loss: 'equal' (the original's) or 'rising' (head k of K+1 "
              "weighs 2(k+1)/(K+2), RRWNet's emphasis on the refined heads, same total)",
              "NAME")
      .option("augment", "original",
              "'original': the spec's augmentation; 'strong': RRWNet's wider ranges (zoom 0.7-1.3 and shear +-25 "
              "degrees with probability 0.5, hue +-0.02 of the colour circle)",
              "NAME")
      .option("folds", "", "cross-validation: deal every dataset's images into N folds (stratified by dataset); "
                           "replaces --val-fraction", "N")
      .option("fold", "", "with --folds: the fold (1 to N) that validates; the others train", "K")
      .option("select", "vessel",
              "the validation score that picks best.safetensors: 'vessel' (ROC AUC; the original's) or 'av' "
              "(artery/vein accuracy); may change on --resume",
              "SCORE")
      .option("ema", "",
              "keep an exponential moving average of the weights with this decay (e.g. 0.999): validation scores "
              "it and 'seqnet export' writes it",
              "DECAY");
  args.flag("ema-warmup",
            "with --ema: the average's decay rises over the first steps, min(DECAY, (1+t)/(10+t)) at step t, so that a "
            "run shorter than the decay's horizon (about 5/(1-DECAY) steps) does not end still holding its first weights");
  add_device_option(args);
  args.flag("resume", "continue RUNDIR/last.safetensors with the settings stored in it");
  args.flag("overwrite", "start a new run in a RUNDIR that holds one, removing its checkpoints and log");
  args.flag("sync-batchnorm",
            "under mpirun: batch-norm statistics over the crops of all ranks (default: each rank's own, as "
            "PyTorch's DistributedDataParallel); CPU only; once on, a resumed run keeps it");
  if (!args.parse(argc, argv)) return 0;

  if (!args.given("out")) throw UsageError("missing -o RUNDIR (where to write checkpoints and logs)");
  TrainSettings settings = settings_from(args);
  if (args.on("resume")) {
    settings = resumed_settings(args, settings);
  } else if (settings.data_dirs.empty()) {
    throw UsageError("missing --data DIR (a dataset folder with images/ and av/)");
  }
  try {
    settings.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  settings.device = chosen_device(args);
  if (settings.conv_precision != args.str("conv-precision")) {  // a resumed run's stored precision
    try {
      use_conv_precision(settings.conv_precision);
    } catch (const UsageError& e) {
      throw UsageError("the run in " + settings.run_dir + " trains with --conv-precision " + settings.conv_precision +
                       ": " + e.what());
    }
  }
  if (settings.sync_batchnorm && settings.device != Device::cpu)
    throw UsageError("--sync-batchnorm runs on the CPU only; leave it out with --device cuda");
  check_run_folder(settings.run_dir, args.on("resume"), args.on("overwrite"));
  auto run_training = [&] {
    const TrainSummary summary = train(settings, stderr);
    return summary.stopped_by_signal ? 128 + summary.stopped_by_signal : 0;  // the shell's code for a signal
  };
  Communicator& comm = world();
  if (comm.ranks() == 1) return run_training();
  if (settings.device == Device::cuda && comm.root())
    std::fprintf(stderr, "all-reduce: the gradients of the %d ranks go from device buffers through host memory "
                         "(copied out, MPI_Allreduce, copied back; no CUDA-aware MPI needed)\n", comm.ranks());
  // Several ranks: an error that perhaps only this rank met must end them all, or the others would
  // wait for it in their next all-reduce forever. A non-finite loss is the mean over all ranks, so
  // every rank stops at the same step and they can leave together.
  try {
    return run_training();
  } catch (const NonFiniteLossError&) {
    throw;
  } catch (const std::exception& e) {
    comm.abort(e.what());
  }
}

const bool registered = register_command({"train", "train SeqNet on artery/vein datasets (checkpoints, log, curves)", 10, run});

}  // namespace

}  // namespace seqnet::cli
