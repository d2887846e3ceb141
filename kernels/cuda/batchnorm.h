// batchnorm.h (CUDA): twin of kernels/cpu/batchnorm.h. One block per channel; the sums are
// reduced in double (Welford-free two-pass: mean first, then centred squares), so large planes
// lose no precision.
#pragma once

#include <cstdint>

#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

void batchnorm_forward_train(float* y, float* mean, float* rstd, float* running_mean, float* running_var,
                             const float* x, const float* gamma, const float* beta, int N, int C, int64_t HW,
                             double eps, double momentum, cudaStream_t stream);
void batchnorm_forward_eval(float* y, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, int N, int C, int64_t HW,
                            double eps, cudaStream_t stream);
void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                        const float* gamma, const float* mean, const float* rstd, int N, int C, int64_t HW,
                        cudaStream_t stream);

}  // namespace seqnet::cuda
