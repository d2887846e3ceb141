// reference.cpp: the plain-loop convolutions of reference.h, written as the sums in conv2d.h
// and conv_transpose2x2.h read. Index arithmetic in int64_t so large test shapes cannot overflow.
#include "kernels/cpu/reference.h"

#include <cstdint>

namespace seqnet::cpu::reference {

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, int N, int C, int H, int W, int K, int ksize) {
  const int p = ksize / 2;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j) {
          T sum = b ? b[k] : T(0);
          for (int64_t c = 0; c < C; ++c)
            for (int u = 0; u < ksize; ++u)
              for (int v = 0; v < ksize; ++v) {
                const int ii = i + u - p, jj = j + v - p;
                if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
                sum += w[((k * C + c) * ksize + u) * ksize + v] * x[((n * C + c) * H + ii) * W + jj];
              }
          y[((n * K + k) * H + i) * W + j] = sum;
        }
}

template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, int N, int C, int H, int W, int K, int ksize) {
  const int p = ksize / 2;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j) {
          T sum = 0;
          for (int64_t k = 0; k < K; ++k)
            for (int u = 0; u < ksize; ++u)
              for (int v = 0; v < ksize; ++v) {
                const int ii = i - u + p, jj = j - v + p;
                if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
                sum += w[((k * C + c) * ksize + u) * ksize + v] * dy[((n * K + k) * H + ii) * W + jj];
              }
          dx[((n * C + c) * H + i) * W + j] = sum;
        }
}

template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, int N, int C, int H, int W, int K, int ksize) {
  const int p = ksize / 2;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c)
      for (int u = 0; u < ksize; ++u)
        for (int v = 0; v < ksize; ++v) {
          T sum = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int i = 0; i < H; ++i)
              for (int j = 0; j < W; ++j) {
                const int ii = i + u - p, jj = j + v - p;
                if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
                sum += dy[((n * K + k) * H + i) * W + j] * x[((n * C + c) * H + ii) * W + jj];
              }
          dw[((k * C + c) * ksize + u) * ksize + v] += sum;
        }
}

template <typename T>
void conv_transpose2x2_forward(T* y, const T* x, const T* w, const T* b, int N, int C, int H, int W, int K) {
  const int64_t Ho = 2 * H, Wo = 2 * W;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j)
          for (int u = 0; u < 2; ++u)
            for (int v = 0; v < 2; ++v) {
              T sum = b[k];
              for (int64_t c = 0; c < C; ++c)
                sum += x[((n * C + c) * H + i) * W + j] * w[((c * K + k) * 2 + u) * 2 + v];
              y[((n * K + k) * Ho + 2 * i + u) * Wo + 2 * j + v] = sum;
            }
}

template <typename T>
void conv_transpose2x2_backward_input(T* dx, const T* dy, const T* w, int N, int C, int H, int W, int K) {
  const int64_t Ho = 2 * H, Wo = 2 * W;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j) {
          T sum = 0;
          for (int64_t k = 0; k < K; ++k)
            for (int u = 0; u < 2; ++u)
              for (int v = 0; v < 2; ++v)
                sum += w[((c * K + k) * 2 + u) * 2 + v] * dy[((n * K + k) * Ho + 2 * i + u) * Wo + 2 * j + v];
          dx[((n * C + c) * H + i) * W + j] = sum;
        }
}

template <typename T>
void conv_transpose2x2_backward_weight(T* dw, const T* dy, const T* x, int N, int C, int H, int W, int K) {
  const int64_t Ho = 2 * H, Wo = 2 * W;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t k = 0; k < K; ++k)
      for (int u = 0; u < 2; ++u)
        for (int v = 0; v < 2; ++v) {
          T sum = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int i = 0; i < H; ++i)
              for (int j = 0; j < W; ++j)
                sum += x[((n * C + c) * H + i) * W + j] * dy[((n * K + k) * Ho + 2 * i + u) * Wo + 2 * j + v];
          dw[((c * K + k) * 2 + u) * 2 + v] += sum;
        }
}

#define SEQNET_INSTANTIATE(T)                                                                                   \
  template void conv2d_forward<T>(T*, const T*, const T*, const T*, int, int, int, int, int, int);              \
  template void conv2d_backward_input<T>(T*, const T*, const T*, int, int, int, int, int, int);                 \
  template void conv2d_backward_weight<T>(T*, const T*, const T*, int, int, int, int, int, int);                \
  template void conv_transpose2x2_forward<T>(T*, const T*, const T*, const T*, int, int, int, int, int);        \
  template void conv_transpose2x2_backward_input<T>(T*, const T*, const T*, int, int, int, int, int);           \
  template void conv_transpose2x2_backward_weight<T>(T*, const T*, const T*, int, int, int, int, int);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu::reference
