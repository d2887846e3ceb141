// cuda_on_cpu.h: what the hipified kernels of kernels/cuda need beyond HIP-CPU, force-included
// into each of them in a SEQNET_CUDA_EMULATION build (docs/CUDA-EMULATION.md). HIP-CPU runs each
// block as a task and each thread as a fiber; its "warp" is 64 threads wide and its shuffles
// synchronise the whole block, so every thread of a block must reach each shuffle (the kernels'
// reductions are written that way; see reduce.cuh).
#pragma once

#include <hip/hip_runtime.h>

#include <cmath>
#include <cstdlib>

// CUDA's alignment attribute (HIP-CPU lacks it); GCC's form, which may sit among decl-specifiers.
#define __align__(n) __attribute__((aligned(n)))
// CUDA's device maths has isnan at global scope.
using std::isnan;

namespace seqnet::cuda_emulation {

// This thread's index within its block, as HIP-CPU numbers the fibers (x fastest).
inline unsigned flat_thread_index() {
  return (unsigned(threadIdx.z) * blockDim.y + unsigned(threadIdx.y)) * blockDim.x + unsigned(threadIdx.x);
}

}  // namespace seqnet::cuda_emulation

// CUDA's 32-lane shuffles on top of HIP-CPU's 64-lane ones (full masks only, as the kernels use).
// A 64-lane shuffle-down lets lane 31 read lane 32; CUDA's warp ends at lane 31, so a source past
// the 32-lane warp gives back the caller's own value, as CUDA does.
template <typename T>
T __shfl_down_sync(unsigned /*mask*/, T value, unsigned offset) {
  const unsigned lane = seqnet::cuda_emulation::flat_thread_index() & 31u;
  const T shifted = __shfl_down(value, offset);
  return lane + offset < 32u ? shifted : value;
}
template <typename T>
T __shfl_sync(unsigned /*mask*/, T value, int source_lane) {
  const unsigned half = seqnet::cuda_emulation::flat_thread_index() & 32u;  // which 32-lane warp of the 64
  return __shfl(value, int(half) + (source_lane & 31));
}

// HIP-CPU has no device attributes. The emulated device reports the multiprocessor count of an
// H100/H200 (132), so launch shapes are the ones such a GPU picks; SEQNET_EMULATED_SMS=n
// emulates another chip (tests also use cuda::set_multiprocessor_count).
enum hipDeviceAttribute_t { hipDeviceAttributeMultiprocessorCount };
inline hipError_t hipDeviceGetAttribute(int* value, hipDeviceAttribute_t attribute, int /*device*/) {
  if (attribute != hipDeviceAttributeMultiprocessorCount) return hipErrorInvalidValue;
  const char* env = std::getenv("SEQNET_EMULATED_SMS");
  const int sms = env ? std::atoi(env) : 0;
  *value = sms > 0 ? sms : 132;
  return hipSuccess;
}

// HIP-CPU's hipMallocAsync writes the pointer only when the stream reaches the allocation, so a
// kernel launched right after it would get a null pointer (and the late write lands in a dead
// stack slot). CUDA returns the pointer at once; so does this: the memory is taken now and used
// only by work queued after the call, which keeps the stream order. hipFreeAsync (a queued
// std::free) stays HIP-CPU's.
inline hipError_t seqnet_emulated_malloc_async(void** pointer, std::size_t bytes, hipStream_t /*stream*/) {
  *pointer = bytes ? std::malloc(bytes) : nullptr;
  return *pointer || bytes == 0 ? hipSuccess : hipErrorOutOfMemory;
}
#define hipMallocAsync seqnet_emulated_malloc_async
