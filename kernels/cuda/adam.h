// adam.h (CUDA): twin of kernels/cpu/adam.h, fused: one pass reads p, m, v, g and writes p, m, v.
#pragma once

#include <cstdint>

#include "kernels/cpu/adam.h"
#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

void adam_update(float* param, float* m, float* v, const float* grad, int64_t n, const cpu::AdamSettings& s,
                 int64_t step, cudaStream_t stream);

}  // namespace seqnet::cuda
