// loss.h: mean binary cross-entropy on logits.
//
// loss = (1/n) sum_i [ max(x,0) - x t + log(1 + e^-|x|) ]   (the stable form of
//        -t log s(x) - (1-t) log(1-s(x)))
// dx_i = (s(x_i) - t_i) / n
#pragma once

#include <cstdint>

namespace seqnet::cpu {

// Returns the mean loss; writes dx (n) = its gradient (dx may be null: value only).
template <typename T>
double bce_with_logits(T* dx, const T* logits, const T* target, int64_t n);

}  // namespace seqnet::cpu
