// step_bench.h: end-to-end timing of a SeqNet training step and of inference, as `seqnet bench`
// runs it.
//
// Training step: zero the gradients, forward in training mode, SeqNetLoss, backward, Adam step,
// on a random batch of crops with random 0/1 targets. Inference: an evaluation-mode forward of
// one random 3xNxN image. Each is run once to warm up (that first pass also plans the activation
// memory) and then `steps` times, the device synchronised before each clock stops.
// With `mpi` (under mpirun) the step is data-parallel (train/distributed.h): each rank runs
// batch/R crops and the step includes averaging the gradient buffer over the ranks, which is
// also timed on its own, after a barrier that takes the wait for the slowest rank out of it (that
// wait is reported apart).
#pragma once

#include <string>
#include <vector>

#include "kernels/op_timer.h"
#include "model/config.h"
#include "kernels/tensor.h"

namespace seqnet {

struct StepBenchSettings {
  ModelConfig model;
  Device device = Device::cpu;
  int batch = 4;    // crops per training step
  int crop = 128;   // crop side
  int infer = 576;  // inference image side; 0 skips inference
  int steps = 5;    // timed repeats after one warm-up
  bool profile = false;  // time each op type (kernels/op_timer.h) during the timed repeats
  bool mpi = false;      // a data-parallel step over the MPI ranks of this job
};

struct TimingStats {
  std::vector<double> seconds;  // every timed repeat
  double median = 0, mean = 0, min = 0, max = 0;
};

struct StepBenchResult {
  TimingStats train_step, infer;   // infer empty when skipped
  TimingStats allreduce;           // with mpi: the gradient average within each timed step
  TimingStats rank_wait;           // with mpi: the barrier before it (waiting for the slowest rank)
  int ranks = 1;
  double patches_per_s = 0;        // batch / median train step
  double peak_rss_mb = 0;          // the process's peak resident memory (getrusage)
  double peak_device_mb = 0;       // CUDA: peak bytes allocated on the GPU; 0 on the CPU
  int64_t parameters = 0;
  std::vector<ops::OpTime> train_ops, infer_ops;  // per timed repeat, when profiling
  // The convolutions per (op, shape): the per-layer breakdown, per timed repeat, when profiling.
  std::vector<ops::OpTime> train_shapes, infer_shapes;
};

// Throws std::invalid_argument naming a setting out of range (crop and infer must be multiples
// of the model's size multiple).
StepBenchResult run_step_bench(const StepBenchSettings& settings);

std::string format_step_bench_text(const StepBenchSettings& settings, const StepBenchResult& result);
// One JSON object: config, device, train_step_s (median), infer_s, peak_rss_mb, ...
std::string format_step_bench_json(const StepBenchSettings& settings, const StepBenchResult& result);

}  // namespace seqnet
