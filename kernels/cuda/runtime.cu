// runtime.cu: the CUDA runtime services of runtime.h.
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/runtime.h"

namespace seqnet::cuda {

namespace {
std::atomic<size_t> g_allocated{0}, g_peak{0};
// Each live allocation's size, kept on the host so that a free needs no copy from the device.
std::mutex g_sizes_mutex;
std::unordered_map<void*, size_t> g_sizes;
}  // namespace

#ifdef SEQNET_CUDA_EMULATION
// HIP-CPU is always there: the "device" is this CPU running the CUDA kernels.
bool available(std::string*) { return true; }

std::string device_description() {
  return "no GPU: the CUDA kernels emulated on the CPU by HIP-CPU (launch shapes of " +
         std::to_string(multiprocessor_count()) +
         " multiprocessors; slow, for testing)";
}

bool emulated() { return true; }

void use_device(int ordinal) {
  if (ordinal < 0) throw std::runtime_error("GPU " + std::to_string(ordinal) + " does not exist");
}
#else
bool available(std::string* why_not) {
  // Without the driver library the runtime reports an "insufficient driver", which would send
  // the user looking for a driver upgrade on a machine that has no GPU at all.
  if (void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
    dlclose(driver);
  } else {
    if (why_not) *why_not = "no NVIDIA driver on this machine (libcuda.so.1 not found)";
    return false;
  }
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why_not) {
      *why_not = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
      if (err == cudaErrorInsufficientDriver)
        *why_not += " (the NVIDIA driver is older than this build's CUDA " + std::to_string(CUDART_VERSION / 1000) +
                    "." + std::to_string(CUDART_VERSION % 1000 / 10) + " runtime needs)";
    }
    cudaGetLastError();  // clear the sticky error
    return false;
  }
  if (count == 0) {
    if (why_not) *why_not = "no CUDA device found";
    return false;
  }
  return true;
}

std::string device_description() {
  int dev = 0;
  SEQNET_CUDA_CHECK(cudaGetDevice(&dev));
  cudaDeviceProp p{};
  SEQNET_CUDA_CHECK(cudaGetDeviceProperties(&p, dev));
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %.1f GiB)", p.name, p.major, p.minor,
                p.totalGlobalMem / double(1ull << 30));
  return buf;
}

bool emulated() { return false; }

void use_device(int ordinal) {
  int count = 0;
  SEQNET_CUDA_CHECK(cudaGetDeviceCount(&count));
  if (ordinal < 0 || ordinal >= count)
    throw std::runtime_error("GPU " + std::to_string(ordinal) + " does not exist: this machine has " +
                             std::to_string(count) + " (numbered from 0); start at most " + std::to_string(count) +
                             " ranks per node, or pass --gpu");
  SEQNET_CUDA_CHECK(cudaSetDevice(ordinal));
}
#endif

void* device_malloc(size_t bytes) {
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, std::max<size_t>(bytes, 1));
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error("CUDA could not allocate " + std::to_string(bytes >> 20) +
                             " MiB of device memory: " + cudaGetErrorString(err));
  }
  {
    std::lock_guard<std::mutex> lock(g_sizes_mutex);
    g_sizes[p] = bytes;
  }
  size_t now = g_allocated += bytes;
  size_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  return p;
}

void device_free(void* ptr) {
  if (!ptr) return;
  // Kernels queued on the stream may still use this buffer: they finish before it is handed back
  // (explicitly, not by relying on cudaFree's implicit synchronisation). No throw: destructors call this.
  cudaStreamSynchronize(stream());
  {
    std::lock_guard<std::mutex> lock(g_sizes_mutex);
    if (auto it = g_sizes.find(ptr); it != g_sizes.end()) {
      g_allocated -= it->second;
      g_sizes.erase(it);
    }
  }
  cudaFree(ptr);
}

void copy_host_to_device(void* dst, const void* src, size_t bytes) {
  SEQNET_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
  SEQNET_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void copy_device_to_host(void* dst, const void* src, size_t bytes) {
  SEQNET_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  SEQNET_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void copy_device_to_device(void* dst, const void* src, size_t bytes) {
  SEQNET_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}
void memset_zero(void* dst, size_t bytes) { SEQNET_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream())); }

// The kernels' scratch buffers come from cudaMallocAsync on the device's default memory pool,
// whose release threshold is 0: at every synchronisation it would hand its free memory back to the
// driver and the next step would map it again. Raised to "never", the pool keeps what a training
// step used (the model's peak, freed at exit). HIP-CPU has no memory pools: nothing to set there.
void keep_pool_memory() {
#ifndef SEQNET_CUDA_EMULATION
  int device = 0;
  cudaMemPool_t pool;
  SEQNET_CUDA_CHECK(cudaGetDevice(&device));
  SEQNET_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t keep_all = UINT64_MAX;
  SEQNET_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all));
#endif
}

cudaStream_t stream() {
  static cudaStream_t s = [] {
    keep_pool_memory();  // before the first cudaMallocAsync, which is always on this stream
    cudaStream_t created = nullptr;
    SEQNET_CUDA_CHECK(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking));
    return created;
  }();
  return s;
}

void synchronize() { SEQNET_CUDA_CHECK(cudaStreamSynchronize(stream())); }
size_t peak_allocated_bytes() { return g_peak.load(); }

}  // namespace seqnet::cuda
