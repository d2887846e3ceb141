// loss.cu: the mean binary cross-entropy on logits of loss.h. Each block sums its elements'
// losses in double and adds that partial to a device double (atomicAdd); a one-thread kernel then
// adds sum/n to the float loss_sum. All on the one stream, so nothing waits for the host.
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/reduce.cuh"

namespace seqnet::cuda {

namespace {

// The running double sum of the current call (zeroed by the host before each call).
__device__ double g_loss_partial_sum;

// loss_i = max(x,0) - x t + log(1 + e^-|x|); dx_i = (sigmoid(x) - t) / n, in double as on the CPU.
__global__ void bce_kernel(float* dx, const float* logits, const float* target, int64_t n) {
  const double inv_n = 1.0 / double(n);
  double sum = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const double x = logits[i], t = target[i];
    const double e = exp(-fabs(x));  // never overflows; log1p keeps the small-e digits
    sum += fmax(x, 0.0) - x * t + log1p(e);
    if (dx) {
      const double s = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
      dx[i] = float((s - t) * inv_n);
    }
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) atomicAdd(&g_loss_partial_sum, sum);
}

__global__ void add_mean_kernel(float* loss_sum, int64_t n) { *loss_sum += float(g_loss_partial_sum / double(n)); }

// The weighted twin: sums w_i l_i, writes dx_i = w_i (sigmoid(x) - t) / W; add_scaled_kernel then
// adds sum / W to the loss.
__global__ void bce_weighted_kernel(float* dx, const float* logits, const float* target, const float* weight,
                                    double inv_w, int64_t n) {
  double sum = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const double x = logits[i], t = target[i], w = weight[i];
    const double e = exp(-fabs(x));
    sum += w * (fmax(x, 0.0) - x * t + log1p(e));
    if (dx) {
      const double s = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
      dx[i] = float(w * (s - t) * inv_w);
    }
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) atomicAdd(&g_loss_partial_sum, sum);
}

__global__ void add_scaled_kernel(float* loss_sum, double scale) { *loss_sum += float(g_loss_partial_sum * scale); }

}  // namespace

void bce_with_logits(float* loss_sum, float* dx, const float* logits, const float* target, int64_t n,
                     cudaStream_t stream) {
  if (n <= 0) return;  // the CPU's mean of nothing is 0: loss_sum unchanged
  void* partial = nullptr;
  SEQNET_CUDA_CHECK(cudaGetSymbolAddress(&partial, g_loss_partial_sum));
  SEQNET_CUDA_CHECK(cudaMemsetAsync(partial, 0, sizeof(double), stream));
  bce_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(dx, logits, target, n);
  SEQNET_CUDA_CHECK_LAUNCH();
  add_mean_kernel<<<1, 1, 0, stream>>>(loss_sum, n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void bce_with_logits_weighted(float* loss_sum, float* dx, const float* logits, const float* target,
                              const float* weight, double weight_sum, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  const double inv_w = weight_sum > 0 ? 1.0 / weight_sum : 0.0;
  void* partial = nullptr;
  SEQNET_CUDA_CHECK(cudaGetSymbolAddress(&partial, g_loss_partial_sum));
  SEQNET_CUDA_CHECK(cudaMemsetAsync(partial, 0, sizeof(double), stream));
  bce_weighted_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(dx, logits, target, weight, inv_w, n);
  SEQNET_CUDA_CHECK_LAUNCH();
  add_scaled_kernel<<<1, 1, 0, stream>>>(loss_sum, inv_w);
  SEQNET_CUDA_CHECK_LAUNCH();
}

}  // namespace seqnet::cuda
