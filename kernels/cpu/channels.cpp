// channels.cpp: the channel-block copies and the broadcast multiply of channels.h.
//
// Per image, a block of channels is one contiguous run of Ccount*HW numbers in both tensors,
// so each copy is N memcpy-sized runs.
#include "kernels/cpu/channels.h"

#include <algorithm>

namespace seqnet::cpu {

namespace {
constexpr int64_t kParallelMinElements = 1 << 15;
}  // namespace

template <typename T>
void copy_into_channels(T* dst, const T* src, int N, int Cdst, int offset, int Csrc, int64_t HW) {
  const int64_t run = int64_t(Csrc) * HW;
#pragma omp parallel for schedule(static) if (N * run >= kParallelMinElements)
  for (int n = 0; n < N; ++n) {
    const T* from = src + int64_t(n) * run;
    std::copy(from, from + run, dst + (int64_t(n) * Cdst + offset) * HW);
  }
}

template <typename T>
void copy_from_channels(T* dst, const T* src, int N, int Csrc, int offset, int Cdst, int64_t HW) {
  const int64_t run = int64_t(Cdst) * HW;
#pragma omp parallel for schedule(static) if (N * run >= kParallelMinElements)
  for (int n = 0; n < N; ++n) {
    const T* from = src + (int64_t(n) * Csrc + offset) * HW;
    std::copy(from, from + run, dst + int64_t(n) * run);
  }
}

template <typename T>
void add_from_channels(T* dst, const T* src, int N, int Csrc, int offset, int Cdst, int64_t HW) {
  const int64_t run = int64_t(Cdst) * HW;
  for (int n = 0; n < N; ++n) {
    const T* from = src + (int64_t(n) * Csrc + offset) * HW;
    T* to = dst + int64_t(n) * run;
#pragma omp parallel for simd schedule(static) if (run >= kParallelMinElements)
    for (int64_t i = 0; i < run; ++i) to[i] += from[i];
  }
}

template <typename T>
void broadcast_mul(T* y, const T* x, const T* m, int N, int C, int64_t HW) {
  const int64_t planes = int64_t(N) * C;
#pragma omp parallel for schedule(static) if (planes * HW >= kParallelMinElements)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const T* mp = m + (plane / C) * HW;
    const T* xp = x + plane * HW;
    T* yp = y + plane * HW;
    for (int64_t i = 0; i < HW; ++i) yp[i] = xp[i] * mp[i];
  }
}

#define SEQNET_INSTANTIATE(T)                                                          \
  template void copy_into_channels<T>(T*, const T*, int, int, int, int, int64_t);      \
  template void copy_from_channels<T>(T*, const T*, int, int, int, int, int64_t);      \
  template void add_from_channels<T>(T*, const T*, int, int, int, int, int64_t);       \
  template void broadcast_mul<T>(T*, const T*, const T*, int, int, int64_t);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu
