// runtime.h: the few CUDA runtime services the rest of the program needs, behind plain C++.
//
// Built with CUDA, these call the CUDA runtime (runtime.cu). Built without it, every call except
// available() throws a clear "built without CUDA" error (runtime_stub.cpp), so no caller needs
// an #ifdef.
#pragma once

#include <cstddef>
#include <string>

struct CUstream_st;
using cudaStream_t = CUstream_st*;

namespace seqnet::cuda {

// True when this build has CUDA and a usable GPU answers; otherwise false with the reason.
bool available(std::string* why_not = nullptr);
// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" for the current device.
std::string device_description();

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
