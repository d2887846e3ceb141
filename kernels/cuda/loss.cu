// loss.cu: the binary cross-entropies on logits of loss.h. Each block sums its elements' losses
// in double into its own slot of a per-call buffer (stream-ordered memory); a one-block kernel
// then adds the slots up in a fixed order and adds sum * scale to the float loss_sum, so two runs
// give the same bits and concurrent calls share nothing. All on the stream: nothing waits for the
// host.
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/reduce.cuh"

namespace seqnet::cuda {

namespace {

// loss_i = max(x,0) - x t + log(1 + e^-|x|); dx_i = (sigmoid(x) - t) / n, in double as on the CPU.
__global__ void bce_kernel(double* block_sums, float* dx, const float* logits, const float* target, int64_t n) {
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
  if (threadIdx.x == 0) block_sums[blockIdx.x] = sum;
}

// The weighted twin: sums w_i l_i, writes dx_i = w_i (sigmoid(x) - t) / W.
__global__ void bce_weighted_kernel(double* block_sums, float* dx, const float* logits, const float* target,
                                    const float* weight, double inv_w, int64_t n) {
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
  if (threadIdx.x == 0) block_sums[blockIdx.x] = sum;
}

// One block: loss_sum += (block_sums[0] + ... + block_sums[blocks-1]) * scale, in a fixed order.
__global__ void add_scaled_sum_kernel(float* loss_sum, const double* block_sums, int blocks, double scale) {
  double sum = 0;
  for (int b = threadIdx.x; b < blocks; b += blockDim.x) sum += block_sums[b];
  sum = block_sum(sum);
  if (threadIdx.x == 0) *loss_sum += float(sum * scale);
}

// Runs launch(block_sums, blocks) into a per-call buffer, then adds the sum times scale.
template <typename Launch>
void reduce_into(float* loss_sum, int64_t n, double scale, cudaStream_t stream, Launch launch) {
  const int blocks = grid_stride_blocks(n);
  double* block_sums = nullptr;
  SEQNET_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&block_sums), blocks * sizeof(double), stream));
  launch(block_sums, blocks);
  SEQNET_CUDA_CHECK_LAUNCH();
  add_scaled_sum_kernel<<<1, kBlockThreads, 0, stream>>>(loss_sum, block_sums, blocks, scale);
  SEQNET_CUDA_CHECK_LAUNCH();
  SEQNET_CUDA_CHECK(cudaFreeAsync(block_sums, stream));
}

}  // namespace

void bce_with_logits(float* loss_sum, float* dx, const float* logits, const float* target, int64_t n,
                     cudaStream_t stream) {
  if (n <= 0) return;  // the CPU's mean of nothing is 0: loss_sum unchanged
  reduce_into(loss_sum, n, 1.0 / double(n), stream, [&](double* block_sums, int blocks) {
    bce_kernel<<<blocks, kBlockThreads, 0, stream>>>(block_sums, dx, logits, target, n);
  });
}

void bce_with_logits_weighted(float* loss_sum, float* dx, const float* logits, const float* target,
                              const float* weight, double weight_sum, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  const double inv_w = weight_sum > 0 ? 1.0 / weight_sum : 0.0;
  reduce_into(loss_sum, n, inv_w, stream, [&](double* block_sums, int blocks) {
    bce_weighted_kernel<<<blocks, kBlockThreads, 0, stream>>>(block_sums, dx, logits, target, weight, inv_w, n);
  });
}

}  // namespace seqnet::cuda
