// launch.h: launch sizes shared by the CUDA kernels of this folder (defined in launch.cu).
#pragma once

#include <cstdint>
#include <initializer_list>

namespace seqnet::cuda {

// Threads per block of every 1-D kernel here: 8 warps, enough to hide latency, few enough to
// leave room for several blocks per multiprocessor.
constexpr int kBlockThreads = 256;

// Blocks for a grid-stride loop over n elements: one element per thread, capped by
// set_max_blocks() (elementwise.h); at least 1. Callers return before launching when n == 0.
int grid_stride_blocks(int64_t n);

// Multiprocessors of the current device (read once), to size split reductions and choose tiles;
// set_multiprocessor_count(n > 0) makes the kernels pick the launch shapes of an n-multiprocessor
// GPU instead (tests: 132 like an H100/H200, or 1), 0 goes back to the device's own count.
int multiprocessor_count();
void set_multiprocessor_count(int count);

// The launch shape a convolution's kernels choose (conv2d.h, conv_transpose2x2.h), from the
// problem and the multiprocessor count, for tests: the GEMM tile's rows (32 or 64) and columns
// (128, the wide tile, or 64), how many parts the reduction is split into (pixel chunks for the
// weight gradient, reduction ranges for forward and backward-input: split-K), or `thin`: the 1x1
// path without tiles (rows, columns 0).
struct ConvLaunchShape {
  int tile_rows;
  int tile_columns;
  int64_t splits;
  bool thin;
};

// The split of a per-channel reduction over (N, C, HW) data (batch-norm, bias backward) into many
// blocks: each channel's M = N*HW values are cut into `chunks` chunks of `chunk` values (a
// multiple of 4; the last may be short), one block each, about 4 blocks per multiprocessor in
// all and at least kMinChannelChunk values per block. `vectorised`: HW % 4 == 0 and every
// pointer 16-byte aligned, so a chunk can be read as float4 (a group of 4 never leaves its plane).
// The device side (the chunk walk) is in reduce.cuh.
constexpr int64_t kMinChannelChunk = 2048;  // 8 values per thread of a 256-thread block
struct ChannelSplit {
  int64_t chunk;
  int chunks;
  bool vectorised;
};
ChannelSplit channel_split(int N, int C, int64_t HW, std::initializer_list<const void*> pointers = {});

}  // namespace seqnet::cuda
