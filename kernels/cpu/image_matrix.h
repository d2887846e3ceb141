// image_matrix.h: moving a group of images between (images, K, HW) layout and the (K, images*HW)
// matrix a single GEMM over the group reads or writes (images side by side). Internal to the
// fast convolutions (conv2d.cpp, conv_transpose2x2.cpp).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/parallel_threshold.h"

namespace seqnet::cpu {

// y (images, K, HW) = mat (K, images*HW) + b[k] (no bias when b is null).
template <typename T>
void matrix_to_images(T* y, const T* mat, const T* b, int images, int K, int64_t HW) {
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(images) * K * HW >= kParallelMinElements)
  for (int m = 0; m < images; ++m)
    for (int k = 0; k < K; ++k) {
      const T* src = mat + int64_t(k) * images * HW + m * HW;
      T* dst = y + (int64_t(m) * K + k) * HW;
      const T bias = b ? b[k] : T(0);
      for (int64_t i = 0; i < HW; ++i) dst[i] = src[i] + bias;
    }
}

// mat (K, images*HW) = y (images, K, HW) side by side: the inverse of matrix_to_images.
template <typename T>
void images_to_matrix(T* mat, const T* y, int images, int K, int64_t HW) {
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(images) * K * HW >= kParallelMinElements)
  for (int m = 0; m < images; ++m)
    for (int k = 0; k < K; ++k) {
      const T* src = y + (int64_t(m) * K + k) * HW;
      std::copy(src, src + HW, mat + int64_t(k) * images * HW + m * HW);
    }
}

}  // namespace seqnet::cpu
