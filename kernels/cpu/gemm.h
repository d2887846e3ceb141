// gemm.h: C = alpha * op(A) * op(B) + beta * C on row-major matrices, through OpenBLAS.
//
// op(A) is (M, K) and op(B) is (K, N); `trans_a` / `trans_b` say the stored matrix is the
// transpose (A stored (K, M), B stored (N, K)). lda, ldb, ldc are the row strides as stored.
// A thin wrapper so the templated kernels call one name for float (sgemm) and double (dgemm);
// Large products are split over the OpenMP threads, each calling single-threaded OpenBLAS.
#pragma once

#include <cstdint>

namespace seqnet::cpu {

template <typename T>
void gemm(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda, const T* B, int ldb,
          T beta, T* C, int ldc);

}  // namespace seqnet::cpu
