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

}  // namespace seqnet::cpu
