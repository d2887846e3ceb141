// elementwise.h (CUDA): twin of kernels/cpu/elementwise.h. Grid-stride loops; `max_blocks`
// caps the grid (0: enough blocks for one element per thread) so tests can force the stride.
#pragma once

#include <cstdint>

#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

// Caps the number of blocks every grid-stride kernel launches (0 = no cap). For tests.
void set_max_blocks(int max_blocks);

void relu_forward(float* y, const float* x, int64_t n, cudaStream_t stream);
void relu_backward(float* dx, const float* dy, const float* y, int64_t n, cudaStream_t stream);
void sigmoid_forward(float* y, const float* x, int64_t n, cudaStream_t stream);
void sigmoid_backward(float* dx, const float* dy, const float* y, int64_t n, cudaStream_t stream);
void dropout_forward(float* y, const float* x, int64_t n, float p, uint64_t seed, cudaStream_t stream);
void dropout_backward(float* dx, const float* dy, int64_t n, float p, uint64_t seed, cudaStream_t stream);
void add_inplace(float* y, const float* x, int64_t n, cudaStream_t stream);

}  // namespace seqnet::cuda
