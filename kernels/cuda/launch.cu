// launch.cu: the grid-stride cap of elementwise.h's set_max_blocks(), the device's
// multiprocessor count (or the one set_multiprocessor_count chose), used by every kernel of this
// folder that sizes its own grid, and the per-channel split of the channel reductions.
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"

namespace seqnet::cuda {

namespace {
std::atomic<int> g_max_blocks{0};
std::atomic<int> g_multiprocessors_override{0};
}  // namespace

void set_max_blocks(int max_blocks) { g_max_blocks = std::max(max_blocks, 0); }

int grid_stride_blocks(int64_t n) {
  // 2^31-1 is the grid's x limit; a grid-stride loop covers the rest.
  const int64_t wanted = std::clamp<int64_t>((n + kBlockThreads - 1) / kBlockThreads, 1, (int64_t(1) << 31) - 1);
  const int cap = g_max_blocks.load();
  return static_cast<int>(cap > 0 ? std::min<int64_t>(wanted, cap) : wanted);
}

void set_multiprocessor_count(int count) { g_multiprocessors_override = std::max(count, 0); }

int multiprocessor_count() {
  if (const int chosen = g_multiprocessors_override.load(); chosen > 0) return chosen;
  static const int count = [] {
    int device = 0, sms = 0;
    SEQNET_CUDA_CHECK(cudaGetDevice(&device));
    SEQNET_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    return sms;
  }();
  return count;
}

ChannelSplit channel_split(int N, int C, int64_t HW, std::initializer_list<const void*> pointers) {
  const int64_t M = int64_t(N) * HW;
  const int64_t wanted = std::max<int64_t>(1, (4 * int64_t(multiprocessor_count()) + C - 1) / std::max(C, 1));
  const int64_t chunks = std::clamp<int64_t>(wanted, 1, std::max<int64_t>(1, M / kMinChannelChunk));
  const int64_t chunk = ((M + chunks - 1) / chunks + 3) / 4 * 4;
  bool aligned = HW % 4 == 0;
  for (const void* p : pointers) aligned = aligned && reinterpret_cast<uintptr_t>(p) % 16 == 0;
  return {chunk, chunk > 0 ? int((M + chunk - 1) / chunk) : 1, aligned};
}

}  // namespace seqnet::cuda
