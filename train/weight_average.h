// weight_average.h: an exponential moving average of the model (`seqnet train --ema DECAY`).
//
// After every Adam step, for the weights w and the batch-norm running statistics r alike:
//   ema <- decay * ema + (1 - decay) * current,  starting from the initial values.
// The average of the last ~1/(1 - decay) steps is smoother than any single step's weights: it
// removes the epoch-to-epoch swings that made checkpoint selection on three photographs a
// lottery, so a run can ship its average instead of choosing a step. The running statistics are
// averaged the same way (as timm's ModelEmaV2 does), so they describe the averaged weights'
// activations rather than the last step's.
//
// With warm-up (`--ema-warmup`), update t (t = 0, 1, ...: the optimizer steps before it) keeps
//   min(decay, (1 + t) / (10 + t))
// of the average instead (TensorFlow's ExponentialMovingAverage with num_updates): 0.1 at the first
// step, 0.99 at step 890, the full 0.999 from step 8,990. Without it the start weighs decay^t in
// the average: at 0.999 still 6% at step 2,800, where a 4,000-step run's average was measured at
// chance artery/vein accuracy (0.49) and its last step's weights at 0.86 (docs/MODEL.md); with it a
// run shorter than the decay's horizon averages its recent steps.
//
// The average lives on the host (~2 ms per step for a 1M-parameter model on the CPU; on the GPU
// each step copies the weights back, which costs more there).
#pragma once

#include "kernels/tensor.h"
#include "layers/parameters.h"

namespace seqnet {

class WeightAverage {
 public:
  // `decay` in (0, 1); starts from the model's values now.
  WeightAverage(double decay, ParameterStore& params, bool warmup = false);

  // After each optimizer step; `step` counts the steps before it (0 after the first).
  void update(int64_t step);
  // The share of the average kept by update(step).
  float keep_at(int64_t step) const;
  // Host float32 copies shaped like params.values() and params.state() (read and restored by
  // checkpoints).
  Tensor& weights() { return weights_; }
  Tensor& statistics() { return statistics_; }
  const Tensor& weights() const { return weights_; }
  const Tensor& statistics() const { return statistics_; }

  // Puts the average into the model for as long as the guard lives, then the trained values back
  // (for validating or saving the average without disturbing training).
  class Swap {
   public:
    explicit Swap(const WeightAverage& average);
    ~Swap();
    Swap(const Swap&) = delete;
    Swap& operator=(const Swap&) = delete;

   private:
    ParameterStore& params_;
    Tensor trained_weights_, trained_statistics_;
  };

 private:
  ParameterStore& params_;
  float decay_;
  bool warmup_;
  Tensor weights_, statistics_;
};

}  // namespace seqnet
