// conv_transpose2x2.cu: the 2x2/2 transposed convolution of conv_transpose2x2.h.
//
// Every input pixel paints its own 2x2 output block, so each output depends on exactly one input
// pixel and the three passes are small dot products:
//   forward          one thread per output channel at an input position (n,k,i,j): it writes the
//                    4 outputs y[n,k,2i+u,2j+v] = b[k] + sum_c x[n,c,i,j] w[c,k,u,v] (the 4 taps
//                    w[c,k,:,:] are contiguous), so K threads read the same input pixel
//   backward-input   one thread per (n,c,i,j): dx = sum_{k,u,v} w[c,k,u,v] dy[n,k,2i+u,2j+v]
//   backward-weight  one block per (c,k): the 4 sums over n,i,j of x[n,c,i,j] dy[n,k,2i+u,2j+v],
//                    reduced across the block and added to dw (+=)
// Neighbouring threads take neighbouring j, so x and dy reads coalesce and w reads broadcast.
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv_transpose2x2.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/reduce.cuh"

namespace seqnet::cuda {

namespace {

#define SEQNET_GRID_STRIDE_LOOP(i, n)                                                             \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// y (N,K,2H,2W) from x (N,C,H,W), w (C,K,2,2), b (K); idx runs over (n, k, i, j).
__global__ void forward_kernel(float* y, const float* __restrict__ x, const float* __restrict__ w,
                               const float* __restrict__ b, int C, int H, int W, int K, int64_t total) {
  const int HW = H * W;
  SEQNET_GRID_STRIDE_LOOP(idx, total) {
    const int64_t plane = idx / HW;  // n * K + k
    const int p = int(idx - plane * HW), i = p / W, j = p - (p / W) * W;
    const int64_t n = plane / K;
    const int k = int(plane - n * K);
    const float bias = b[k];
    float acc[4] = {bias, bias, bias, bias};
    const float* xp = x + n * C * HW + p;
    for (int c = 0; c < C; ++c) {
      const float xv = xp[int64_t(c) * HW];
      const float* wp = w + (int64_t(c) * K + k) * 4;
#pragma unroll
      for (int t = 0; t < 4; ++t) acc[t] = fmaf(xv, __ldg(&wp[t]), acc[t]);
    }
    float* yp = y + plane * 4 * HW + (2 * i) * (2 * W) + 2 * j;
    yp[0] = acc[0];
    yp[1] = acc[1];
    yp[2 * W] = acc[2];
    yp[2 * W + 1] = acc[3];
  }
}

// dx (N,C,H,W) from dy (N,K,2H,2W), w (C,K,2,2); idx runs over (n, c, i, j).
__global__ void backward_input_kernel(float* dx, const float* __restrict__ dy, const float* __restrict__ w, int C,
                                      int H, int W, int K, int64_t total) {
  const int HW = H * W;
  SEQNET_GRID_STRIDE_LOOP(idx, total) {
    const int64_t plane = idx / HW;  // n * C + c
    const int p = int(idx - plane * HW), i = p / W, j = p - (p / W) * W;
    const int64_t n = plane / C;
    const int c = int(plane - n * C);
    const float* dyp = dy + n * K * 4 * HW + (2 * i) * (2 * W) + 2 * j;
    const float* wp = w + int64_t(c) * K * 4;
    float acc = 0.f;
    for (int k = 0; k < K; ++k) {
      const float* d = dyp + int64_t(k) * 4 * HW;
      acc = fmaf(__ldg(&wp[4 * k + 0]), d[0], acc);
      acc = fmaf(__ldg(&wp[4 * k + 1]), d[1], acc);
      acc = fmaf(__ldg(&wp[4 * k + 2]), d[2 * W], acc);
      acc = fmaf(__ldg(&wp[4 * k + 3]), d[2 * W + 1], acc);
    }
    dx[idx] = acc;
  }
}

// dw[c,k,:,:] += the 4 tap sums; block (c, k) = (blockIdx.x / K, blockIdx.x % K).
__global__ void backward_weight_kernel(float* dw, const float* __restrict__ dy, const float* __restrict__ x, int N,
                                       int C, int H, int W, int K) {
  const int c = blockIdx.x / K, k = blockIdx.x - (blockIdx.x / K) * K;
  const int HW = H * W;
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  for (int n = 0; n < N; ++n) {
    const float* xp = x + (int64_t(n) * C + c) * HW;
    const float* dyp = dy + (int64_t(n) * K + k) * 4 * HW;
    for (int p = threadIdx.x; p < HW; p += blockDim.x) {
      const int i = p / W, j = p - (p / W) * W;
      const float xv = xp[p];
      const float* d = dyp + (2 * i) * (2 * W) + 2 * j;
      acc[0] = fmaf(xv, d[0], acc[0]);
      acc[1] = fmaf(xv, d[1], acc[1]);
      acc[2] = fmaf(xv, d[2 * W], acc[2]);
      acc[3] = fmaf(xv, d[2 * W + 1], acc[3]);
    }
  }
  float* wp = dw + (int64_t(c) * K + k) * 4;
  for (int t = 0; t < 4; ++t) {
    const float sum = block_sum(acc[t]);
    if (threadIdx.x == 0) wp[t] += sum;
  }
}

#undef SEQNET_GRID_STRIDE_LOOP

}  // namespace

void conv_transpose2x2_forward(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                               int K, cudaStream_t stream) {
  const int64_t total = int64_t(N) * K * H * W;
  if (total <= 0) return;
  forward_kernel<<<grid_stride_blocks(total), kBlockThreads, 0, stream>>>(y, x, w, b, C, H, W, K, total);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void conv_transpose2x2_backward_input(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K,
                                      cudaStream_t stream) {
  const int64_t total = int64_t(N) * C * H * W;
  if (total <= 0) return;
  backward_input_kernel<<<grid_stride_blocks(total), kBlockThreads, 0, stream>>>(dx, dy, w, C, H, W, K, total);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void conv_transpose2x2_backward_weight(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                                       cudaStream_t stream) {
  if (int64_t(C) * K == 0) return;
  backward_weight_kernel<<<unsigned(int64_t(C) * K), kBlockThreads, 0, stream>>>(dw, dy, x, N, C, H, W, K);
  SEQNET_CUDA_CHECK_LAUNCH();
}

}  // namespace seqnet::cuda
