// runtime.h: the few CUDA runtime services the rest of the program needs, behind plain C++.
//
// Built with CUDA, these call the CUDA runtime (runtime.cu). Built without it, every call except
// available() throws a clear "built without CUDA" error (runtime_stub.cpp), so no caller needs
// an #ifdef. In a SEQNET_CUDA_EMULATION build the same runtime.cu runs on HIP-CPU: the CUDA
// kernels execute on the CPU (docs/CUDA-EMULATION.md).
#pragma once

#include <cstddef>
#include <string>

#ifdef SEQNET_CUDA_EMULATION
// HIP-CPU's stream type (hip::detail::Stream), so that the kernels, compiled against HIP-CPU, and
// their callers, which never include it, agree on it. The hipified copy of this header redeclares
// hipStream_t with it, which fails to compile if HIP-CPU's type ever changes.
#include <future>
#include <vector>
namespace hip::detail {
template <typename T>
class Flat_combiner;
}
using cudaStream_t = hip::detail::Flat_combiner<std::vector<std::packaged_task<void(bool&)>>>*;
#else
struct CUstream_st;
using cudaStream_t = CUstream_st*;
#endif

namespace seqnet::cuda {

// True when this build has CUDA and a usable GPU answers; otherwise false with the reason.
bool available(std::string* why_not = nullptr);
// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" for the current device; in an emulation build, a
// line that says the CUDA kernels run on the CPU.
std::string device_description();
// True in a SEQNET_CUDA_EMULATION build: "cuda" is the CUDA kernels run on the CPU, not a GPU.
bool emulated();
// Makes GPU `ordinal` this process's device; call before anything else touches the GPU (the
// stream, an allocation). Throws, saying how many GPUs there are, when there is no such GPU. In
// the emulated build every ordinal is the one CPU, so R ranks can stand for R GPUs in tests.
void use_device(int ordinal);

void* device_malloc(size_t bytes);  // throws std::runtime_error with the CUDA message on failure
void device_free(void* ptr);
void copy_host_to_device(void* dst, const void* src, size_t bytes);
void copy_device_to_host(void* dst, const void* src, size_t bytes);
void copy_device_to_device(void* dst, const void* src, size_t bytes);
void memset_zero(void* dst, size_t bytes);

// The one stream every kernel of the program is launched on.
cudaStream_t stream();
void synchronize();

// Peak device memory allocated through device_malloc so far, in bytes.
size_t peak_allocated_bytes();

}  // namespace seqnet::cuda
