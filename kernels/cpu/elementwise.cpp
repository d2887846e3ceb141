// elementwise.cpp: the pointwise kernels of elementwise.h (ReLU, sigmoid, dropout, add).
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/parallel_threshold.h"

#include <algorithm>
#include <cmath>

#include "kernels/dropout_hash.h"

namespace seqnet::cpu {

namespace {

// 1 / (1 + e^-x) without overflow: for x < 0 use e^x / (1 + e^x).
template <typename T>
T stable_sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}
}  // namespace

template <typename T>
void relu_forward(T* y, const T* x, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <typename T>
void relu_backward(T* dx, const T* dy, const T* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    // Load dy unconditionally: with the load inside the select GCC keeps a branch per element
    // (mispredicted half the time on random signs) and does not vectorise the loop.
    const T gradient = dy[i];
    dx[i] = y[i] > T(0) ? gradient : T(0);
  }
}

template <typename T>
void sigmoid_forward(T* y, const T* x, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] = stable_sigmoid(x[i]);
}

template <typename T>
void sigmoid_backward(T* dx, const T* dy, const T* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
}

// Inverted dropout: survivors are scaled by 1/(1-p) so the expectation is unchanged and
// evaluation needs no rescaling. p == 0 is the identity.
// The hash's 32-bit multiplies dominate; on x86-64 the library targets x86-64-v2 (4 lanes), so
// this loop is also compiled for AVX2 and AVX-512 and the widest one the CPU runs is picked when
// the program loads (1M floats on one core: 0.85 ms with SSE, 0.55 AVX2, 0.39 AVX-512). Elsewhere
// (aarch64: NEON, 4 lanes) it is compiled once.
#if defined(__x86_64__)
#define SEQNET_DROPOUT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SEQNET_DROPOUT_CLONES
#endif
template <typename T>
SEQNET_DROPOUT_CLONES void dropout_piece(T* y, const T* x, int64_t n, uint64_t first, float p, uint64_t seed) {
  const T scale = static_cast<T>(dropout_scale(p));
  const uint32_t threshold = dropout_threshold(p);
  // A multiply by 0 or scale rather than a select: with IEEE trapping semantics GCC will not
  // if-convert the select, and only the branch-free form vectorises. A dropped NaN stays NaN.
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T factor = dropout_keep_with_threshold(seed, first + uint64_t(i), threshold) ? scale : T(0);
    y[i] = x[i] * factor;
  }
}

template <typename T>
void dropout_forward(T* y, const T* x, int64_t n, float p, uint64_t seed) {
  if (p == 0.0f) {
    std::copy(x, x + n, y);
    return;
  }
  // Pieces of kDropoutPiece elements, shared out among the threads.
  constexpr int64_t kDropoutPiece = 1 << 14;
  const int64_t pieces = (n + kDropoutPiece - 1) / kDropoutPiece;
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t k = 0; k < pieces; ++k) {
    const int64_t first = k * kDropoutPiece;
    dropout_piece(y + first, x + first, std::min(kDropoutPiece, n - first), uint64_t(first), p, seed);
  }
}

template <typename T>
void dropout_backward(T* dx, const T* dy, int64_t n, float p, uint64_t seed) {
  dropout_forward(dx, dy, n, p, seed);  // the same mask and scale applied to the gradient
}

template <typename T>
void add_inplace(T* y, const T* x, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

#define SEQNET_INSTANTIATE(T)                                                        \
  template void relu_forward<T>(T*, const T*, int64_t);                              \
  template void relu_backward<T>(T*, const T*, const T*, int64_t);                   \
  template void sigmoid_forward<T>(T*, const T*, int64_t);                           \
  template void sigmoid_backward<T>(T*, const T*, const T*, int64_t);                \
  template void dropout_forward<T>(T*, const T*, int64_t, float, uint64_t);          \
  template void dropout_backward<T>(T*, const T*, int64_t, float, uint64_t);         \
  template void dropout_piece<T>(T*, const T*, int64_t, uint64_t, float, uint64_t);  \
  template void add_inplace<T>(T*, const T*, int64_t);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu
