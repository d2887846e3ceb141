// conv2d.h (CUDA): twin of kernels/cpu/conv2d.h. Implicit GEMM with shared-memory tiles: the
// im2col matrix is never materialised, tiles of it are gathered from x as they are needed.
// Same math, same gradient rule (dw, db +=; dx =); float32; launched on `stream`.
#pragma once

#include <cstdint>

#include "kernels/cuda/launch.h"
#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

// y (N,K,H,W) = conv(x (N,C,H,W), w (K,C,ks,ks)) + b (K) or no bias when b is null.
void conv2d_forward(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                    int ksize, cudaStream_t stream);
// dx (N,C,H,W) = ; from dy (N,K,H,W) and w.
void conv2d_backward_input(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K, int ksize,
                           cudaStream_t stream);
// The same two on tensor cores (--conv-precision tf32, like PyTorch's allow_tf32): x, w and dy rounded
// to TF32 (10-bit mantissa, round to nearest), products summed in FP32. Error against the FP32
// versions: tests/cuda/test_cuda_tf32.cpp.
void conv2d_forward_tf32(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                         int ksize, cudaStream_t stream);
void conv2d_backward_input_tf32(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K,
                                int ksize, cudaStream_t stream);
// Evaluation: y = relu((conv(x, w) + b - running_mean) * scale + beta), scale = gamma /
// sqrt(running_var + eps), per output channel (the four (K) tensors; b may be null): the forward
// above with batch-norm and ReLU applied to the sums before they are stored, no passes over y.
void conv2d_batchnorm_relu_eval(float* y, const float* x, const float* w, const float* b, const float* gamma,
                                const float* beta, const float* running_mean, const float* running_var, double eps,
                                int N, int C, int H, int W, int K, int ksize, cudaStream_t stream);
void conv2d_batchnorm_relu_eval_tf32(float* y, const float* x, const float* w, const float* b, const float* gamma,
                                     const float* beta, const float* running_mean, const float* running_var,
                                     double eps, int N, int C, int H, int W, int K, int ksize, cudaStream_t stream);
// dw (K,C,ks,ks) += ; from dy and x.
void conv2d_backward_weight(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                            int ksize, cudaStream_t stream);
// db (K) += sum of dy (N,K,HW): many blocks per channel, chunk sums added in a fixed order
// (bias_backward.cu), so two runs give the same bits.
void bias_backward(float* db, const float* dy, int N, int K, int64_t HW, cudaStream_t stream);

// The launch shape the kernels choose (launch.h's ConvLaunchShape), for tests; tf32: that of the
// _tf32 functions (tensor-core tiles: no 16-row tile, other blocks per multiprocessor).
ConvLaunchShape conv2d_forward_launch_shape(int N, int C, int H, int W, int K, int ksize, bool tf32 = false);
ConvLaunchShape conv2d_backward_input_launch_shape(int N, int C, int H, int W, int K, int ksize, bool tf32 = false);
ConvLaunchShape conv2d_backward_weight_launch_shape(int N, int C, int H, int W, int K, int ksize);

}  // namespace seqnet::cuda
