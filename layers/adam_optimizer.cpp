// adam_optimizer.cpp: AdamOptimizer (adam_optimizer.h).
#include "layers/adam_optimizer.h"

#include "kernels/ops.h"

namespace seqnet {

AdamOptimizer::AdamOptimizer(ParameterStore& params, const cpu::AdamSettings& settings)
    : params_(params), settings_(settings) {
  m_ = Tensor::zeros(params.values().shape(), params.device(), params.dtype());
  v_ = Tensor::zeros(params.values().shape(), params.device(), params.dtype());
}

void AdamOptimizer::step() {
  ++step_;
  ops::adam_update(params_.values(), m_, v_, params_.grads(), settings_, step_);
}

}  // namespace seqnet
