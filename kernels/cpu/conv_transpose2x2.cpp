// conv_transpose2x2.cpp: the fast 2x2 / stride-2 transposed convolution of conv_transpose2x2.h.
//
// Each image is one GEMM on its taps matrix taps[(k,u,v), (i,j)] = y[k, 2i+u, 2j+v] - b[k]
// (K*4, H*W), with w viewed as the (C, K*4) matrix it is stored as:
//   taps   = w^T * x_n                 then scattered into the output plane (+ bias)
//   dx_n   = w * dtaps                 dtaps gathered from dy_n
//   dw    += x_n * dtaps^T
// Because the 2x2 blocks never overlap, scatter and gather are plain permutations.
#include "kernels/cpu/conv_transpose2x2.h"

#include "kernels/cpu/gemm.h"

namespace seqnet::cpu {

namespace {

constexpr int64_t kParallelMinElements = 1 << 15;

// y (K, 2H, 2W) = taps (K*4, H*W) rearranged, plus b[k].
template <typename T>
void scatter_taps(T* y, const T* taps, const T* b, int K, int H, int W) {
  const int64_t HW = int64_t(H) * W, Wo = 2 * int64_t(W);
#pragma omp parallel for schedule(static) if (int64_t(K) * 4 * HW >= kParallelMinElements)
  for (int k = 0; k < K; ++k) {
    const T bias = b[k];
    for (int u = 0; u < 2; ++u) {
      const T* row0 = taps + (int64_t(k) * 4 + u * 2) * HW;  // tap (u, 0)
      const T* row1 = row0 + HW;                             // tap (u, 1)
      for (int i = 0; i < H; ++i) {
        T* dst = y + (int64_t(k) * 2 * H + 2 * i + u) * Wo;
        const T* s0 = row0 + int64_t(i) * W;
        const T* s1 = row1 + int64_t(i) * W;
        for (int j = 0; j < W; ++j) {
          dst[2 * j] = s0[j] + bias;
          dst[2 * j + 1] = s1[j] + bias;
        }
      }
    }
  }
}

// taps (K*4, H*W) gathered from dy (K, 2H, 2W): the inverse permutation of scatter_taps.
template <typename T>
void gather_taps(T* taps, const T* dy, int K, int H, int W) {
  const int64_t HW = int64_t(H) * W, Wo = 2 * int64_t(W);
#pragma omp parallel for schedule(static) if (int64_t(K) * 4 * HW >= kParallelMinElements)
  for (int k = 0; k < K; ++k)
    for (int u = 0; u < 2; ++u) {
      T* row0 = taps + (int64_t(k) * 4 + u * 2) * HW;
      T* row1 = row0 + HW;
      for (int i = 0; i < H; ++i) {
        const T* src = dy + (int64_t(k) * 2 * H + 2 * i + u) * Wo;
        T* d0 = row0 + int64_t(i) * W;
        T* d1 = row1 + int64_t(i) * W;
        for (int j = 0; j < W; ++j) {
          d0[j] = src[2 * j];
          d1[j] = src[2 * j + 1];
        }
      }
    }
}

}  // namespace

int64_t conv_transpose2x2_workspace_size(int K, int H, int W) { return int64_t(K) * 4 * H * W; }

template <typename T>
void conv_transpose2x2_forward(T* y, const T* x, const T* w, const T* b, T* workspace, int N, int C, int H,
                               int W, int K) {
  const int64_t HW = int64_t(H) * W;
  for (int n = 0; n < N; ++n) {
    gemm<T>(true, false, K * 4, int(HW), C, T(1), w, K * 4, x + int64_t(n) * C * HW, int(HW), T(0), workspace,
            int(HW));
    scatter_taps(y + int64_t(n) * K * 4 * HW, workspace, b, K, H, W);
  }
}

template <typename T>
void conv_transpose2x2_backward_input(T* dx, const T* dy, const T* w, T* workspace, int N, int C, int H, int W,
                                      int K) {
  const int64_t HW = int64_t(H) * W;
  for (int n = 0; n < N; ++n) {
    gather_taps(workspace, dy + int64_t(n) * K * 4 * HW, K, H, W);
    gemm<T>(false, false, C, int(HW), K * 4, T(1), w, K * 4, workspace, int(HW), T(0), dx + int64_t(n) * C * HW,
            int(HW));
  }
}

template <typename T>
void conv_transpose2x2_backward_weight(T* dw, const T* dy, const T* x, T* workspace, int N, int C, int H, int W,
                                       int K) {
  const int64_t HW = int64_t(H) * W;
  for (int n = 0; n < N; ++n) {
    gather_taps(workspace, dy + int64_t(n) * K * 4 * HW, K, H, W);
    gemm<T>(false, true, C, K * 4, int(HW), T(1), x + int64_t(n) * C * HW, int(HW), workspace, int(HW), T(1), dw,
            K * 4);
  }
}

#define SEQNET_INSTANTIATE(T)                                                                                \
  template void conv_transpose2x2_forward<T>(T*, const T*, const T*, const T*, T*, int, int, int, int, int); \
  template void conv_transpose2x2_backward_input<T>(T*, const T*, const T*, T*, int, int, int, int, int);    \
  template void conv_transpose2x2_backward_weight<T>(T*, const T*, const T*, T*, int, int, int, int, int);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu
