// bias_backward.cu: conv2d.h's bias gradient, db[k] += sum over n and the plane of dy[n,k,:], over
// many blocks per channel so that 32 channels still fill the GPU (the same split as batchnorm.cu:
// launch.h's channel_split, reduce.cuh's chunk walk).
//   1. sums:    block (z, k) adds up chunk z of channel k's N*HW values in double and writes the
//               sum to its own slot k * chunks + z (no atomics); float4 loads when aligned;
//   2. finish:  one thread per channel adds the slots in chunk order and then adds the total to
//               db[k], so two runs give the same bits.
// One read of dy: memory-bound, 4 bytes per value.
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/reduce.cuh"

namespace seqnet::cuda {

namespace {

// sums[k * chunks + z] = sum of chunk z of channel k of dy (N, K, HW).
template <bool VEC>
__global__ void bias_sums_kernel(double* sums, const float* __restrict__ dy, int K, int64_t HW, int64_t M,
                                 int64_t chunk) {
  const int k = blockIdx.y;
  int64_t e0, e1;
  chunk_range(M, chunk, &e0, &e1);
  double sum = 0;
  for_chunk<VEC>(K, HW, k, e0, e1, [&](int64_t i) {
    if (VEC) {
      const float4 v = load4(dy + i);
      sum += v.x;
      sum += v.y;
      sum += v.z;
      sum += v.w;
    } else {
      sum += dy[i];
    }
  });
  sum = block_sum(sum);
  if (threadIdx.x == 0) sums[int64_t(k) * gridDim.x + blockIdx.x] = sum;
}

// db[k] += the chunk sums of channel k, added in chunk order.
__global__ void bias_finish_kernel(float* db, const double* sums, int chunks, int K) {
  for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < K; k += gridDim.x * blockDim.x) {
    double sum = 0;
    for (int z = 0; z < chunks; ++z) sum += sums[int64_t(k) * chunks + z];
    db[k] += float(sum);
  }
}

}  // namespace

void bias_backward(float* db, const float* dy, int N, int K, int64_t HW, cudaStream_t stream) {
  if (K == 0 || int64_t(N) * HW == 0) return;  // nothing to add
  const int64_t M = int64_t(N) * HW;
  const ChannelSplit split = channel_split(N, K, HW, {dy});
  // The chunk sums live in stream-ordered memory of this call only.
  double* sums = nullptr;
  SEQNET_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&sums), size_t(K) * split.chunks * sizeof(double), stream));
  const dim3 grid(unsigned(split.chunks), unsigned(K));
  if (split.vectorised)
    bias_sums_kernel<true><<<grid, kBlockThreads, 0, stream>>>(sums, dy, K, HW, M, split.chunk);
  else
    bias_sums_kernel<false><<<grid, kBlockThreads, 0, stream>>>(sums, dy, K, HW, M, split.chunk);
  SEQNET_CUDA_CHECK_LAUNCH();
  const int finish_blocks = (K + kBlockThreads - 1) / kBlockThreads;  // one thread per channel
  bias_finish_kernel<<<finish_blocks, kBlockThreads, 0, stream>>>(db, sums, split.chunks, K);
  SEQNET_CUDA_CHECK_LAUNCH();
  SEQNET_CUDA_CHECK(cudaFreeAsync(sums, stream));
}

}  // namespace seqnet::cuda
