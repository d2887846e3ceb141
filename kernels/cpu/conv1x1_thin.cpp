// conv1x1_thin.cpp: the plain loops of conv1x1_thin.h.
//
// Work is cut into pieces of one image and one block of kBlock pixels, shared over the OpenMP
// threads in a fixed (static) order. Within a piece the K output (or input-gradient) rows of the
// block stay in L1 while the C input planes stream past once.
#include "kernels/cpu/conv1x1_thin.h"
#include "kernels/cpu/parallel_threshold.h"
#include "kernels/cpu/thread_sums.h"

#include <omp.h>

#include <algorithm>
#include <vector>

namespace seqnet::cpu {

namespace {

// Pixels per piece: the forward pass's K <= 4 rows of 1024 double sums (32 KB) stay in L1.
constexpr int64_t kBlock = 1024;

// The pieces of N planes of HW pixels: image n, pixels [p0, p0 + length).
struct Piece {
  int64_t n, p0, length;
};
struct Pieces {
  int64_t HW, blocks, count;
  Pieces(int N, int64_t HW) : HW(HW), blocks((HW + kBlock - 1) / kBlock), count(N * blocks) {}
  Piece operator[](int64_t piece) const {
    const int64_t p0 = piece % blocks * kBlock;
    return {piece / blocks, p0, std::min(kBlock, HW - p0)};
  }
};

int team_size(int64_t elements, int64_t pieces) {
  if (elements < kParallelMinElements || omp_in_parallel()) return 1;
  return int(std::clamp<int64_t>(pieces, 1, omp_get_max_threads()));
}

// The library targets x86-64-v2 (SSE: 2 double lanes, no FMA) on x86-64; these memory-bound
// loops are also compiled for AVX (with FMA) and AVX-512, and the CPU picks one when the program
// loads (SEQNET_CONV=avx2 does not narrow this choice: an AVX2 imitation on an AVX-512 CPU runs
// the AVX-512 clone of these loops). Elsewhere (aarch64: NEON) they are compiled once.
#if defined(__x86_64__)
#define SEQNET_THIN_CLONES __attribute__((target_clones("avx512f", "fma", "default")))
#else
#define SEQNET_THIN_CLONES
#endif

// The sums over c run in double, one rounding per output: a head's output is the input of a
// sigmoid or of the next refiner, and in the tiny golden model a ReLU input downstream sits 1e-6
// from its kink, where float sums over c in another order than PyTorch's put it on the other
// side (docs/PERFORMANCE.md). One piece of the forward pass: the block's K rows of double sums
// stay in L1 (32 KB) while the C input planes stream past once, each x value loaded once for all
// K rows (K is a template argument, so the loop over k unrolls inside the vectorised pixel loop).
template <typename T, int K>
[[gnu::always_inline]] inline void forward_block_k(T* yn, const T* xn, const T* w, const T* b, int C, int64_t HW,
                                                   int64_t length) {
  double sums[K][kBlock];
  for (int k = 0; k < K; ++k) std::fill(sums[k], sums[k] + length, b ? double(b[k]) : 0.0);
  for (int c = 0; c < C; ++c) {
    const T* xc = xn + c * HW;
    double wc[K];
    for (int k = 0; k < K; ++k) wc[k] = w[k * C + c];
#pragma omp simd
    for (int64_t i = 0; i < length; ++i) {
      const double xi = xc[i];
      for (int k = 0; k < K; ++k) sums[k][i] += wc[k] * xi;
    }
  }
  for (int k = 0; k < K; ++k)
    for (int64_t i = 0; i < length; ++i) yn[k * HW + i] = T(sums[k][i]);
}

template <typename T>
SEQNET_THIN_CLONES void forward_block(T* yn, const T* xn, const T* w, const T* b, int C, int64_t HW, int64_t length,
                                      int K) {
  switch (K) {
    case 1: return forward_block_k<T, 1>(yn, xn, w, b, C, HW, length);
    case 2: return forward_block_k<T, 2>(yn, xn, w, b, C, HW, length);
    case 3: return forward_block_k<T, 3>(yn, xn, w, b, C, HW, length);
    default: return forward_block_k<T, 4>(yn, xn, w, b, C, HW, length);
  }
}

// One piece of the input gradient: each dx row of the block is written once, from the K dy rows.
template <typename T>
SEQNET_THIN_CLONES void input_gradient_block(T* dxn, const T* dyn, const T* w, int C, int64_t HW, int64_t length,
                                             int K) {
  for (int c = 0; c < C; ++c) {
    T* dxc = dxn + c * HW;
    std::fill(dxc, dxc + length, T(0));
    for (int k = 0; k < K; ++k) {
      const T* dyk = dyn + k * HW;
      const T wkc = w[k * C + c];
#pragma omp simd
      for (int64_t i = 0; i < length; ++i) dxc[i] += wkc * dyk[i];
    }
  }
}

// One piece of the weight gradient: the block's K x C dot products, each summed in T in the
// vector lanes' partial sums, added to this thread's double sums.
template <typename T>
SEQNET_THIN_CLONES void weight_gradient_block(double* sums, const T* dyn, const T* xn, int C, int64_t HW,
                                              int64_t length, int K) {
  for (int c = 0; c < C; ++c) {
    const T* xc = xn + c * HW;
    for (int k = 0; k < K; ++k) {
      const T* dyk = dyn + k * HW;
      T block_sum = 0;
#pragma omp simd reduction(+ : block_sum)
      for (int64_t i = 0; i < length; ++i) block_sum += dyk[i] * xc[i];
      sums[k * C + c] += double(block_sum);
    }
  }
}

}  // namespace

template <typename T>
void conv1x1_thin_forward(T* y, const T* x, const T* w, const T* b, int N, int C, int64_t HW, int K) {
  const Pieces pieces(N, HW);
#pragma omp parallel for schedule(static) num_threads(team_size(int64_t(N) * C * HW, pieces.count))
  for (int64_t i = 0; i < pieces.count; ++i) {
    const auto [n, p0, length] = pieces[i];
    forward_block(y + n * K * HW + p0, x + n * C * HW + p0, w, b, C, HW, length, K);
  }
}

template <typename T>
void conv1x1_thin_backward_input(T* dx, const T* dy, const T* w, int N, int C, int64_t HW, int K) {
  const Pieces pieces(N, HW);
#pragma omp parallel for schedule(static) num_threads(team_size(int64_t(N) * C * HW, pieces.count))
  for (int64_t i = 0; i < pieces.count; ++i) {
    const auto [n, p0, length] = pieces[i];
    input_gradient_block(dx + n * C * HW + p0, dy + n * K * HW + p0, w, C, HW, length, K);
  }
}

// Each (k, c) sum runs over N * HW products (131K for two 256x256 crops). A block's dot product
// of kBlock products is summed in T, in the vector lanes' partial sums; the blocks' results go
// into double sums per thread (thread_sums.h: added in thread order), so the rounding grows with
// the block's length, not with the plane's (a plain float sum over a whole 576x576 plane would
// lose about 3 more digits in the worst case). The totals are rounded once into dw.
template <typename T>
void conv1x1_thin_backward_weight(T* dw, const T* dy, const T* x, int N, int C, int64_t HW, int K) {
  const Pieces pieces(N, HW);
  const int threads = team_size(int64_t(N) * C * HW, pieces.count), KC = K * C;
  // Grows once to the largest layer; a training step after the first allocates nothing.
  static thread_local std::vector<double> totals;
  totals.assign(KC, 0.0);
  const ThreadSums<double> sums(totals.data(), KC, threads);
#pragma omp parallel num_threads(threads)
  {
    double* my_sums = sums.of(omp_get_thread_num());
#pragma omp for schedule(static)
    for (int64_t i = 0; i < pieces.count; ++i) {
      const auto [n, p0, length] = pieces[i];
      weight_gradient_block(my_sums, dy + n * K * HW + p0, x + n * C * HW + p0, C, HW, length, K);
    }
  }
  sums.add_copies_into_dw();
  for (int e = 0; e < KC; ++e) dw[e] += T(totals[e]);
}

#define SEQNET_INSTANTIATE(T)                                                                           \
  template void conv1x1_thin_forward<T>(T*, const T*, const T*, const T*, int, int, int64_t, int);      \
  template void conv1x1_thin_backward_input<T>(T*, const T*, const T*, int, int, int64_t, int);         \
  template void conv1x1_thin_backward_weight<T>(T*, const T*, const T*, int, int, int64_t, int);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu
