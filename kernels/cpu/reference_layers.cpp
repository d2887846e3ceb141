// reference_layers.cpp: the plain loops of reference_layers.h, written as docs/DERIVATIONS.md's
// formulas read (sections 5 to 9 and 12).
#include "kernels/cpu/reference_layers.h"

#include <cmath>
#include <vector>

#include "kernels/dropout_hash.h"

namespace seqnet::cpu::reference {

namespace {

// Element (n, c, i) of an (N, C, HW) tensor.
inline int64_t at(int64_t n, int64_t c, int64_t i, int C, int64_t HW) { return (n * C + c) * HW + i; }

// log(1 + e^-x) + (1-t) x in its stable form, and sigma(x) - t: DERIVATIONS section 8.
double bce_element(double x, double t, double* gradient) {
  *gradient = 1.0 / (1.0 + std::exp(-x)) - t;
  return std::fmax(x, 0.0) - x * t + std::log1p(std::exp(-std::fabs(x)));
}

}  // namespace

template <typename T>
void batchnorm_forward_train(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x, const T* gamma,
                             const T* beta, int N, int C, int64_t HW, double eps, double momentum) {
  const double M = double(N) * double(HW);
  for (int c = 0; c < C; ++c) {
    double mu = 0, var = 0;
    for (int n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) mu += x[at(n, c, i, C, HW)];
    mu /= M;
    for (int n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) var += (x[at(n, c, i, C, HW)] - mu) * (x[at(n, c, i, C, HW)] - mu);
    var /= M;  // biased: the variance the normalisation divides by
    const double r = 1.0 / std::sqrt(var + eps);
    for (int n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i)
        y[at(n, c, i, C, HW)] = T(gamma[c] * (x[at(n, c, i, C, HW)] - mu) * r + beta[c]);
    mean[c] = T(mu);
    rstd[c] = T(r);
    // The running statistics are averages, not trained; the variance is the unbiased one.
    running_mean[c] = T((1 - momentum) * running_mean[c] + momentum * mu);
    running_var[c] = T((1 - momentum) * running_var[c] + momentum * var * M / (M - 1));
  }
}

template <typename T>
void batchnorm_forward_eval(T* y, const T* x, const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, int N, int C, int64_t HW, double eps) {
  for (int c = 0; c < C; ++c) {
    const double r = 1.0 / std::sqrt(double(running_var[c]) + eps);
    for (int n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i)
        y[at(n, c, i, C, HW)] = T(gamma[c] * (x[at(n, c, i, C, HW)] - running_mean[c]) * r + beta[c]);
  }
}

// dx_i = gamma r (g_i - mean(g) - xhat_i mean(g xhat)): the direct path, the path through mu and
// the path through var (DERIVATIONS section 6). Both sums are taken before any dx is written, so
// dx may be dy.
template <typename T>
void batchnorm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* gamma, const T* mean,
                        const T* rstd, int N, int C, int64_t HW) {
  const double M = double(N) * double(HW);
  for (int c = 0; c < C; ++c) {
    const double mu = mean[c], r = rstd[c];
    double sum_g = 0, sum_g_xhat = 0;
    for (int n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        sum_g += dy[at(n, c, i, C, HW)];
        sum_g_xhat += dy[at(n, c, i, C, HW)] * (x[at(n, c, i, C, HW)] - mu) * r;
      }
    dbeta[c] += T(sum_g);
    dgamma[c] += T(sum_g_xhat);
    for (int n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const int64_t e = at(n, c, i, C, HW);
        const double xhat = (x[e] - mu) * r;
        dx[e] = T(gamma[c] * r * (dy[e] - sum_g / M - xhat * sum_g_xhat / M));
      }
  }
}

template <typename T>
void batchnorm_relu_dropout_forward_train(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                                          const T* gamma, const T* beta, int N, int C, int64_t HW, double eps,
                                          double momentum, float p, uint64_t seed) {
  batchnorm_forward_train(y, mean, rstd, running_mean, running_var, x, gamma, beta, N, C, HW, eps, momentum);
  const int64_t n = int64_t(N) * C * HW;
  for (int64_t i = 0; i < n; ++i) {
    const double relu = y[i] > T(0) ? double(y[i]) : 0.0;
    const bool keep = p == 0.0f || dropout_keep(seed, uint64_t(i), p);
    y[i] = T(keep ? relu * dropout_scale(p) : 0.0);
  }
}

// The three backward passes in turn, dropout's first: g = dy keep/(1-p), then ReLU's g [z > 0]
// (z the BN output), then batch norm's. keep and [z > 0] are both 1 exactly where y > 0, so
// g = dy/(1-p) [y > 0] (DERIVATIONS section 12).
template <typename T>
void batchnorm_relu_dropout_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* y, const T* gamma,
                                     const T* mean, const T* rstd, int N, int C, int64_t HW, float p) {
  const int64_t n = int64_t(N) * C * HW;
  std::vector<T> g(n);
  for (int64_t i = 0; i < n; ++i) g[i] = y[i] > T(0) ? T(dy[i] * dropout_scale(p)) : T(0);
  batchnorm_backward(dx, dgamma, dbeta, g.data(), x, gamma, mean, rstd, N, C, HW);
}

template <typename T>
void maxpool2x2_forward(T* y, int32_t* argmax, const T* x, int N, int C, int H, int W) {
  const int Ho = H / 2, Wo = W / 2;
  for (int64_t plane = 0; plane < int64_t(N) * C; ++plane)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j) {
        // Row-major order, strictly greater replaces: the first maximum wins a tie; a NaN wins.
        int32_t best = -1;
        for (int u = 0; u < 2; ++u)
          for (int v = 0; v < 2; ++v) {
            const int32_t k = (2 * i + u) * W + 2 * j + v;
            const T value = x[plane * H * W + k], held = best < 0 ? value : x[plane * H * W + best];
            if (best < 0 || value > held || (std::isnan(value) && !std::isnan(held))) best = k;
          }
        y[(plane * Ho + i) * Wo + j] = x[plane * H * W + best];
        argmax[(plane * Ho + i) * Wo + j] = best;
      }
}

template <typename T>
void maxpool2x2_backward(T* dx, const T* dy, const int32_t* argmax, int N, int C, int H, int W) {
  const int64_t pooled = int64_t(H / 2) * (W / 2);
  for (int64_t plane = 0; plane < int64_t(N) * C; ++plane) {
    for (int64_t k = 0; k < int64_t(H) * W; ++k) dx[plane * H * W + k] = T(0);
    for (int64_t o = 0; o < pooled; ++o) dx[plane * H * W + argmax[plane * pooled + o]] = dy[plane * pooled + o];
  }
}

template <typename T>
double bce_with_logits(T* dx, const T* logits, const T* target, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double gradient;
    sum += bce_element(logits[i], target[i], &gradient);
    if (dx) dx[i] = T(gradient / double(n));
  }
  return n > 0 ? sum / double(n) : 0.0;
}

// L = (1/W) sum_i w_i l_i, dL/dx_i = w_i (sigma(x_i) - t_i) / W (DERIVATIONS section 13).
template <typename T>
double bce_with_logits_weighted(T* dx, const T* logits, const T* target, const T* weight, double weight_sum,
                                int64_t n) {
  if (weight_sum <= 0) {
    for (int64_t i = 0; dx && i < n; ++i) dx[i] = T(0);
    return 0.0;
  }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double gradient;
    sum += weight[i] * bce_element(logits[i], target[i], &gradient);
    if (dx) dx[i] = T(weight[i] * gradient / weight_sum);
  }
  return sum / weight_sum;
}

template <typename T>
void adam_update(T* param, T* m, T* v, const T* grad, int64_t n, const AdamSettings& s, int64_t step) {
  const double t = double(step);
  for (int64_t i = 0; i < n; ++i) {
    m[i] = T(s.beta1 * m[i] + (1 - s.beta1) * grad[i]);
    v[i] = T(s.beta2 * v[i] + (1 - s.beta2) * double(grad[i]) * grad[i]);
    const double mhat = m[i] / (1 - std::pow(s.beta1, t)), vhat = v[i] / (1 - std::pow(s.beta2, t));
    param[i] = T(param[i] - s.lr * mhat / (std::sqrt(vhat) + s.eps));
  }
}

#define SEQNET_INSTANTIATE(T)                                                                                    \
  template void batchnorm_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int, int, int64_t,   \
                                           double, double);                                                      \
  template void batchnorm_forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*, int, int, int64_t, \
                                          double);                                                               \
  template void batchnorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, int, int,     \
                                      int64_t);                                                                  \
  template void batchnorm_relu_dropout_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int, int, \
                                                        int64_t, double, double, float, uint64_t);               \
  template void batchnorm_relu_dropout_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,  \
                                                   const T*, int, int, int64_t, float);                          \
  template void maxpool2x2_forward<T>(T*, int32_t*, const T*, int, int, int, int);                               \
  template void maxpool2x2_backward<T>(T*, const T*, const int32_t*, int, int, int, int);                        \
  template double bce_with_logits<T>(T*, const T*, const T*, int64_t);                                           \
  template double bce_with_logits_weighted<T>(T*, const T*, const T*, const T*, double, int64_t);                \
  template void adam_update<T>(T*, T*, T*, const T*, int64_t, const AdamSettings&, int64_t);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu::reference
