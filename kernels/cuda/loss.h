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

// loss_sum += (1/W) sum_i w_i l_i; dx_i = w_i (sigmoid(x_i) - t_i) / W (may be null); W =
// weight_sum, known on the host. W == 0 leaves loss_sum unchanged and writes dx = 0.
void bce_with_logits_weighted(float* loss_sum, float* dx, const float* logits, const float* target,
                              const float* weight, double weight_sum, int64_t n, cudaStream_t stream);

}  // namespace seqnet::cuda
