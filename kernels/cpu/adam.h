// adam.h: one Adam step over a flat parameter buffer, in PyTorch's form.
//
// m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
// p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)        t = step, counted from 1
#pragma once

#include <cstdint>

namespace seqnet::cpu {

struct AdamSettings {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

// param, m, v (n) updated in place from grad (n).
template <typename T>
void adam_update(T* param, T* m, T* v, const T* grad, int64_t n, const AdamSettings& s, int64_t step);

}  // namespace seqnet::cpu
