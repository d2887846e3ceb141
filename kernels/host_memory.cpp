// host_memory.cpp: allocate_host (host_memory.h).
#include "kernels/host_memory.h"

#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace seqnet {

namespace {
constexpr size_t kHugePage = size_t(2) << 20;
}  // namespace

void* allocate_host(size_t bytes, size_t huge_page_min_bytes, size_t* rounded) {
  const size_t alignment = bytes >= huge_page_min_bytes ? kHugePage : 64;
  const size_t size = (bytes + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, size);
  if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (alignment == kHugePage) madvise(p, size, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
  if (rounded) *rounded = size;
  return p;
}

}  // namespace seqnet
