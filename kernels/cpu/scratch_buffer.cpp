// scratch_buffer.cpp: ScratchBuffer (scratch_buffer.h).
#include "kernels/cpu/scratch_buffer.h"

#include <algorithm>
#include <cstdlib>

#include "kernels/host_memory.h"

namespace seqnet::cpu {

namespace {
constexpr size_t kHugePageMinBytes = size_t(1) << 20;  // a kernel's scratch: huge pages from 1 MB
}  // namespace

void ScratchBuffer::Free::operator()(float* p) const { std::free(p); }

float* ScratchBuffer::ensure(size_t floats) {
  if (floats <= size_ && data_) return data_.get();
  const size_t bytes = std::max<size_t>(floats, 1) * sizeof(float);
  data_.reset();  // the old contents are not kept: give the memory back before taking more
  size_t rounded = 0;
  data_.reset(static_cast<float*>(allocate_host(bytes, kHugePageMinBytes, &rounded)));
  size_ = rounded / sizeof(float);
  return data_.get();
}

}  // namespace seqnet::cpu
