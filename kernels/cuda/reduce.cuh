// reduce.cuh: a block-wide sum (warp shuffles, then warp shuffles over the warp sums), for the
// per-channel and per-loss reductions. Every thread of the block must call it; blockDim.x must
// be a multiple of 32. Every thread gets the total, and it is the same bits on every run: the
// order of additions is fixed by the thread layout, never by timing.
#pragma once

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

}  // namespace seqnet::cuda
