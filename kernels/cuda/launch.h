// launch.h: launch sizes shared by the CUDA kernels of this folder (defined in launch.cu).
#pragma once

#include <cstdint>

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

}  // namespace seqnet::cuda
