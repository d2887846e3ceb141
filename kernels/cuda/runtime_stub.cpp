// runtime_stub.cpp: the CUDA runtime services in a build without CUDA. available() says why;
// everything else is an error that says how to get a CUDA build.
#include <stdexcept>

#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

namespace {
[[noreturn]] void no_cuda() {
  throw std::runtime_error(
      "this seqnet was built without CUDA (nvcc was not found, or -DSEQNET_CUDA=OFF); "
      "rebuild with the CUDA Toolkit installed, or use --device cpu");
}
}  // namespace

bool available(std::string* why_not) {
  if (why_not) *why_not = "this seqnet was built without CUDA";
  return false;
}
std::string device_description() { no_cuda(); }
bool emulated() { return false; }
void use_device(int) { no_cuda(); }
void* device_malloc(size_t) { no_cuda(); }
void device_free(void*) {}
void copy_host_to_device(void*, const void*, size_t) { no_cuda(); }
void copy_device_to_host(void*, const void*, size_t) { no_cuda(); }
void copy_device_to_device(void*, const void*, size_t) { no_cuda(); }
void memset_zero(void*, size_t) { no_cuda(); }
cudaStream_t stream() { no_cuda(); }
void synchronize() {}
size_t peak_allocated_bytes() { return 0; }

}  // namespace seqnet::cuda
