// reduce.cuh: a block-wide sum (warp shuffles, then one warp over the warp sums), for the
// per-channel and per-loss reductions. Every thread of the block must call it; blockDim.x must
// be a multiple of 32. Every thread gets the total.
#pragma once

namespace seqnet::cuda {

template <typename T>
__device__ T block_sum(T value) {
  __shared__ T warp_sums[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_down_sync(0xffffffffu, value, offset);
  __syncthreads();  // a previous call may still be reading warp_sums[0]
  if (lane == 0) warp_sums[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < warps ? warp_sums[lane] : T(0);
    for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_down_sync(0xffffffffu, value, offset);
    if (lane == 0) warp_sums[0] = value;
  }
  __syncthreads();
  return warp_sums[0];
}

}  // namespace seqnet::cuda
