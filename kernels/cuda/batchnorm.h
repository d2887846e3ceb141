// batchnorm.h (CUDA): twin of kernels/cpu/batchnorm.h. Many blocks per channel: per-block sums in
// double, added up per channel in a fixed order (deterministic), then an elementwise pass
// (batchnorm.cu). Training forward reads x twice, backward reads dy and x twice each.
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
// Batch-norm, ReLU and dropout (p, seed; p = 0: none) in training, the formulas and the mask of
// kernels/cpu/batchnorm.h: the statistics pass of batchnorm_forward_train, then one pass writing
// y = relu(bn(x)) keep / (1-p); backward reads the mask from y (y > 0) in both of its passes.
void batchnorm_relu_dropout_forward_train(float* y, float* mean, float* rstd, float* running_mean,
                                          float* running_var, const float* x, const float* gamma, const float* beta,
                                          int N, int C, int64_t HW, double eps, double momentum, float p,
                                          uint64_t seed, cudaStream_t stream);
void batchnorm_relu_dropout_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                     const float* y, const float* gamma, const float* mean, const float* rstd, int N,
                                     int C, int64_t HW, float p, cudaStream_t stream);
// How many blocks each channel's N*HW values are split into (from the multiprocessor count); tests.
int batchnorm_blocks_per_channel(int N, int C, int64_t HW);

}  // namespace seqnet::cuda
