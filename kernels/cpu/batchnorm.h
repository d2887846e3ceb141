// batchnorm.h: 2-D batch normalisation over (N, H, W) per channel.
//
// Training   mean_c = E[x], var_c = E[(x-mean)^2] (biased), rstd = 1/sqrt(var + eps)
//            xhat = (x - mean) * rstd, y = gamma * xhat + beta
//            running_mean = (1-m) running_mean + m mean
//            running_var  = (1-m) running_var  + m var * M/(M-1)   (unbiased, M = N*H*W)
// Eval       y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
// Backward   dbeta += sum dy, dgamma += sum dy*xhat,
//            dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy*xhat))
// The statistics are accumulated in double, in two passes (mean first), so they stay
// accurate for large planes.
// Fused with the ReLU and dropout that follow it in a DoubleConv stage (training):
//   forward    y = relu(gamma xhat + beta) keep / (1-p),  keep = dropout_keep(seed, i, p) for the
//              element's index i in (N,C,HW), the mask ops::dropout_forward draws; p = 0: none
//   backward   g = dy / (1-p) where y > 0, else 0; then batch-norm's backward with g for dy
// y > 0 exactly where the ReLU was open and dropout kept the value, so the backward reads the
// forward's mask from the forward's output: bit for bit the same mask, no extra buffer. On the CPU
// the forward gives the bits of the three separate ops (the same expressions, in the same order),
// the backward their gradients to rounding (the same expressions; the sums may be vectorised in
// another order).
// With `sync` (kernels/batchnorm_sync.h) the sums behind mean, var, mean(dy) and mean(dy*xhat)
// are taken over every rank's batch (M = ranks*N*H*W); dgamma and dbeta stay this rank's sums
// (the gradient all-reduce adds them up like every other parameter gradient).
#pragma once

#include <cstdint>

#include "kernels/batchnorm_sync.h"

namespace seqnet::cpu {

// y (N,C,HW); saves mean (C) and rstd (C) for backward; updates running_mean/var (C).
template <typename T>
void batchnorm_forward_train(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                             const T* gamma, const T* beta, int N, int C, int64_t HW, double eps,
                             double momentum, const BatchNormSync* sync = nullptr);
// y (N,C,HW) with the running statistics.
template <typename T>
void batchnorm_forward_eval(T* y, const T* x, const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, int N, int C, int64_t HW, double eps);
// dx (N,C,HW) = ; dgamma, dbeta (C) += ; from dy, x and the saved mean and rstd.
template <typename T>
void batchnorm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* gamma, const T* mean,
                        const T* rstd, int N, int C, int64_t HW, const BatchNormSync* sync = nullptr);

// batchnorm_forward_train, then ReLU and dropout (p, seed) in the same pass over y.
template <typename T>
void batchnorm_relu_dropout_forward_train(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                                          const T* gamma, const T* beta, int N, int C, int64_t HW, double eps,
                                          double momentum, float p, uint64_t seed,
                                          const BatchNormSync* sync = nullptr);
// The backward of that, from its output y (N,C,HW): dx = ; dgamma, dbeta += . dx may be dy.
template <typename T>
void batchnorm_relu_dropout_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* y, const T* gamma,
                                     const T* mean, const T* rstd, int N, int C, int64_t HW, float p,
                                     const BatchNormSync* sync = nullptr);

}  // namespace seqnet::cpu
