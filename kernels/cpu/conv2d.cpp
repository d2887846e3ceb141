// conv2d.cpp: the fast 2-D convolution of conv2d.h: im2col + one GEMM per image.
//
// With the columns  cols[(c,u,v), (i,j)] = x[c, i+u-p, j+v-p]  (zero outside), a (C*ks*ks, H*W)
// matrix per image, the three sums of conv2d.h are GEMMs:
//   y_n   (K, HW)      = w (K, C*ks*ks) * cols_n
//   dcols (C*ks*ks, HW) = w^T * dy_n,  then col2im adds each column entry back to its pixel
//   dw    (K, C*ks*ks) += dy_n (K, HW) * cols_n^T
// A 1x1 convolution needs no columns: cols_n is x_n itself. Large images go in bands of rows
// (see band_rows) so the workspace stays at most kWorkspaceElements.
#include "kernels/cpu/conv2d.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/gemm.h"

namespace seqnet::cpu {

namespace {

// Spread the copying loops over threads only when there is enough work to pay for it.
constexpr int64_t kParallelMinElements = 1 << 15;

// The columns of a whole large image would be big (a 576x576 plane with 32 channels: 380 MB), so
// an image is processed in bands of whole rows whose columns fit in kWorkspaceElements; the
// GEMMs then address the band's slice of the (K, H*W) output with row stride H*W. Bands are
// balanced (equal heights) so the last one is not a sliver.
constexpr int64_t kWorkspaceElements = int64_t(1) << 22;

int band_rows(int C, int H, int W, int ksize) {
  const int64_t per_row = int64_t(C) * ksize * ksize * W;
  const int64_t fit = std::clamp<int64_t>(kWorkspaceElements / std::max<int64_t>(per_row, 1), 1, H);
  const int64_t bands = (H + fit - 1) / fit;
  return int((H + bands - 1) / bands);
}

// cols (C*ks*ks, (i1-i0)*W) for output rows [i0, i1) of one image x (C,H,W). Row (c,u,v) holds
// channel c shifted by (u-p, v-p); its valid j range is [j0, j1), the rest is zero padding.
template <typename T>
void im2col(T* cols, const T* x, int C, int H, int W, int ksize, int i0, int i1) {
  const int p = ksize / 2;
  const int64_t HW = int64_t(H) * W, band = int64_t(i1 - i0) * W;
  const int rows = C * ksize * ksize;
#pragma omp parallel for schedule(static) if (rows * band >= kParallelMinElements)
  for (int r = 0; r < rows; ++r) {
    const int c = r / (ksize * ksize), u = (r / ksize) % ksize, v = r % ksize;
    const int j0 = std::max(0, p - v), j1 = std::min(W, W + p - v);
    const T* xc = x + int64_t(c) * HW;
    T* row = cols + int64_t(r) * band;
    for (int i = i0; i < i1; ++i) {
      T* dst = row + int64_t(i - i0) * W;
      const int ii = i + u - p;
      if (ii < 0 || ii >= H || j0 >= j1) {
        std::fill(dst, dst + W, T(0));
        continue;
      }
      std::fill(dst, dst + j0, T(0));
      std::memcpy(dst + j0, xc + int64_t(ii) * W + (j0 + v - p), sizeof(T) * (j1 - j0));
      std::fill(dst + j1, dst + W, T(0));
    }
  }
}

// dx (C,H,W) += every entry of cols (the band [i0, i1) as im2col laid it out) added back to the
// pixel it was copied from: the adjoint of im2col. One thread per channel, as a channel's
// rows of cols touch only that channel of dx.
template <typename T>
void col2im_add(T* dx, const T* cols, int C, int H, int W, int ksize, int i0, int i1) {
  const int p = ksize / 2;
  const int64_t HW = int64_t(H) * W, band = int64_t(i1 - i0) * W;
#pragma omp parallel for schedule(static) if (int64_t(C) * ksize * ksize * band >= kParallelMinElements)
  for (int c = 0; c < C; ++c) {
    T* dxc = dx + int64_t(c) * HW;
    for (int u = 0; u < ksize; ++u)
      for (int v = 0; v < ksize; ++v) {
        const int j0 = std::max(0, p - v), j1 = std::min(W, W + p - v);
        const T* row = cols + (int64_t(c) * ksize * ksize + u * ksize + v) * band;
        for (int i = i0; i < i1; ++i) {
          const int ii = i + u - p;
          if (ii < 0 || ii >= H) continue;
          const T* src = row + int64_t(i - i0) * W + j0;
          T* dst = dxc + int64_t(ii) * W + (j0 + v - p);
          for (int j = 0; j < j1 - j0; ++j) dst[j] += src[j];
        }
      }
  }
}

}  // namespace

int64_t conv2d_workspace_size(int C, int H, int W, int ksize) {
  if (ksize == 1) return 0;
  return int64_t(C) * ksize * ksize * band_rows(C, H, W, ksize) * W;
}

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, T* workspace, int N, int C, int H, int W, int K,
                    int ksize) {
  const int64_t HW = int64_t(H) * W;
  const int CKK = C * ksize * ksize;
  for (int n = 0; n < N; ++n) {
    const T* xn = x + int64_t(n) * C * HW;
    T* yn = y + int64_t(n) * K * HW;
    // Start from the bias (beta = 1) so the GEMM adds onto it without another pass.
    T beta = 0;
    if (b) {
#pragma omp parallel for schedule(static) if (int64_t(K) * HW >= kParallelMinElements)
      for (int k = 0; k < K; ++k) std::fill(yn + int64_t(k) * HW, yn + int64_t(k + 1) * HW, b[k]);
      beta = 1;
    }
    if (ksize == 1) {
      gemm<T>(false, false, K, int(HW), C, T(1), w, C, xn, int(HW), beta, yn, int(HW));
      continue;
    }
    const int rows = band_rows(C, H, W, ksize);
    for (int i0 = 0; i0 < H; i0 += rows) {
      const int i1 = std::min(H, i0 + rows), band = (i1 - i0) * W;
      im2col(workspace, xn, C, H, W, ksize, i0, i1);
      gemm<T>(false, false, K, band, CKK, T(1), w, CKK, workspace, band, beta, yn + int64_t(i0) * W, int(HW));
    }
  }
}

template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, T* workspace, int N, int C, int H, int W, int K,
                           int ksize) {
  const int64_t HW = int64_t(H) * W;
  const int CKK = C * ksize * ksize;
  for (int n = 0; n < N; ++n) {
    const T* dyn = dy + int64_t(n) * K * HW;
    T* dxn = dx + int64_t(n) * C * HW;
    if (ksize == 1) {
      gemm<T>(true, false, C, int(HW), K, T(1), w, C, dyn, int(HW), T(0), dxn, int(HW));
      continue;
    }
    std::fill(dxn, dxn + int64_t(C) * HW, T(0));
    const int rows = band_rows(C, H, W, ksize);
    for (int i0 = 0; i0 < H; i0 += rows) {
      const int i1 = std::min(H, i0 + rows), band = (i1 - i0) * W;
      gemm<T>(true, false, CKK, band, K, T(1), w, CKK, dyn + int64_t(i0) * W, int(HW), T(0), workspace, band);
      col2im_add(dxn, workspace, C, H, W, ksize, i0, i1);
    }
  }
}

template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, T* workspace, int N, int C, int H, int W, int K,
                            int ksize) {
  const int64_t HW = int64_t(H) * W;
  const int CKK = C * ksize * ksize;
  for (int n = 0; n < N; ++n) {
    const T* xn = x + int64_t(n) * C * HW;
    const T* dyn = dy + int64_t(n) * K * HW;
    if (ksize == 1) {
      gemm<T>(false, true, K, C, int(HW), T(1), dyn, int(HW), xn, int(HW), T(1), dw, C);
      continue;
    }
    const int rows = band_rows(C, H, W, ksize);
    for (int i0 = 0; i0 < H; i0 += rows) {
      const int i1 = std::min(H, i0 + rows), band = (i1 - i0) * W;
      im2col(workspace, xn, C, H, W, ksize, i0, i1);
      gemm<T>(false, true, K, CKK, band, T(1), dyn + int64_t(i0) * W, int(HW), workspace, band, T(1), dw, CKK);
    }
  }
}

template <typename T>
void bias_backward(T* db, const T* dy, int N, int K, int64_t HW) {
#pragma omp parallel for schedule(static) if (int64_t(N) * K * HW >= kParallelMinElements)
  for (int k = 0; k < K; ++k) {
    double sum = 0;  // double: a plane of 300k floats would otherwise lose digits
    for (int n = 0; n < N; ++n) {
      const T* plane = dy + (int64_t(n) * K + k) * HW;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < HW; ++i) sum += plane[i];
    }
    db[k] += static_cast<T>(sum);
  }
}

#define SEQNET_INSTANTIATE(T)                                                                         \
  template void conv2d_forward<T>(T*, const T*, const T*, const T*, T*, int, int, int, int, int, int); \
  template void conv2d_backward_input<T>(T*, const T*, const T*, T*, int, int, int, int, int, int);    \
  template void conv2d_backward_weight<T>(T*, const T*, const T*, T*, int, int, int, int, int, int);   \
  template void bias_backward<T>(T*, const T*, int, int, int64_t);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu
