// check.h: turning CUDA error codes into exceptions that say what failed and where.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace seqnet::cuda {

inline void check(cudaError_t err, const char* what, const char* file, int line) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("CUDA error in ") + what + " (" + file + ":" + std::to_string(line) +
                             "): " + cudaGetErrorString(err));
}

}  // namespace seqnet::cuda

#define SEQNET_CUDA_CHECK(expr) ::seqnet::cuda::check((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: reports a bad launch configuration at the launch site.
#define SEQNET_CUDA_CHECK_LAUNCH() ::seqnet::cuda::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
