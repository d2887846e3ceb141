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

// Multiprocessors of the current device (read once), to size split reductions.
int multiprocessor_count();

}  // namespace seqnet::cuda
