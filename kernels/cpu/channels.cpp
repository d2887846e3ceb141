// channels.cpp: the channel-block copies and the broadcast multiply of channels.h.
//
// Per image, a block of channels is one contiguous run of Ccount*HW numbers in both tensors,
// so each copy is N memcpy-sized runs (cut into chunks so one image keeps every thread busy).
#include "kernels/cpu/channels.h"
#include "kernels/cpu/parallel_threshold.h"

#include <algorithm>

namespace seqnet::cpu {

namespace {

// A run of Ccount*HW numbers per image is copied in chunks of this many, so that one image
// (inference) is copied by every thread, not by one.
constexpr int64_t kChunk = 1 << 16;

// dst[n*dst_stride + i] = src[n*src_stride + i] for n < N, i < run.
template <typename T>
void copy_runs(T* dst, int64_t dst_stride, const T* src, int64_t src_stride, int N, int64_t run) {
  const int64_t chunks = (run + kChunk - 1) / kChunk;
#pragma omp parallel for collapse(2) schedule(static) if (N * run >= kParallelMinElements)
  for (int n = 0; n < N; ++n)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * kChunk, end = std::min(run, begin + kChunk);
      std::copy(src + n * src_stride + begin, src + n * src_stride + end, dst + n * dst_stride + begin);
    }
}

}  // namespace

template <typename T>
void copy_into_channels(T* dst, const T* src, int N, int Cdst, int offset, int Csrc, int64_t HW) {
  const int64_t run = int64_t(Csrc) * HW;
  copy_runs(dst + int64_t(offset) * HW, int64_t(Cdst) * HW, src, run, N, run);
}

template <typename T>
void copy_from_channels(T* dst, const T* src, int N, int Csrc, int offset, int Cdst, int64_t HW) {
  const int64_t run = int64_t(Cdst) * HW;
  copy_runs(dst, run, src + int64_t(offset) * HW, int64_t(Csrc) * HW, N, run);
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
