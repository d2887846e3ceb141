// conv_transpose2x2.cpp: the fast 2x2 / stride-2 transposed convolution of conv_transpose2x2.h.
//
// A band of input rows [i0, i1) of image n is one GEMM on the taps matrix
//   taps[(k,u,v), (i,j)] = y[n,k,2i+u,2j+v] - b[k]      (K*4, band), band = (i1 - i0) * W,
// with w viewed as the (C, K*4) matrix it is stored as and X (C, band) the band's input pixels,
// which are read in place (channel c's band is contiguous, channels HW apart):
//   taps   = w^T * X            then scattered into the output planes (+ bias)
//   dX     = w * dtaps          dtaps gathered from dy
//   dw    += X * dtaps^T
// Because the 2x2 blocks never overlap, scatter and gather are plain permutations. A band's taps
// fit in L2 (kBandElements), so the scatter reads what the GEMM just wrote, and the gather
// writes what the GEMM reads next, from cache. Before, whole groups of images went through one
// GEMM with the taps (and a copy of the inputs) in memory: three extra passes over the maps.
//
// The (image, band) pieces are shared out over the threads in one parallel region, each thread
// with its own taps buffer in the workspace and a single-threaded GEMM; the weight gradient
// sums into a copy of dw per thread (thread 0 into dw itself), added in thread order at the end.
#include "kernels/cpu/conv_transpose2x2.h"

#include <algorithm>
#include <vector>

#include <omp.h>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/thread_sums.h"

namespace seqnet::cpu {

namespace {

// The taps of one band: at most 64K elements (256 KB in float), a quarter of a 1 MB L2, but
// always at least one row.
constexpr int64_t kBandElements = int64_t(1) << 16;

int max_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

// Rows per band: the band's taps within kBandElements, bands of equal height.
int band_rows(int K, int H, int W) {
  const int64_t fit = std::clamp<int64_t>(kBandElements / (int64_t(K) * 4 * W), 1, H);
  const int64_t bands = (H + fit - 1) / fit;
  return int((H + bands - 1) / bands);
}

// The pieces of a call: N images cut into bands of `rows` rows.
struct Pieces {
  int rows, bands, count, threads;
  Pieces(int N, int K, int H, int W) {
    rows = band_rows(K, H, W);
    bands = (H + rows - 1) / rows;
    count = N * bands;
    threads = std::max(1, std::min(max_threads(), count));
  }
};

// y rows [2 i0, 2 i1) of image n's K planes (2H, 2W) from the band's taps (K*4, band) + b[k].
template <typename T>
void scatter_taps(T* y_n, const T* taps, const T* b, int K, int H, int W, int i0, int i1) {
  const int64_t Wo = 2 * int64_t(W), band = int64_t(i1 - i0) * W;
  for (int k = 0; k < K; ++k) {
    const T bias = b[k];
    for (int u = 0; u < 2; ++u) {
      const T* tap0 = taps + (int64_t(k) * 4 + u * 2) * band;  // tap (u, 0)
      const T* tap1 = tap0 + band;                               // tap (u, 1)
      for (int i = i0; i < i1; ++i) {
        T* dst = y_n + (int64_t(k) * 2 * H + 2 * i + u) * Wo;
        const T* s0 = tap0 + int64_t(i - i0) * W;
        const T* s1 = tap1 + int64_t(i - i0) * W;
        for (int j = 0; j < W; ++j) {
          dst[2 * j] = s0[j] + bias;
          dst[2 * j + 1] = s1[j] + bias;
        }
      }
    }
  }
}

// The band's taps (K*4, band) gathered from dy rows [2 i0, 2 i1) of image n: the inverse of
// scatter_taps.
template <typename T>
void gather_taps(T* taps, const T* dy_n, int K, int H, int W, int i0, int i1) {
  const int64_t Wo = 2 * int64_t(W), band = int64_t(i1 - i0) * W;
  for (int k = 0; k < K; ++k)
    for (int u = 0; u < 2; ++u) {
      T* tap0 = taps + (int64_t(k) * 4 + u * 2) * band;
      T* tap1 = tap0 + band;
      for (int i = i0; i < i1; ++i) {
        const T* src = dy_n + (int64_t(k) * 2 * H + 2 * i + u) * Wo;
        T* d0 = tap0 + int64_t(i - i0) * W;
        T* d1 = tap1 + int64_t(i - i0) * W;
        for (int j = 0; j < W; ++j) {
          d0[j] = src[2 * j];
          d1[j] = src[2 * j + 1];
        }
      }
    }
}

// Runs piece(taps, thread, n, i0, i1) for every piece, shared over the threads.
template <typename T, typename Piece>
void for_each_piece(const Pieces& pieces, T* workspace, int K, int H, int W, const Piece& piece) {
  const int64_t taps_size = int64_t(K) * 4 * pieces.rows * W;
#pragma omp parallel num_threads(pieces.threads)
  {
    const int t = omp_get_thread_num();
    T* taps = workspace + t * taps_size;
#pragma omp for schedule(static)
    for (int index = 0; index < pieces.count; ++index) {
      const int n = index / pieces.bands, i0 = index % pieces.bands * pieces.rows;
      piece(taps, t, n, i0, std::min(H, i0 + pieces.rows));
    }
  }
}

}  // namespace

int64_t conv_transpose2x2_workspace_size(int K, int H, int W) {
  return int64_t(std::max(1, omp_get_max_threads())) * K * 4 * band_rows(K, H, W) * W;
}

template <typename T>
void conv_transpose2x2_forward(T* y, const T* x, const T* w, const T* b, T* workspace, int N, int C, int H,
                               int W, int K) {
  const int64_t HW = int64_t(H) * W;
  const Pieces pieces(N, K, H, W);
  for_each_piece(pieces, workspace, K, H, W, [&](T* taps, int, int n, int i0, int i1) {
    const int band = (i1 - i0) * W;
    gemm<T>(true, false, K * 4, band, C, T(1), w, K * 4, x + int64_t(n) * C * HW + int64_t(i0) * W, int(HW), T(0),
            taps, band);
    scatter_taps(y + int64_t(n) * K * 4 * HW, taps, b, K, H, W, i0, i1);
  });
}

template <typename T>
void conv_transpose2x2_backward_input(T* dx, const T* dy, const T* w, T* workspace, int N, int C, int H, int W,
                                      int K) {
  const int64_t HW = int64_t(H) * W;
  const Pieces pieces(N, K, H, W);
  for_each_piece(pieces, workspace, K, H, W, [&](T* taps, int, int n, int i0, int i1) {
    const int band = (i1 - i0) * W;
    gather_taps(taps, dy + int64_t(n) * K * 4 * HW, K, H, W, i0, i1);
    gemm<T>(false, false, C, band, K * 4, T(1), w, K * 4, taps, band, T(0), dx + int64_t(n) * C * HW + int64_t(i0) * W,
            int(HW));
  });
}

template <typename T>
void conv_transpose2x2_backward_weight(T* dw, const T* dy, const T* x, T* workspace, int N, int C, int H, int W,
                                       int K) {
  const int64_t HW = int64_t(H) * W, dw_size = int64_t(C) * K * 4;
  const Pieces pieces(N, K, H, W);
  const ThreadSums<T> sums(dw, dw_size, pieces.threads);  // thread t adds into sums.of(t)
  for_each_piece(pieces, workspace, K, H, W, [&](T* taps, int t, int n, int i0, int i1) {
    const int band = (i1 - i0) * W;
    gather_taps(taps, dy + int64_t(n) * K * 4 * HW, K, H, W, i0, i1);
    gemm<T>(false, true, C, K * 4, band, T(1), x + int64_t(n) * C * HW + int64_t(i0) * W, int(HW), taps, band, T(1),
            sums.of(t), K * 4);
  });
  sums.add_copies_into_dw();
}

#define SEQNET_INSTANTIATE(T)                                                                                \
  template void conv_transpose2x2_forward<T>(T*, const T*, const T*, const T*, T*, int, int, int, int, int); \
  template void conv_transpose2x2_backward_input<T>(T*, const T*, const T*, T*, int, int, int, int, int);    \
  template void conv_transpose2x2_backward_weight<T>(T*, const T*, const T*, T*, int, int, int, int, int);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu
