// adam_optimizer.h: Adam over a model's one parameter buffer (a single fused update per step).
//
// The moments m and v are flat buffers shaped like the parameter buffer; step counts from 1.
// Form and defaults as PyTorch's (kernels/cpu/adam.h): lr 1e-3, betas (0.9, 0.999), eps 1e-8.
#pragma once

#include "kernels/cpu/adam.h"
#include "layers/parameters.h"

namespace seqnet {

class AdamOptimizer {
 public:
  AdamOptimizer(ParameterStore& params, const cpu::AdamSettings& settings);
  // One update from the gradients now in params.grads().
  void step();

  int64_t steps_taken() const { return step_; }
  const cpu::AdamSettings& settings() const { return settings_; }
  void set_learning_rate(double lr) { settings_.lr = lr; }  // for a schedule (train/lr_schedule.h)
  // State for checkpoints: the moments and the step count.
  Tensor& first_moment() { return m_; }
  Tensor& second_moment() { return v_; }
  void set_steps_taken(int64_t step) { step_ = step; }

 private:
  ParameterStore& params_;
  cpu::AdamSettings settings_;
  Tensor m_, v_;
  int64_t step_ = 0;
};

}  // namespace seqnet
