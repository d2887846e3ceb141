// conv_transpose2x2.h (CUDA): twin of kernels/cpu/conv_transpose2x2.h; the three passes are GEMMs
// on the implicit-GEMM tiles (conv_transpose2x2.cu). Same gradient rule (dw +=; dx =).
#pragma once

#include "kernels/cuda/launch.h"
#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

// y (N,K,2H,2W) from x (N,C,H,W), w (C,K,2,2), b (K).
void conv_transpose2x2_forward(float* y, const float* x, const float* w, const float* b, int N, int C, int H,
                               int W, int K, cudaStream_t stream);
// dx (N,C,H,W) = ; from dy (N,K,2H,2W) and w.
void conv_transpose2x2_backward_input(float* dx, const float* dy, const float* w, int N, int C, int H, int W,
                                      int K, cudaStream_t stream);
// dw (C,K,2,2) += ; from dy and x.
void conv_transpose2x2_backward_weight(float* dw, const float* dy, const float* x, int N, int C, int H, int W,
                                       int K, cudaStream_t stream);

// The launch shapes the three passes choose (launch.h), for tests.
ConvLaunchShape conv_transpose2x2_forward_launch_shape(int N, int C, int H, int W, int K);
ConvLaunchShape conv_transpose2x2_backward_input_launch_shape(int N, int C, int H, int W, int K);
ConvLaunchShape conv_transpose2x2_backward_weight_launch_shape(int N, int C, int H, int W, int K);

}  // namespace seqnet::cuda
