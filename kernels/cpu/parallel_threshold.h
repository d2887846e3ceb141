// parallel_threshold.h: when a CPU loop is worth a thread team.
//
// Waking the OpenMP team and joining it costs more than a loop over fewer than about 32K
// elements takes on one core, so every CPU kernel runs such loops on the calling thread alone
// (`#pragma omp parallel ... if (n >= kParallelMinElements)`).
#pragma once

#include <cstdint>

namespace seqnet::cpu {

constexpr int64_t kParallelMinElements = 1 << 15;

}  // namespace seqnet::cpu
