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

// The weighted mean: with W = sum_i w_i (weight_sum, given by the caller),
//   loss = (1/W) sum_i w_i l_i,   dx_i = w_i (s(x_i) - t_i) / W,
// where l_i is the element loss above. W == 0 gives loss 0 and dx 0. Weights of 0/1 make it the
// mean over a subset (the artery/vein heads trained on vessel pixels only, model/loss.h).
template <typename T>
double bce_with_logits_weighted(T* dx, const T* logits, const T* target, const T* weight, double weight_sum,
                                int64_t n);

}  // namespace seqnet::cpu
