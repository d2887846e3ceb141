// mma_check.h (CUDA): one warp's tensor-core product through mma.cuh, on plain matrices, so the
// tests can hold the fragment layout and the TF32 rounding against a scalar GEMM.
#pragma once

#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

// d (16x8) = c (16x8) + round_to_tf32(a) (16x8) * round_to_tf32(b) (8x8), all row-major device
// arrays, computed by a single warp calling mma_m16n8k8_tf32 once.
void mma_m16n8k8_tf32_check(float* d, const float* a, const float* b, const float* c, cudaStream_t stream);

}  // namespace seqnet::cuda
