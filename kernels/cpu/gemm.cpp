// gemm.cpp: the float and double GEMMs of gemm.h, forwarded to cblas_sgemm / cblas_dgemm.
#include "kernels/cpu/gemm.h"

#include <cblas.h>

namespace seqnet::cpu {

namespace {
CBLAS_TRANSPOSE blas_transpose(bool trans) { return trans ? CblasTrans : CblasNoTrans; }
}  // namespace

template <>
void gemm<float>(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, blas_transpose(trans_a), blas_transpose(trans_b), M, N, K, alpha, A, lda, B, ldb,
              beta, C, ldc);
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A, int lda,
                  const double* B, int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, blas_transpose(trans_a), blas_transpose(trans_b), M, N, K, alpha, A, lda, B, ldb,
              beta, C, ldc);
}

}  // namespace seqnet::cpu
