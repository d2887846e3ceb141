// dropout_hash.h: the dropout mask as a pure function of (seed, element index).
//
// A counter-based hash (splitmix64's finaliser) instead of a stateful generator: the CPU and
// the CUDA kernels draw the same mask, and backward recomputes it rather than storing it.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define SEQNET_HOST_DEVICE __host__ __device__
#else
#define SEQNET_HOST_DEVICE
#endif

namespace seqnet {

SEQNET_HOST_DEVICE inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// True when element i survives dropout with drop probability p.
SEQNET_HOST_DEVICE inline bool dropout_keep(uint64_t seed, uint64_t i, float p) {
  uint64_t h = mix64(seed ^ mix64(i));
  float u = static_cast<float>(h >> 40) * (1.0f / 16777216.0f);  // 24 random bits in [0,1)
  return u >= p;
}

}  // namespace seqnet
