// dropout_hash.h: the dropout mask as a pure function of (seed, element index).
//
// A counter-based hash instead of a stateful generator: the CPU and the CUDA kernels draw the
// same mask, and backward recomputes it rather than storing it. The per-element hash works on
// 32-bit words (two rounds of Wellons' "lowbias32" finaliser) so that the CPU loop vectorises
// with SSE4.1's pmulld; splitmix64 (mix64) stays for deriving the per-layer, per-step seeds.
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

// A 32-bit bijective mixer: each output bit depends on every input bit.
SEQNET_HOST_DEVICE inline uint32_t mix32(uint32_t z) {
  z ^= z >> 16;
  z *= 0x7feb352du;
  z ^= z >> 15;
  z *= 0x846ca68bu;
  return z ^ (z >> 16);
}

// 32 random bits for element i. The low seed word keys the first round and the high word the
// second, so two seeds give unrelated masks, not shifted copies of one.
SEQNET_HOST_DEVICE inline uint32_t dropout_hash(uint64_t seed, uint64_t i) {
  const uint32_t first = mix32(uint32_t(i) ^ uint32_t(seed));
  return mix32(first ^ uint32_t(seed >> 32) ^ uint32_t(i >> 32));
}

// Element i survives when u = (top 24 hash bits) / 2^24 >= p, i.e. when the top 24 bits are at
// least ceil(p * 2^24): an integer test the CPU loop can vectorise. p * 2^24 is exact in float.
SEQNET_HOST_DEVICE inline uint32_t dropout_threshold(float p) {
  const float scaled = p * 16777216.0f;
  const uint32_t floor_scaled = uint32_t(scaled);
  return float(floor_scaled) == scaled ? floor_scaled : floor_scaled + 1;
}

SEQNET_HOST_DEVICE inline bool dropout_keep_with_threshold(uint64_t seed, uint64_t i, uint32_t threshold) {
  return (dropout_hash(seed, i) >> 8) >= threshold;
}

// The factor survivors are multiplied by, 1 / (1-p) (inverted dropout: the expectation is unchanged).
SEQNET_HOST_DEVICE inline double dropout_scale(float p) { return 1.0 / (1.0 - double(p)); }

// True when element i survives dropout with drop probability p (0 <= p <= 1).
SEQNET_HOST_DEVICE inline bool dropout_keep(uint64_t seed, uint64_t i, float p) {
  return dropout_keep_with_threshold(seed, i, dropout_threshold(p));
}

}  // namespace seqnet
