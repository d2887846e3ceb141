// reduce.cuh: a block-wide sum (warp shuffles, then warp shuffles over the warp sums), for the
// per-channel and per-loss reductions. Every thread of the block must call it; blockDim.x must
// be a multiple of 32. Every thread gets the total, and it is the same bits on every run: the
// order of additions is fixed by the thread layout, never by timing.
//
// Also the device side of the per-channel split reductions (launch.h's ChannelSplit: batch-norm,
// bias backward): a grid (chunks, C), block (z, c) walks chunk z of channel c's N*HW values, and
// its sums go to their own slot c * chunks + z, added up per channel in chunk order afterwards.
#pragma once

#include <cstdint>

namespace seqnet::cuda {

template <typename T>
__device__ T block_sum(T value) {
  __shared__ T warp_sums[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_down_sync(0xffffffffu, value, offset);
  __syncthreads();  // a previous call may still be reading warp_sums
  if (lane == 0) warp_sums[warp] = value;
  __syncthreads();
  // Every warp (not only warp 0) adds up the warp sums, in the same order, and takes the total
  // from its lane 0: no warp waits on a branch, no third barrier, and every shuffle is reached by
  // the whole block (HIP-CPU's emulated shuffles need that; docs/CUDA-EMULATION.md).
  value = lane < warps ? warp_sums[lane] : T(0);
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_down_sync(0xffffffffu, value, offset);
  return __shfl_sync(0xffffffffu, value, 0);
}

// This block's chunk [e0, e1) of its channel's M values (blockIdx.x is the chunk).
__device__ inline void chunk_range(int64_t M, int64_t chunk, int64_t* e0, int64_t* e1) {
  *e0 = int64_t(blockIdx.x) * chunk;
  *e1 = *e0 + chunk < M ? *e0 + chunk : M;
}

// Calls f(offset) for each group of 4 consecutive values (VEC: HW % 4 == 0, so a group never
// leaves its plane) or for each value (VEC false) of channel c's values [e0, e1) in (N, C, HW)
// order, offset being the index into the tensor. Threads of the block take consecutive groups.
template <bool VEC, typename F>
__device__ void for_chunk(int C, int64_t HW, int c, int64_t e0, int64_t e1, F f) {
  constexpr int kWidth = VEC ? 4 : 1;
  for (int64_t e = e0 + int64_t(threadIdx.x) * kWidth; e < e1; e += int64_t(blockDim.x) * kWidth) {
    const int64_t n = e / HW;
    f((n * C + c) * HW + (e - n * HW));
  }
}

__device__ inline float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ inline void store4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }

}  // namespace seqnet::cuda
