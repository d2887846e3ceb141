// conv_transpose2x2.cpp: the fast 2x2 / stride-2 transposed convolution of conv_transpose2x2.h.
//
// A group of g images is one GEMM on the taps matrix taps[(k,u,v), (m,i,j)] = y[m,k,2i+u,2j+v]
// - b[k] (K*4, g*H*W), with w viewed as the (C, K*4) matrix it is stored as and X (C, g*H*W)
// the group's inputs side by side:
//   taps   = w^T * X            then scattered into the output planes (+ bias)
//   dX     = w * dtaps          dtaps gathered from dy
//   dw    += X * dtaps^T
// Because the 2x2 blocks never overlap, scatter and gather are plain permutations. Small
// planes group many images so the GEMM stays large; a large plane goes alone (g = 1), with
// x and dx used in place.
#include "kernels/cpu/conv_transpose2x2.h"

#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/image_matrix.h"

namespace seqnet::cpu {

namespace {

constexpr int64_t kParallelMinElements = 1 << 15;
// The workspace cap for grouping: 4M elements (16 MB in float).
constexpr int64_t kWorkspaceElements = int64_t(1) << 22;

// Images per GEMM: the group's taps (K*4, g*HW) and its inputs (C, g*HW) share the workspace.
int group_size(int C, int H, int W, int K, int N) {
  const int64_t per_image = (int64_t(K) * 4 + C) * H * W;
  return int(std::clamp<int64_t>(conv_transpose2x2_workspace_size(K, H, W) / per_image, 1, N));
}

// y (images, K, 2H, 2W) = taps (K*4, images*H*W) rearranged, plus b[k].
template <typename T>
void scatter_taps(T* y, const T* taps, const T* b, int images, int K, int H, int W) {
  const int64_t HW = int64_t(H) * W, Wo = 2 * int64_t(W), ld = images * HW;
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(K) * 4 * ld >= kParallelMinElements)
  for (int m = 0; m < images; ++m)
    for (int k = 0; k < K; ++k) {
      const T bias = b[k];
      for (int u = 0; u < 2; ++u) {
        const T* row0 = taps + (int64_t(k) * 4 + u * 2) * ld + m * HW;  // tap (u, 0)
        const T* row1 = row0 + ld;                                      // tap (u, 1)
        for (int i = 0; i < H; ++i) {
          T* dst = y + ((int64_t(m) * K + k) * 2 * H + 2 * i + u) * Wo;
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

// taps (K*4, images*H*W) gathered from dy (images, K, 2H, 2W): the inverse of scatter_taps.
template <typename T>
void gather_taps(T* taps, const T* dy, int images, int K, int H, int W) {
  const int64_t HW = int64_t(H) * W, Wo = 2 * int64_t(W), ld = images * HW;
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(K) * 4 * ld >= kParallelMinElements)
  for (int m = 0; m < images; ++m)
    for (int k = 0; k < K; ++k)
      for (int u = 0; u < 2; ++u) {
        T* row0 = taps + (int64_t(k) * 4 + u * 2) * ld + m * HW;
        T* row1 = row0 + ld;
        for (int i = 0; i < H; ++i) {
          const T* src = dy + ((int64_t(m) * K + k) * 2 * H + 2 * i + u) * Wo;
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

int64_t conv_transpose2x2_workspace_size(int K, int H, int W) {
  return std::max(int64_t(K) * 4 * H * W, kWorkspaceElements);
}

template <typename T>
void conv_transpose2x2_forward(T* y, const T* x, const T* w, const T* b, T* workspace, int N, int C, int H,
                               int W, int K) {
  const int64_t HW = int64_t(H) * W;
  const int group = group_size(C, H, W, K, N);
  T* x_matrix = workspace + int64_t(K) * 4 * group * HW;  // (C, g*HW) after the taps
  for (int n0 = 0; n0 < N; n0 += group) {
    const int images = std::min(group, N - n0), ld = int(images * HW);
    const T* xs = x + int64_t(n0) * C * HW;
    if (images > 1) {
      images_to_matrix(x_matrix, xs, images, C, HW);
      xs = x_matrix;
    }
    gemm<T>(true, false, K * 4, ld, C, T(1), w, K * 4, xs, ld, T(0), workspace, ld);
    scatter_taps(y + int64_t(n0) * K * 4 * HW, workspace, b, images, K, H, W);
  }
}

template <typename T>
void conv_transpose2x2_backward_input(T* dx, const T* dy, const T* w, T* workspace, int N, int C, int H, int W,
                                      int K) {
  const int64_t HW = int64_t(H) * W;
  const int group = group_size(C, H, W, K, N);
  T* dx_matrix = workspace + int64_t(K) * 4 * group * HW;  // (C, g*HW) after the taps
  for (int n0 = 0; n0 < N; n0 += group) {
    const int images = std::min(group, N - n0), ld = int(images * HW);
    T* dxs = dx + int64_t(n0) * C * HW;
    gather_taps(workspace, dy + int64_t(n0) * K * 4 * HW, images, K, H, W);
    gemm<T>(false, false, C, ld, K * 4, T(1), w, K * 4, workspace, ld, T(0), images > 1 ? dx_matrix : dxs, ld);
    if (images > 1) matrix_to_images(dxs, dx_matrix, static_cast<const T*>(nullptr), images, C, HW);
  }
}

template <typename T>
void conv_transpose2x2_backward_weight(T* dw, const T* dy, const T* x, T* workspace, int N, int C, int H, int W,
                                       int K) {
  const int64_t HW = int64_t(H) * W;
  const int group = group_size(C, H, W, K, N);
  T* x_matrix = workspace + int64_t(K) * 4 * group * HW;  // (C, g*HW) after the taps
  for (int n0 = 0; n0 < N; n0 += group) {
    const int images = std::min(group, N - n0), ld = int(images * HW);
    const T* xs = x + int64_t(n0) * C * HW;
    if (images > 1) {
      images_to_matrix(x_matrix, xs, images, C, HW);
      xs = x_matrix;
    }
    gather_taps(workspace, dy + int64_t(n0) * K * 4 * HW, images, K, H, W);
    gemm<T>(false, true, C, K * 4, ld, T(1), xs, ld, workspace, ld, T(1), dw, K * 4);
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
