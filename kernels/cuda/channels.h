// channels.h (CUDA): twin of kernels/cpu/channels.h.
#pragma once

#include <cstdint>

#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

void copy_into_channels(float* dst, const float* src, int N, int Cdst, int offset, int Csrc, int64_t HW,
                        cudaStream_t stream);
void copy_from_channels(float* dst, const float* src, int N, int Csrc, int offset, int Cdst, int64_t HW,
                        cudaStream_t stream);
void add_from_channels(float* dst, const float* src, int N, int Csrc, int offset, int Cdst, int64_t HW,
                       cudaStream_t stream);
void broadcast_mul(float* y, const float* x, const float* m, int N, int C, int64_t HW, cudaStream_t stream);

}  // namespace seqnet::cuda
