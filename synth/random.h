// random.h: the random source of the synthetic fundus drawer, identical on every platform.
//
// std::mt19937_64 is specified bit for bit by the standard, but std::uniform_real_distribution
// and std::normal_distribution are not (each standard library draws them its own way), so the
// uniform and normal numbers are made here from the engine's raw 64-bit output.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

namespace seqnet::synth {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1): the top 53 bits of one draw, the mantissa width of a double.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  bool chance(double probability) { return uniform() < probability; }
  int sign() { return chance(0.5) ? 1 : -1; }

  // Standard normal by Box-Muller: sqrt(-2 ln u1) cos(2 pi u2), with u1 in (0, 1].
  double normal() {
    double u1 = 1.0 - uniform();
    double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::mt19937_64 engine_;
};

// The seed of image `index` in a set drawn from `seed`: SplitMix64 of the pair, so neighbouring
// indices (and neighbouring set seeds) give unrelated images.
inline uint64_t derive_seed(uint64_t seed, uint64_t index) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + index + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace seqnet::synth
