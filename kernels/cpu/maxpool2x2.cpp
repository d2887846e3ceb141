// maxpool2x2.cpp: the 2x2 / stride-2 max-pool of maxpool2x2.h, one thread per (n, c) plane.
#include "kernels/cpu/maxpool2x2.h"
#include "kernels/cpu/parallel_threshold.h"

#include <algorithm>
#include <cmath>

namespace seqnet::cpu {

template <typename T>
void maxpool2x2_forward(T* y, int32_t* argmax, const T* x, int N, int C, int H, int W) {
  const int Ho = H / 2, Wo = W / 2;
  const int64_t planes = int64_t(N) * C;
#pragma omp parallel for schedule(static) if (planes * H * W >= kParallelMinElements)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const T* xp = x + plane * H * W;
    T* yp = y + plane * Ho * Wo;
    int32_t* ap = argmax + plane * Ho * Wo;
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j) {
        // Visit the window in row-major order; a later value wins only if strictly larger, so
        // the first maximum wins ties. A NaN wins and stays (it propagates, as in PyTorch).
        const int32_t top_left = (2 * i) * W + 2 * j;
        const int32_t window[4] = {top_left, top_left + 1, top_left + W, top_left + W + 1};
        int32_t best = window[0];
        for (int t = 1; t < 4; ++t) {
          const T value = xp[window[t]];
          if (value > xp[best] || (std::isnan(value) && !std::isnan(xp[best]))) best = window[t];
        }
        yp[i * Wo + j] = xp[best];
        ap[i * Wo + j] = best;
      }
  }
}

template <typename T>
void maxpool2x2_backward(T* dx, const T* dy, const int32_t* argmax, int N, int C, int H, int W) {
  const int64_t pooled = int64_t(H / 2) * (W / 2);
  const int64_t planes = int64_t(N) * C;
#pragma omp parallel for schedule(static) if (planes * H * W >= kParallelMinElements)
  for (int64_t plane = 0; plane < planes; ++plane) {
    T* dxp = dx + plane * H * W;
    std::fill(dxp, dxp + int64_t(H) * W, T(0));
    const T* dyp = dy + plane * pooled;
    const int32_t* ap = argmax + plane * pooled;
    for (int64_t o = 0; o < pooled; ++o) dxp[ap[o]] = dyp[o];
  }
}

template void maxpool2x2_forward<float>(float*, int32_t*, const float*, int, int, int, int);
template void maxpool2x2_forward<double>(double*, int32_t*, const double*, int, int, int, int);
template void maxpool2x2_backward<float>(float*, const float*, const int32_t*, int, int, int, int);
template void maxpool2x2_backward<double>(double*, const double*, const int32_t*, int, int, int, int);

}  // namespace seqnet::cpu
