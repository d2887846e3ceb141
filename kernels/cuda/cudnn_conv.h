// cudnn_conv.h: cuDNN's convolutions as a comparison engine (--conv-engine cudnn), never the
// default. Same signatures and gradient rule as kernels/cuda/conv2d.h. True float32: tensor-op
// math is switched off so the comparison with the custom kernels is like for like. The *_tf32
// versions allow tensor-op math (TF32 on Ampere and later, as PyTorch's default for convolutions)
// and take cuDNN's fastest algorithm of any kind: the line the custom TF32 kernels are compared
// with in bench/bench_cuda_kernels.cpp.
#pragma once

#include <string>

#include "kernels/cuda/runtime.h"

namespace seqnet::cudnn {

// False with the reason when this build has no cuDNN.
bool available(std::string* why_not = nullptr);

void conv2d_forward(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                    int ksize, cudaStream_t stream);
void conv2d_backward_input(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K, int ksize,
                           cudaStream_t stream);
void conv2d_backward_weight(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                            int ksize, cudaStream_t stream);
void conv2d_forward_tf32(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                         int ksize, cudaStream_t stream);
void conv2d_backward_input_tf32(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K,
                                int ksize, cudaStream_t stream);
void conv2d_backward_weight_tf32(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                                 int ksize, cudaStream_t stream);

}  // namespace seqnet::cudnn
