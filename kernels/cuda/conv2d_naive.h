// conv2d_naive.h (CUDA): kernel 1 of the convolution's progression (docs/KERNELS.md): one thread
// per output element, each a plain loop over its sum, straight from the formulas of
// kernels/cpu/conv2d.h. Slow, and easy to check by eye; kernels/cuda/conv2d.h is the tuned
// implicit GEMM (kernel 2) that the model runs. Same signatures and gradient rule (dw +=; dx =)
// as that one, so tests and benchmarks can swap them. Not used by the model.
#pragma once

#include "kernels/cuda/runtime.h"

namespace seqnet::cuda::naive {

// y (N,K,H,W) = conv(x (N,C,H,W), w (K,C,ks,ks)) + b (K) or no bias when b is null.
void conv2d_forward(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                    int ksize, cudaStream_t stream);
// dx (N,C,H,W) = ; from dy (N,K,H,W) and w.
void conv2d_backward_input(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K, int ksize,
                           cudaStream_t stream);
// dw (K,C,ks,ks) += ; from dy and x.
void conv2d_backward_weight(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                            int ksize, cudaStream_t stream);

}  // namespace seqnet::cuda::naive
