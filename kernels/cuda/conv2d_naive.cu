// conv2d_naive.cu: kernel 1 of the convolution (conv2d_naive.h): one thread per output element.
// p = ks/2 ("same" padding), zeros outside the image.
//
// Forward          thread (n,k,i,j):  y = b[k] + sum_{c,u,v} w[k,c,u,v] x[n,c,i+u-p,j+v-p]
// Backward-input   thread (n,c,i,j):  dx = sum_{k,u,v} w[k,c,u,v] dy[n,k,i-u+p,j-v+p]
// Backward-weight  thread (k,c,u,v):  dw += sum_{n,i,j} dy[n,k,i,j] x[n,c,i+u-p,j+v-p]
//
// Every thread reads its operands straight from global memory, and neighbouring threads (the
// same k, neighbouring j) read the same weights and overlapping pixels again: nothing is reused
// on chip, so the kernel is bound by memory traffic and its loop overhead. The tiled kernel of
// conv2d.cu exists to fix exactly that (docs/KERNELS.md shows what it buys).
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d_naive.h"
#include "kernels/cuda/launch.h"

#include <stdexcept>
#include <string>

namespace seqnet::cuda::naive {

namespace {

__global__ void forward_kernel(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                               int K, int ks) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= int64_t(N) * K * H * W) return;
  const int j = int(idx % W), i = int(idx / W % H), k = int(idx / (int64_t(W) * H) % K);
  const int64_t n = idx / (int64_t(W) * H * K);
  const int p = ks / 2;
  float sum = b ? b[k] : 0.f;
  for (int c = 0; c < C; ++c)
    for (int u = 0; u < ks; ++u)
      for (int v = 0; v < ks; ++v) {
        const int ii = i + u - p, jj = j + v - p;
        if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
        sum += w[((int64_t(k) * C + c) * ks + u) * ks + v] * x[((n * C + c) * H + ii) * W + jj];
      }
  y[idx] = sum;
}

__global__ void backward_input_kernel(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K,
                                      int ks) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= int64_t(N) * C * H * W) return;
  const int j = int(idx % W), i = int(idx / W % H), c = int(idx / (int64_t(W) * H) % C);
  const int64_t n = idx / (int64_t(W) * H * C);
  const int p = ks / 2;
  float sum = 0.f;
  for (int k = 0; k < K; ++k)
    for (int u = 0; u < ks; ++u)
      for (int v = 0; v < ks; ++v) {
        const int ii = i - u + p, jj = j - v + p;  // the outputs whose window saw x[n,c,i,j] at tap (u,v)
        if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
        sum += w[((int64_t(k) * C + c) * ks + u) * ks + v] * dy[((n * K + k) * H + ii) * W + jj];
      }
  dx[idx] = sum;
}

__global__ void backward_weight_kernel(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                                       int ks) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= int64_t(K) * C * ks * ks) return;
  const int v = int(idx % ks), u = int(idx / ks % ks), c = int(idx / (ks * ks) % C);
  const int64_t k = idx / (int64_t(ks) * ks * C);
  const int p = ks / 2;
  float sum = 0.f;
  for (int64_t n = 0; n < N; ++n)
    for (int i = 0; i < H; ++i)
      for (int j = 0; j < W; ++j) {
        const int ii = i + u - p, jj = j + v - p;
        if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
        sum += dy[((n * K + k) * H + i) * W + j] * x[((n * C + c) * H + ii) * W + jj];
      }
  dw[idx] += sum;
}

void check_ksize(int ksize, const char* what) {
  if (ksize != 1 && ksize != 3)
    throw std::invalid_argument(std::string(what) + ": kernel size must be 1 or 3, got " + std::to_string(ksize));
}

// One thread per element of a tensor of `count` elements.
unsigned blocks_for(int64_t count) { return unsigned((count + kBlockThreads - 1) / kBlockThreads); }

}  // namespace

void conv2d_forward(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                    int ksize, cudaStream_t stream) {
  check_ksize(ksize, "naive conv2d_forward");
  const int64_t count = int64_t(N) * K * H * W;
  if (count == 0) return;
  forward_kernel<<<blocks_for(count), kBlockThreads, 0, stream>>>(y, x, w, b, N, C, H, W, K, ksize);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void conv2d_backward_input(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K, int ksize,
                           cudaStream_t stream) {
  check_ksize(ksize, "naive conv2d_backward_input");
  const int64_t count = int64_t(N) * C * H * W;
  if (count == 0) return;
  backward_input_kernel<<<blocks_for(count), kBlockThreads, 0, stream>>>(dx, dy, w, N, C, H, W, K, ksize);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void conv2d_backward_weight(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                            int ksize, cudaStream_t stream) {
  check_ksize(ksize, "naive conv2d_backward_weight");
  const int64_t count = int64_t(K) * C * ksize * ksize;
  if (count == 0 || int64_t(N) * H * W == 0) return;
  backward_weight_kernel<<<blocks_for(count), kBlockThreads, 0, stream>>>(dw, dy, x, N, C, H, W, K, ksize);
  SEQNET_CUDA_CHECK_LAUNCH();
}

}  // namespace seqnet::cuda::naive
