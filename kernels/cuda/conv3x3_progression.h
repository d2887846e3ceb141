// conv3x3_progression.h (CUDA): the 3x3 convolution's forward pass in five steps, each a kernel
// of its own, for reading and timing (docs/KERNELS.md, "The forward pass in five steps"): 1 naive,
// 2 shared-memory tiles, 3 register-blocked micro-tiles, 4 double-buffered shared memory, 5 tensor
// cores. Steps 1-4 are in conv3x3_progression.cu; step 5 is the program's TF32 kernel
// (conv2d_forward_tf32, conv2d.h), which builds on step 4's tiles. Not used by the model: it runs
// conv2d.h. Checked against the plain-loop CPU reference (kernels/cpu/reference.h) in
// tests/cuda/test_cuda_conv3x3_progression.cpp; timed by bench/bench_cuda_kernels.cpp
// (BM_conv3x3_progression/...).
#pragma once

#include <array>

#include "kernels/cuda/runtime.h"

namespace seqnet::cuda::progression {

// y (N,K,H,W) = conv3x3(x (N,C,H,W), w (K,C,3,3)) + b (K), or no bias when b is null; padding 1
// (zeros outside the image), stride 1; float32 in and out; launched on `stream`.
using Forward = void (*)(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                         int K, cudaStream_t stream);

void forward_v1_naive(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                      cudaStream_t stream);
void forward_v2_shared_tiles(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                             int K, cudaStream_t stream);
void forward_v3_register_blocked(float* y, const float* x, const float* w, const float* b, int N, int C, int H,
                                 int W, int K, cudaStream_t stream);
void forward_v4_double_buffered(float* y, const float* x, const float* w, const float* b, int N, int C, int H,
                                int W, int K, cudaStream_t stream);
// conv2d_forward_tf32 (conv2d.h) at ksize 3: inputs rounded to TF32, products summed in FP32.
void forward_v5_tensor_cores(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                             int K, cudaStream_t stream);

struct Step {
  const char* name;  // "1_naive" ...: the benchmarks' and the tests' names
  Forward forward;
  bool tf32;         // inputs rounded to TF32 (step 5): a wider error bound
};
// The five steps in order.
const std::array<Step, 5>& steps();

}  // namespace seqnet::cuda::progression
