// loss.cpp: the mean binary cross-entropy on logits of loss.h, summed in double.
#include "kernels/cpu/loss.h"
#include "kernels/cpu/parallel_threshold.h"

#include <cmath>

namespace seqnet::cpu {

template <typename T>
double bce_with_logits(T* dx, const T* logits, const T* target, int64_t n) {
  if (n <= 0) return 0.0;
  const double inv_n = 1.0 / double(n);
  double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const double x = logits[i], t = target[i];
    // e = e^-|x| never overflows; log(1+e) by log1p keeps the small-e digits.
    const double e = std::exp(-std::fabs(x));
    sum += std::fmax(x, 0.0) - x * t + std::log1p(e);
    if (dx) {
      const double s = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
      dx[i] = static_cast<T>((s - t) * inv_n);
    }
  }
  return sum * inv_n;
}

template <typename T>
double bce_with_logits_weighted(T* dx, const T* logits, const T* target, const T* weight, double weight_sum,
                                int64_t n) {
  const double inv_w = weight_sum > 0 ? 1.0 / weight_sum : 0.0;
  double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const double x = logits[i], t = target[i], w = weight[i];
    const double e = std::exp(-std::fabs(x));
    sum += w * (std::fmax(x, 0.0) - x * t + std::log1p(e));
    if (dx) {
      const double s = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
      dx[i] = static_cast<T>(w * (s - t) * inv_w);
    }
  }
  return sum * inv_w;
}

template double bce_with_logits<float>(float*, const float*, const float*, int64_t);
template double bce_with_logits<double>(double*, const double*, const double*, int64_t);
template double bce_with_logits_weighted<float>(float*, const float*, const float*, const float*, double, int64_t);
template double bce_with_logits_weighted<double>(double*, const double*, const double*, const double*, double,
                                                 int64_t);

}  // namespace seqnet::cpu
