// scratch_buffer.cpp: ScratchBuffer (scratch_buffer.h).
#include "kernels/cpu/scratch_buffer.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace seqnet::cpu {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kHugePageMinBytes = size_t(1) << 20;

}  // namespace

void ScratchBuffer::Free::operator()(float* p) const { std::free(p); }

float* ScratchBuffer::ensure(size_t floats) {
  if (floats <= size_ && data_) return data_.get();
  const size_t bytes = std::max<size_t>(floats, 1) * sizeof(float);
  const size_t alignment = bytes >= kHugePageMinBytes ? kHugePage : 64;
  const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  data_.reset();  // the old contents are not kept: give the memory back before taking more
  void* p = std::aligned_alloc(alignment, rounded);
  if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (alignment == kHugePage) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
  data_.reset(static_cast<float*>(p));
  size_ = rounded / sizeof(float);
  return data_.get();
}

}  // namespace seqnet::cpu
