// cmd_bench.cpp: `seqnet bench`: times a training step and inference (train/step_bench.h).
#include <cstdio>

#include "apps/args.h"
#include "apps/device_option.h"
#include "apps/model_options.h"
#include "apps/registry.h"
#include "train/distributed.h"
#include "train/step_bench.h"

namespace seqnet::cli {
namespace {

int run(int argc, char** argv) {
  Args args("bench", "[model options] [--batch N] [--crop N] [--infer N] [--steps N] [--json] [--profile] [--mpi]",
            "Times one training step (zero grads, forward, SeqNetLoss, backward, Adam) on random crops and one\n"
            "inference forward of a random NxN image, each after one warm-up, and prints the median (min,\n"
            "max) seconds, patches/s and peak memory (resident on the CPU, allocated on the GPU).");
  add_model_options(args);
  args.option("batch", "4", "crops per training step", "N");
  args.option("crop", "128", "crop side of the training batch", "N");
  args.option("infer", "576", "side of the inference image (0 skips inference)", "N");
  args.option("steps", "5", "timed repeats of each after one warm-up", "N");
  args.flag("json", "print one JSON object instead of the table");
  args.flag("profile",
            "also time each op type, and each convolution per shape (the per-layer breakdown; kernels/op_timer.h; "
            "on CUDA the GPU is waited for around every op); on the CPU also print the 3x3 convolution algorithm "
            "chosen per shape and pass with each candidate's time (kernels/cpu/conv3x3_algorithm.h; SEQNET_CONV "
            "forces one)");
  args.flag("mpi",
            "under 'mpirun -np R': a data-parallel step, batch/R crops per rank and the gradient average over "
            "the ranks, whose time is also reported on its own (rank 0 prints; inference is not timed)");
  add_device_option(args);
  if (!args.parse(argc, argv)) return 0;
  if (args.on("mpi") && !built_with_mpi())
    throw UsageError("--mpi needs a seqnet built with MPI (apt-get install libopenmpi-dev, then rebuild; SEQNET_MPI)");
  StepBenchSettings settings;
  settings.model = model_config_from(args);
  settings.batch = args.integer("batch");
  settings.crop = args.integer("crop");
  settings.infer = args.integer("infer");
  settings.steps = args.integer("steps");
  settings.profile = args.on("profile");
  settings.mpi = args.on("mpi");
  if (settings.mpi) settings.infer = 0;
  settings.device = chosen_device(args);
  StepBenchResult result;
  try {
    result = run_step_bench(settings);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const std::string text = args.on("json") ? format_step_bench_json(settings, result) + "\n"
                                            : format_step_bench_text(settings, result);
  if (!settings.mpi || world().root()) std::fputs(text.c_str(), stdout);
  return 0;
}

const bool registered = register_command({"bench", "time a training step and inference on this machine", 70, run});

}  // namespace
}  // namespace seqnet::cli
