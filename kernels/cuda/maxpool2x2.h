// maxpool2x2.h (CUDA): twin of kernels/cpu/maxpool2x2.h.
#pragma once

#include <cstdint>

#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

void maxpool2x2_forward(float* y, int32_t* argmax, const float* x, int N, int C, int H, int W,
                        cudaStream_t stream);
void maxpool2x2_backward(float* dx, const float* dy, const int32_t* argmax, int N, int C, int H, int W,
                         cudaStream_t stream);

}  // namespace seqnet::cuda
