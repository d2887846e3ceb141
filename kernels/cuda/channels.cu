// channels.cu: the channel-block copies of channels.h (concat, split, split-accumulate) and the
// broadcast multiply, as grid-stride loops over the destination's elements.
#include "kernels/cuda/channels.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"

namespace seqnet::cuda {

namespace {

#define SEQNET_GRID_STRIDE_LOOP(i, n)                                                             \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// dst (N,Cdst,HW) channels [offset, offset+Csrc) = src (N,Csrc,HW); i runs over src.
__global__ void copy_into_channels_kernel(float* dst, const float* src, int Cdst, int offset, int Csrc, int64_t HW,
                                          int64_t n) {
  SEQNET_GRID_STRIDE_LOOP(i, n) {
    const int64_t plane = i / HW, p = i - plane * HW;
    const int64_t b = plane / Csrc, c = plane - b * Csrc;
    dst[(b * Cdst + offset + c) * HW + p] = src[i];
  }
}

// dst (N,Cdst,HW) = (or += when ACCUMULATE) src (N,Csrc,HW) channels [offset, offset+Cdst); i runs over dst.
template <bool ACCUMULATE>
__global__ void copy_from_channels_kernel(float* dst, const float* src, int Csrc, int offset, int Cdst, int64_t HW,
                                          int64_t n) {
  SEQNET_GRID_STRIDE_LOOP(i, n) {
    const int64_t plane = i / HW, p = i - plane * HW;
    const int64_t b = plane / Cdst, c = plane - b * Cdst;
    const float value = src[(b * Csrc + offset + c) * HW + p];
    if (ACCUMULATE)
      dst[i] += value;
    else
      dst[i] = value;
  }
}

// y (N,C,HW) = x (N,C,HW) * m (N,1,HW).
__global__ void broadcast_mul_kernel(float* y, const float* x, const float* m, int C, int64_t HW, int64_t n) {
  SEQNET_GRID_STRIDE_LOOP(i, n) {
    const int64_t plane = i / HW, p = i - plane * HW;
    y[i] = x[i] * m[(plane / C) * HW + p];
  }
}

#undef SEQNET_GRID_STRIDE_LOOP

}  // namespace

void copy_into_channels(float* dst, const float* src, int N, int Cdst, int offset, int Csrc, int64_t HW,
                        cudaStream_t stream) {
  const int64_t n = int64_t(N) * Csrc * HW;
  if (n <= 0) return;
  copy_into_channels_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(dst, src, Cdst, offset, Csrc, HW,
                                                                                  n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void copy_from_channels(float* dst, const float* src, int N, int Csrc, int offset, int Cdst, int64_t HW,
                        cudaStream_t stream) {
  const int64_t n = int64_t(N) * Cdst * HW;
  if (n <= 0) return;
  copy_from_channels_kernel<false><<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(dst, src, Csrc, offset,
                                                                                         Cdst, HW, n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void add_from_channels(float* dst, const float* src, int N, int Csrc, int offset, int Cdst, int64_t HW,
                       cudaStream_t stream) {
  const int64_t n = int64_t(N) * Cdst * HW;
  if (n <= 0) return;
  copy_from_channels_kernel<true><<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(dst, src, Csrc, offset,
                                                                                        Cdst, HW, n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void broadcast_mul(float* y, const float* x, const float* m, int N, int C, int64_t HW, cudaStream_t stream) {
  const int64_t n = int64_t(N) * C * HW;
  if (n <= 0) return;
  broadcast_mul_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(y, x, m, C, HW, n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

}  // namespace seqnet::cuda
