// thread_sums.h: per-thread copies of a weight gradient, added together in thread order.
//
// The weight-gradient kernels (conv2d.cpp's banded im2col + GEMM, conv3x3_weight_direct.cpp,
// conv_transpose2x2.cpp; conv1x1_thin.cpp with double sums) share pieces of the image out over threads, and every piece adds into
// the whole of dw. Adding into one dw from several threads would race; atomics or a lock would
// make the order of the additions, and so the rounding, depend on timing. Instead thread 0 adds
// into dw itself and thread t > 0 into its own zeroed copy; add_copies_into_dw() then adds the
// copies into dw in thread order. The result is the same in every run with the same thread count.
//
//   ThreadSums<float> sums(dw, dw_size, threads);   // before the parallel region
//   #pragma omp parallel num_threads(threads)
//   { float* my_dw = sums.of(omp_get_thread_num()); ... }
//   sums.add_copies_into_dw();
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/parallel_threshold.h"

namespace seqnet::cpu {

template <typename T>
class ThreadSums {
 public:
  // Zeroed copies of dw (size elements) for threads 1 .. threads-1. Their memory is the calling
  // thread's and grows once to the largest layer: a training step after the first allocates
  // nothing. One ThreadSums per calling thread at a time.
  ThreadSums(T* dw, int64_t size, int threads) : dw_(dw), size_(size), threads_(threads) {
    static thread_local std::vector<T> storage;
    const size_t copies = size_t(std::max(0, threads - 1)) * size_t(size);
    if (storage.size() < copies) storage.resize(copies);
    copies_ = storage.data();  // (the team reaches the calling thread's storage through this)
    std::fill(copies_, copies_ + copies, T(0));
  }

  // Where thread t adds its pieces.
  T* of(int t) const { return t == 0 ? dw_ : copies_ + int64_t(t - 1) * size_; }

  // dw[e] += copy_1[e] + copy_2[e] + ..., each element summed in thread order (over the
  // elements in parallel when there are many: the order per element stays the same).
  void add_copies_into_dw() const {
    if (threads_ <= 1) return;
#pragma omp parallel for schedule(static) if (size_ >= kParallelMinElements)
    for (int64_t e = 0; e < size_; ++e)
      for (int t = 1; t < threads_; ++t) dw_[e] += copies_[int64_t(t - 1) * size_ + e];
  }

 private:
  T* dw_;
  T* copies_;
  int64_t size_;
  int threads_;
};

}  // namespace seqnet::cpu
