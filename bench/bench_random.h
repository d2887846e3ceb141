// bench_random.h: the benchmarks' inputs: normal random numbers, real data and never zeros (a
// kernel can run faster on zeros), seeded so two runs time the same values.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace seqnet::bench {

inline std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace seqnet::bench
