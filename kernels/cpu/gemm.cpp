// gemm.cpp: the float and double GEMMs of gemm.h: cblas_sgemm / cblas_dgemm, one call per
// OpenMP thread on its share of C.
//
// Why not let OpenBLAS thread each call: the element-wise kernels use OpenMP, whose threads
// spin for a while after every parallel region; OpenBLAS's own pthreads then compete with them
// for the same 2 cores (measured: 41 s of CPU for a training step plus an inference against
// 15 s with OpenMP told to sleep at once). With OpenBLAS single-threaded and the GEMM split over
// the OpenMP team, one set of threads does all the work.
#include "kernels/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>

namespace seqnet::cpu {

namespace {

// Below this many multiply-adds one thread is faster than a split.
constexpr double kSplitMinWork = 1 << 20;

CBLAS_TRANSPOSE blas_transpose(bool trans) { return trans ? CblasTrans : CblasNoTrans; }

void call_blas(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, blas_transpose(ta), blas_transpose(tb), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void call_blas(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B,
               int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, blas_transpose(ta), blas_transpose(tb), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// OpenBLAS runs each call in its caller's thread from the first GEMM on.
void make_blas_single_threaded() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

// C (M, N) split into column blocks (or row blocks when M > N), one per thread:
//   C[:, j0:j1] = alpha op(A) op(B)[:, j0:j1] + beta C[:, j0:j1]
//   C[i0:i1, :] = alpha op(A)[i0:i1, :] op(B) + beta C[i0:i1, :]
// Column j of op(B) starts at B + j (stored (K, N)) or B + j*ldb (stored (N, K)); row i of op(A)
// at A + i*lda (stored (M, K)) or A + i (stored (K, M)).
template <typename T>
void split_gemm(bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B, int ldb, T beta,
                T* C, int ldc) {
  make_blas_single_threaded();
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int parts = double(M) * N * K < kSplitMinWork ? 1 : std::min(threads, std::max(M, N));
  if (parts <= 1) {
    call_blas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const bool by_columns = N >= M;
  const int length = by_columns ? N : M;
#pragma omp parallel for schedule(static, 1) num_threads(parts)
  for (int part = 0; part < parts; ++part) {
    const int first = int(int64_t(length) * part / parts), last = int(int64_t(length) * (part + 1) / parts);
    if (by_columns)
      call_blas(ta, tb, M, last - first, K, alpha, A, lda, B + (tb ? int64_t(first) * ldb : first), ldb, beta,
                C + first, ldc);
    else
      call_blas(ta, tb, last - first, N, K, alpha, A + (ta ? first : int64_t(first) * lda), lda, B, ldb, beta,
                C + int64_t(first) * ldc, ldc);
  }
}

}  // namespace

template <>
void gemm<float>(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
  split_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A, int lda,
                  const double* B, int ldb, double beta, double* C, int ldc) {
  split_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace seqnet::cpu
