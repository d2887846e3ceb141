// ops.h: the kernels on Tensors: shapes checked, then dispatched to the CPU (float or double)
// or the CUDA twin (float). This is the one place that chooses a device; the layers call only
// these. A missing CUDA kernel is an error, never a silent CPU fallback.
//
// Gradient rule as in the kernels: parameter gradients +=, activation gradients =.
#pragma once

#include <cstdint>

#include "kernels/batchnorm_sync.h"
#include "kernels/cpu/adam.h"
#include "kernels/tensor.h"

namespace seqnet::ops {

// Which convolution engine runs conv2d on the GPU: the project's kernels or cuDNN (comparison).
enum class ConvEngine { custom, cudnn };
void set_conv_engine(ConvEngine engine);
ConvEngine conv_engine();
// How the convolutions multiply: fp32 (both devices); tf32, the custom GPU convolutions on tensor
// cores (forward and backward-input; kernels/cuda/conv2d.h; the CPU ignores it); bf16, the CPU's
// 3x3 forward passes and input gradients in bfloat16 with float32 sums (kernels/cpu/conv3x3_bf16.h; AVX-512 BF16
// only: setting it elsewhere throws; the GPU ignores it).
enum class ConvPrecision { fp32, tf32, bf16 };
void set_conv_precision(ConvPrecision precision);
ConvPrecision conv_precision();

// y (N,K,H,W) = conv(x (N,C,H,W), w (K,C,k,k)) [+ b (K)], stride 1, pad k/2.
void conv2d_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* b);
void conv2d_backward_input(Tensor& dx, const Tensor& dy, const Tensor& w);
void conv2d_backward_weight(Tensor& dw, const Tensor& dy, const Tensor& x);
// Evaluation only: y = relu(batchnorm_eval(conv(x, w) [+ b])), the Conv2d -> BatchNorm2d -> ReLU
// stage of a DoubleConv in one op. On the CPU's 3x3 kernels (float) and the custom GPU kernels the
// normalisation and the ReLU are applied to the sums before they are stored (no extra passes over
// y); elsewhere (double, cuDNN) the three kernels run one after the other on y. gamma, beta,
// running_mean, running_var: (K).
void conv2d_batchnorm_relu_eval(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* b, const Tensor& gamma,
                                const Tensor& beta, const Tensor& running_mean, const Tensor& running_var,
                                double eps);
// db (K) += sum of dy (N,K,H,W) over everything but the channel.
void bias_backward(Tensor& db, const Tensor& dy);

// y (N,K,2H,2W) = transposed conv of x (N,C,H,W) with w (C,K,2,2), stride 2, + b (K).
void conv_transpose2x2_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b);
void conv_transpose2x2_backward_input(Tensor& dx, const Tensor& dy, const Tensor& w);
void conv_transpose2x2_backward_weight(Tensor& dw, const Tensor& dy, const Tensor& x);

// y (N,C,H/2,W/2), argmax (same shape, int32) from x (N,C,H,W).
void maxpool2x2_forward(Tensor& y, Tensor& argmax, const Tensor& x);
void maxpool2x2_backward(Tensor& dx, const Tensor& dy, const Tensor& argmax);

// With `sync` the statistics cover every rank's batch (kernels/batchnorm_sync.h; CPU only).
void batchnorm_forward_train(Tensor& y, Tensor& mean, Tensor& rstd, Tensor& running_mean, Tensor& running_var,
                             const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, double momentum,
                             const BatchNormSync* sync = nullptr);
void batchnorm_forward_eval(Tensor& y, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                            const Tensor& running_mean, const Tensor& running_var, double eps);
// dx may be dy itself (the sums over dy are made before dx is written).
void batchnorm_backward(Tensor& dx, Tensor& dgamma, Tensor& dbeta, const Tensor& dy, const Tensor& x,
                        const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                        const BatchNormSync* sync = nullptr);

// Training, a DoubleConv stage's BatchNorm2d -> ReLU -> Dropout(p, seed) in one op (p = 0: no
// dropout): the statistics and running statistics of batchnorm_forward_train, then one pass
// writing y = relu(batchnorm(x)) keep / (1-p) with dropout_forward's mask; on the CPU the same
// bits as the three ops. Its backward reads the ReLU and dropout mask from y (y > 0 exactly where
// both let the value through; kernels/cpu/batchnorm.h), so y must be unchanged until then; dx may
// be dy. The two replace 7 passes over the map by 3 forward and 10 by 7 backward (docs/GPU.md).
void batchnorm_relu_dropout_forward_train(Tensor& y, Tensor& mean, Tensor& rstd, Tensor& running_mean,
                                          Tensor& running_var, const Tensor& x, const Tensor& gamma,
                                          const Tensor& beta, double eps, double momentum, float p, uint64_t seed,
                                          const BatchNormSync* sync = nullptr);
void batchnorm_relu_dropout_backward(Tensor& dx, Tensor& dgamma, Tensor& dbeta, const Tensor& dy, const Tensor& x,
                                     const Tensor& y, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                                     float p, const BatchNormSync* sync = nullptr);

void relu_forward(Tensor& y, const Tensor& x);
void relu_backward(Tensor& dx, const Tensor& dy, const Tensor& y);
void sigmoid_forward(Tensor& y, const Tensor& x);
void sigmoid_backward(Tensor& dx, const Tensor& dy, const Tensor& y);
void dropout_forward(Tensor& y, const Tensor& x, float p, uint64_t seed);
void dropout_backward(Tensor& dx, const Tensor& dy, float p, uint64_t seed);
void add_inplace(Tensor& y, const Tensor& x);  // y += x

// Channel blocks of (N,C,H,W) tensors: dst[:, offset:offset+src.C] = src, and the reverse.
void copy_into_channels(Tensor& dst, const Tensor& src, int offset);
void copy_from_channels(Tensor& dst, const Tensor& src, int offset);
void add_from_channels(Tensor& dst, const Tensor& src, int offset);  // dst += src[:, offset:offset+dst.C]
// y (N,C,H,W) = x (N,C,H,W) * m (N,1,H,W).
void broadcast_mul(Tensor& y, const Tensor& x, const Tensor& m);

// loss (1 element) += mean BCE of logits against target; dx (same shape) = its gradient.
void bce_with_logits(Tensor& loss, Tensor& dx, const Tensor& logits, const Tensor& target);
// loss += sum(weight * BCE) / weight_sum; dx = its gradient (kernels/cpu/loss.h). weight_sum is
// the sum of weight, given by the caller (who usually knows it on the host).
void bce_with_logits_weighted(Tensor& loss, Tensor& dx, const Tensor& logits, const Tensor& target,
                              const Tensor& weight, double weight_sum);

// One Adam step on flat buffers of equal size.
void adam_update(Tensor& param, Tensor& m, Tensor& v, const Tensor& grad, const cpu::AdamSettings& s,
                 int64_t step);

}  // namespace seqnet::ops
