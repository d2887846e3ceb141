// cublas_gemm.cu: the SGEMM of cublas_gemm.h. CUBLAS_DEFAULT_MATH keeps float32 inputs and
// accumulation (TF32 tensor cores only run under CUBLAS_TF32_TENSOR_OP_MATH).
#include <cublas_v2.h>

#include <stdexcept>
#include <string>

#include "kernels/cuda/cublas_gemm.h"

namespace seqnet::cublas {

namespace {

void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLAS error in ") + what + ": " + cublasGetStatusString(status));
}

// One handle per process, never destroyed: at exit the CUDA context may already be gone.
cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t created = nullptr;
    check(cublasCreate(&created), "cublasCreate");
    check(cublasSetMathMode(created, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    return created;
  }();
  return h;
}

}  // namespace

void sgemm(float* C, const float* A, const float* B, int M, int N, int K, cudaStream_t stream) {
  if (M == 0 || N == 0) return;
  cublasHandle_t h = handle();
  check(cublasSetStream(h, stream), "cublasSetStream");
  // cuBLAS is column-major: a row-major (M,N) C is a column-major (N,M) C^T = B^T A^T.
  const float one = 1.f, zero = 0.f;
  check(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B, N, A, K, &zero, C, N), "cublasSgemm");
}

}  // namespace seqnet::cublas
