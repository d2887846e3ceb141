// scratch_buffer.h: a kernel's grow-only float scratch, placed on 2 MB boundaries and offered to
// the operating system as transparent huge pages once it is 1 MB or more.
//
// Why: the Winograd kernels write their transformed tiles in 16 streams (one per position of the
// 4x4 tile, each K x tiles floats from the next) and read them back through the GEMMs. In
// bench_onednn the Winograd weight gradient of N4 C64>K32 128x128 ran 15.7 ms in every run when
// glibc put all of malloc's memory on huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1), and
// 36-40 ms in most runs without; with this buffer 27-28 ms (docs/PERFORMANCE.md): better, not yet
// the whole gap. The allocation is host_memory.h's, as for tensors (which take huge pages from 4 MB).
#pragma once

#include <cstddef>
#include <memory>

namespace seqnet::cpu {

class ScratchBuffer {
 public:
  // At least `floats` floats, uninitialised; the memory of the last call when it is large
  // enough (so a kernel allocates once, at its largest layer). Earlier pointers are invalid
  // after a call that grows it.
  float* ensure(size_t floats);
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float, Free> data_;
  size_t size_ = 0;
};

}  // namespace seqnet::cpu
