// cp_async.cuh: copies from global to shared memory that do not pass through registers (PTX
// `cp.async`, sm_80 and newer), used by the TF32 tile of implicit_gemm.cuh. A thread starts its
// copies, closes them into a group (commit), and later waits until all but its newest N groups
// have landed (wait<N>); a barrier after the wait then shows every thread's copies to the block.
//
// A copy of 4 bytes whose source is absent (padding, a pixel outside the image, past the end)
// writes 0 without reading: PTX's ignore-src operand (the same as a src-size of 0). Where there is no PTX (the emulated build,
// docs/CUDA-EMULATION.md; nvcc's host pass; architectures before sm_80) the same functions are a
// plain load and store, done at once, and commit and wait do nothing: a stronger ordering than
// the asynchronous one, so a kernel correct under cp.async is correct under these.
#pragma once

#include <cstdint>

namespace seqnet::cuda {

// dst[kOffset] = kIndex < count ? *src : 0, dst in shared memory, src in global memory (read only
// when kIndex < count). The offset and index are constants so that they sit in the instructions
// (an address offset, a compare with an immediate); the test is the copy's ignore-src predicate.
template <int kOffset, int kIndex>
__device__ __forceinline__ void copy_async_4(float* dst, const float* src, int count) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const uint32_t to = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile(
      "{\n\t.reg .pred absent;\n\tsetp.le.s32 absent, %2, %3;\n\t"
      "cp.async.ca.shared.global [%0+%4], [%1], 4, absent;\n\t}" ::"r"(to),
      "l"(src), "r"(count), "n"(kIndex), "n"(kOffset * 4)
      : "memory");
#else
  dst[kOffset] = kIndex < count ? *src : 0.f;
#endif
}

// dst[kOffset] = present ? *src : 0 (src read only when present): the form for copies that share
// one test, found once (src-size 4 or 0), where copy_async_4 would redo its compare per copy.
template <int kOffset>
__device__ __forceinline__ void copy_async_4_if(float* dst, const float* src, bool present) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const uint32_t to = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global [%0+%3], [%1], 4, %2;" ::"r"(to), "l"(src), "r"(present ? 4 : 0),
               "n"(kOffset * 4)
               : "memory");
#else
  dst[kOffset] = present ? *src : 0.f;
#endif
}

// Closes the copies started since the last commit into one group.
__device__ __forceinline__ void copy_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}

// Waits until at most `Pending` of this thread's newest groups are still in flight.
template <int Pending>
__device__ __forceinline__ void copy_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;" ::"n"(Pending) : "memory");
#endif
}

}  // namespace seqnet::cuda
