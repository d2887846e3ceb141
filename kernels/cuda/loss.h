// loss.h (CUDA): twin of kernels/cpu/loss.h. The mean is reduced in double on the device;
// the value is added to a device scalar so the training step never waits for the host.
#pragma once

#include <cstdint>

#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

// loss_sum (1 float, device) += mean loss (summed in double, added once); dx (n) = gradient
// (may be null).
void bce_with_logits(float* loss_sum, float* dx, const float* logits, const float* target, int64_t n,
                     cudaStream_t stream);

}  // namespace seqnet::cuda
