// elementwise.cu: the pointwise kernels of elementwise.h as grid-stride loops (the grid size
// comes from grid_stride_blocks(), which set_max_blocks() can cap so the tests exercise the stride).
#include "kernels/cuda/check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/dropout_hash.h"

namespace seqnet::cuda {

namespace {

// Index i of this thread's first element and the stride to its next.
#define SEQNET_GRID_STRIDE_LOOP(i, n)                                                             \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

__global__ void relu_forward_kernel(float* y, const float* x, int64_t n) {
  SEQNET_GRID_STRIDE_LOOP(i, n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

__global__ void relu_backward_kernel(float* dx, const float* dy, const float* y, int64_t n) {
  SEQNET_GRID_STRIDE_LOOP(i, n) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

// 1 / (1 + e^-x) without overflow: for x < 0, e^x / (1 + e^x). expf, not __expf, to match the CPU.
__global__ void sigmoid_forward_kernel(float* y, const float* x, int64_t n) {
  SEQNET_GRID_STRIDE_LOOP(i, n) {
    const float v = x[i];
    if (v >= 0.f) {
      y[i] = 1.f / (1.f + expf(-v));
    } else {
      const float e = expf(v);
      y[i] = e / (1.f + e);
    }
  }
}

__global__ void sigmoid_backward_kernel(float* dx, const float* dy, const float* y, int64_t n) {
  SEQNET_GRID_STRIDE_LOOP(i, n) dx[i] = dy[i] * y[i] * (1.f - y[i]);
}

// Inverted dropout with the CPU's counter-based mask: y = x * keep(seed, i) * scale.
__global__ void dropout_kernel(float* y, const float* x, int64_t n, float p, float scale, uint64_t seed) {
  SEQNET_GRID_STRIDE_LOOP(i, n) y[i] = dropout_keep(seed, uint64_t(i), p) ? x[i] * scale : 0.f;
}

__global__ void add_inplace_kernel(float* y, const float* x, int64_t n) {
  SEQNET_GRID_STRIDE_LOOP(i, n) y[i] += x[i];
}

#undef SEQNET_GRID_STRIDE_LOOP

}  // namespace

void relu_forward(float* y, const float* x, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  relu_forward_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(y, x, n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void relu_backward(float* dx, const float* dy, const float* y, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  relu_backward_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(dx, dy, y, n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void sigmoid_forward(float* y, const float* x, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  sigmoid_forward_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(y, x, n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void sigmoid_backward(float* dx, const float* dy, const float* y, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  sigmoid_backward_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(dx, dy, y, n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void dropout_forward(float* y, const float* x, int64_t n, float p, uint64_t seed, cudaStream_t stream) {
  if (n <= 0) return;
  if (p == 0.0f) {  // the identity, as on the CPU
    if (y != x) SEQNET_CUDA_CHECK(cudaMemcpyAsync(y, x, size_t(n) * sizeof(float), cudaMemcpyDeviceToDevice, stream));
    return;
  }
  const float scale = static_cast<float>(dropout_scale(p));
  dropout_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(y, x, n, p, scale, seed);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void dropout_backward(float* dx, const float* dy, int64_t n, float p, uint64_t seed, cudaStream_t stream) {
  dropout_forward(dx, dy, n, p, seed, stream);  // the same mask and scale applied to the gradient
}

void add_inplace(float* y, const float* x, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  add_inplace_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(y, x, n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

}  // namespace seqnet::cuda
