// adam.cpp: one Adam step of adam.h, in the order PyTorch's torch.optim.Adam computes it:
//   m += (1-b1)(g-m),  v = b2 v + (1-b2) g^2,
//   step_size = lr / (1 - b1^t),  denom = sqrt(v) / sqrt(1 - b2^t) + eps,  p -= step_size * m / denom
// (the same value as adam.h's formula, with PyTorch's rounding).
#include "kernels/cpu/adam.h"
#include "kernels/cpu/parallel_threshold.h"

#include <cmath>

namespace seqnet::cpu {

template <typename T>
void adam_update(T* param, T* m, T* v, const T* grad, int64_t n, const AdamSettings& s, int64_t step) {
  const double t = double(step);
  const T b1 = T(s.beta1), b2 = T(s.beta2), eps = T(s.eps);
  const T step_size = T(s.lr / (1.0 - std::pow(s.beta1, t)));
  const T bias_correction2_sqrt = T(std::sqrt(1.0 - std::pow(s.beta2, t)));
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    m[i] += (T(1) - b1) * (g - m[i]);  // PyTorch's lerp form of b1 m + (1-b1) g
    v[i] = b2 * v[i] + (T(1) - b2) * g * g;
    const T denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
    param[i] -= step_size * m[i] / denom;
  }
}

template void adam_update<float>(float*, float*, float*, const float*, int64_t, const AdamSettings&, int64_t);
template void adam_update<double>(double*, double*, double*, const double*, int64_t, const AdamSettings&,
                                  int64_t);

}  // namespace seqnet::cpu
