// host_memory.h: host buffers for tensors and kernel scratch, aligned so that vector loads never
// split a cache line and, when large, placed on 2 MB boundaries and offered to the kernel as
// transparent huge pages: a 576x576 map of 16 channels (21 MB) then costs 11 page faults on first
// touch instead of 5,200, and the kernels miss the TLB less. (Measured: inference on a 576x576
// image page-faulted 150,000 times, about 0.2 s.)
#pragma once

#include <cstddef>

namespace seqnet {

// At least `bytes` bytes (rounded up to the alignment), uninitialised, 64-byte aligned, or on a
// 2 MB boundary with MADV_HUGEPAGE when `bytes` >= `huge_page_min_bytes`. Free with std::free.
// Throws std::bad_alloc. `*rounded`, when given, receives the size actually allocated.
void* allocate_host(size_t bytes, size_t huge_page_min_bytes, size_t* rounded = nullptr);

}  // namespace seqnet
