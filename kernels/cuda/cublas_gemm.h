// cublas_gemm.h: cuBLAS SGEMM in true float32 (no TF32), the reference line the custom
// convolution kernels' speed is read against in the benchmarks. Not used by the program.
#pragma once

#include "kernels/cuda/runtime.h"

namespace seqnet::cublas {

// C (M,N) = A (M,K) * B (K,N), all row-major float32 in device memory, launched on `stream`.
void sgemm(float* C, const float* A, const float* B, int M, int N, int K, cudaStream_t stream);

}  // namespace seqnet::cublas
