// conv2d.cpp: the fast 2-D convolution of conv2d.h: im2col + one GEMM per image.
//
// With the columns  cols[(c,u,v), (i,j)] = x[c, i+u-p, j+v-p]  (zero outside), a (C*ks*ks, H*W)
// matrix per image, the three sums of conv2d.h are GEMMs:
//   y_n   (K, HW)      = w (K, C*ks*ks) * cols_n
//   dcols (C*ks*ks, HW) = w^T * dy_n,  then col2im adds each column entry back to its pixel
//   dw    (K, C*ks*ks) += dy_n (K, HW) * cols_n^T
// A 1x1 convolution needs no columns: cols_n is x_n itself.
#include "kernels/cpu/conv2d.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/gemm.h"

namespace seqnet::cpu {

namespace {

// Spread the copying loops over threads only when there is enough work to pay for it.
constexpr int64_t kParallelMinElements = 1 << 15;

// cols (C*ks*ks, H*W) of one image x (C,H,W). Row (c,u,v) holds x's channel c shifted by
// (u-p, v-p); the valid j range of a row is [j0, j1), the rest is the zero padding.
template <typename T>
void im2col(T* cols, const T* x, int C, int H, int W, int ksize) {
  const int p = ksize / 2;
  const int64_t HW = int64_t(H) * W;
  const int rows = C * ksize * ksize;
#pragma omp parallel for schedule(static) if (rows * HW >= kParallelMinElements)
  for (int r = 0; r < rows; ++r) {
    const int c = r / (ksize * ksize), u = (r / ksize) % ksize, v = r % ksize;
    const int j0 = std::max(0, p - v), j1 = std::min(W, W + p - v);
    const T* xc = x + int64_t(c) * HW;
    T* row = cols + int64_t(r) * HW;
    for (int i = 0; i < H; ++i) {
      T* dst = row + int64_t(i) * W;
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

// dx (C,H,W) = the sum, over every column entry, of that entry added back to the pixel it was
// copied from (the adjoint of im2col). One thread per channel: a channel's rows touch only it.
template <typename T>
void col2im(T* dx, const T* cols, int C, int H, int W, int ksize) {
  const int p = ksize / 2;
  const int64_t HW = int64_t(H) * W;
#pragma omp parallel for schedule(static) if (int64_t(C) * ksize * ksize * HW >= kParallelMinElements)
  for (int c = 0; c < C; ++c) {
    T* dxc = dx + int64_t(c) * HW;
    std::fill(dxc, dxc + HW, T(0));
    for (int u = 0; u < ksize; ++u)
      for (int v = 0; v < ksize; ++v) {
        const int j0 = std::max(0, p - v), j1 = std::min(W, W + p - v);
        const T* row = cols + (int64_t(c) * ksize * ksize + u * ksize + v) * HW;
        for (int i = 0; i < H; ++i) {
          const int ii = i + u - p;
          if (ii < 0 || ii >= H) continue;
          const T* src = row + int64_t(i) * W + j0;
          T* dst = dxc + int64_t(ii) * W + (j0 + v - p);
          for (int j = 0; j < j1 - j0; ++j) dst[j] += src[j];
        }
      }
  }
}

}  // namespace

int64_t conv2d_workspace_size(int C, int H, int W, int ksize) {
  if (ksize == 1) return 0;
  return int64_t(C) * ksize * ksize * H * W;
}

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, T* workspace, int N, int C, int H, int W, int K,
                    int ksize) {
  const int64_t HW = int64_t(H) * W;
  const int CKK = C * ksize * ksize;
  for (int n = 0; n < N; ++n) {
    const T* xn = x + int64_t(n) * C * HW;
    T* yn = y + int64_t(n) * K * HW;
    const T* cols = xn;
    if (ksize != 1) {
      im2col(workspace, xn, C, H, W, ksize);
      cols = workspace;
    }
    // Start from the bias (beta = 1) so the GEMM adds onto it without another pass.
    T beta = 0;
    if (b) {
#pragma omp parallel for schedule(static) if (int64_t(K) * HW >= kParallelMinElements)
      for (int k = 0; k < K; ++k) std::fill(yn + int64_t(k) * HW, yn + int64_t(k + 1) * HW, b[k]);
      beta = 1;
    }
    gemm<T>(false, false, K, int(HW), CKK, T(1), w, CKK, cols, int(HW), beta, yn, int(HW));
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
    gemm<T>(true, false, CKK, int(HW), K, T(1), w, CKK, dyn, int(HW), T(0), workspace, int(HW));
    col2im(dxn, workspace, C, H, W, ksize);
  }
}

template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, T* workspace, int N, int C, int H, int W, int K,
                            int ksize) {
  const int64_t HW = int64_t(H) * W;
  const int CKK = C * ksize * ksize;
  for (int n = 0; n < N; ++n) {
    const T* xn = x + int64_t(n) * C * HW;
    const T* cols = xn;
    if (ksize != 1) {
      im2col(workspace, xn, C, H, W, ksize);
      cols = workspace;
    }
    gemm<T>(false, true, K, CKK, int(HW), T(1), dy + int64_t(n) * K * HW, int(HW), cols, int(HW), T(1), dw, CKK);
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
