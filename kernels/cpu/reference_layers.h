// reference_layers.h: plain-loop batch norm, max-pool, the losses, Adam and the fused
// BN + ReLU + dropout, the oracle for the fast CPU kernels (batchnorm.h, maxpool2x2.h, loss.h,
// adam.h) as reference.h is for the convolutions.
//
// Each is the formula of docs/DERIVATIONS.md written out, one loop per sum, every sum in double:
// slow, obviously right. Same arguments as the fast kernel (without the data-parallel `sync`) and
// the same gradient rule (dgamma, dbeta +=; dx =).
#pragma once

#include <cstdint>

#include "kernels/cpu/adam.h"

namespace seqnet::cpu::reference {

// Batch norm over (N, H, W) per channel; x, y (N,C,HW); mean, rstd, gamma, beta, running (C).
template <typename T>
void batchnorm_forward_train(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x, const T* gamma,
                             const T* beta, int N, int C, int64_t HW, double eps, double momentum);
template <typename T>
void batchnorm_forward_eval(T* y, const T* x, const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, int N, int C, int64_t HW, double eps);
template <typename T>
void batchnorm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* gamma, const T* mean,
                        const T* rstd, int N, int C, int64_t HW);

// Batch norm, ReLU and inverted dropout (drop probability p, mask dropout_keep(seed, i, p)), and
// the backward of the three from the output y. dx may be dy.
template <typename T>
void batchnorm_relu_dropout_forward_train(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                                          const T* gamma, const T* beta, int N, int C, int64_t HW, double eps,
                                          double momentum, float p, uint64_t seed);
template <typename T>
void batchnorm_relu_dropout_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* y, const T* gamma,
                                     const T* mean, const T* rstd, int N, int C, int64_t HW, float p);

// Max-pool 2x2, stride 2: y, argmax (N,C,H/2,W/2) from x (N,C,H,W); dx (N,C,H,W) from dy.
template <typename T>
void maxpool2x2_forward(T* y, int32_t* argmax, const T* x, int N, int C, int H, int W);
template <typename T>
void maxpool2x2_backward(T* dx, const T* dy, const int32_t* argmax, int N, int C, int H, int W);

// Binary cross-entropy on logits, the mean over n (plain) or over the weights (weighted, divided by
// weight_sum); returns the loss, writes dx (n) when dx is not null.
template <typename T>
double bce_with_logits(T* dx, const T* logits, const T* target, int64_t n);
template <typename T>
double bce_with_logits_weighted(T* dx, const T* logits, const T* target, const T* weight, double weight_sum,
                                int64_t n);

// One Adam step (t = step, from 1) in the textbook form: bias-corrected mhat and vhat.
template <typename T>
void adam_update(T* param, T* m, T* v, const T* grad, int64_t n, const AdamSettings& s, int64_t step);

}  // namespace seqnet::cpu::reference
