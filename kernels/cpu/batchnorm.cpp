// batchnorm.cpp: the batch normalisation of batchnorm.h, one thread per channel.
//
// Per-channel sums run in double, the mean first and then the squared deviations from it
// (two passes), so the variance does not suffer the cancellation of E[x^2] - E[x]^2.
#include "kernels/cpu/batchnorm.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqnet::cpu {

namespace {

constexpr int64_t kParallelMinElements = 1 << 15;

// Sum of one channel over the batch: planes (N, C, HW), channel c.
template <typename T>
double channel_sum(const T* x, int N, int C, int64_t HW, int c) {
  double sum = 0;
  for (int n = 0; n < N; ++n) {
    const T* plane = x + (int64_t(n) * C + c) * HW;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < HW; ++i) sum += plane[i];
  }
  return sum;
}

// Sum of (x - mu)^2 over one channel of (N, C, HW).
template <typename T>
double channel_squared_deviations(const T* x, int N, int C, int64_t HW, int c, double mu) {
  double squares = 0;
  for (int n = 0; n < N; ++n) {
    const T* plane = x + (int64_t(n) * C + c) * HW;
#pragma omp simd reduction(+ : squares)
    for (int64_t i = 0; i < HW; ++i) squares += (double(plane[i]) - mu) * (double(plane[i]) - mu);
  }
  return squares;
}

// y = (x - mean) * scale + beta over one channel of (N, C, HW).
template <typename T>
void normalize_channel(T* y, const T* x, int N, int C, int64_t HW, int c, T mean, T scale, T beta) {
  for (int n = 0; n < N; ++n) {
    const T* xp = x + (int64_t(n) * C + c) * HW;
    T* yp = y + (int64_t(n) * C + c) * HW;
    for (int64_t i = 0; i < HW; ++i) yp[i] = (xp[i] - mean) * scale + beta;
  }
}

// Channel c once its statistics over M values are known: saves mean and rstd, updates the
// running statistics and normalises x into y.
template <typename T>
void finish_channel_forward(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x, const T* gamma,
                            const T* beta, int N, int C, int64_t HW, int c, double mu, double var, int64_t M,
                            double eps, double momentum) {
  const double inv_std = 1.0 / std::sqrt(var + eps);
  mean[c] = static_cast<T>(mu);
  rstd[c] = static_cast<T>(inv_std);
  running_mean[c] = static_cast<T>((1 - momentum) * double(running_mean[c]) + momentum * mu);
  running_var[c] =
      static_cast<T>((1 - momentum) * double(running_var[c]) + momentum * var * double(M) / double(M - 1));
  // y = (x - mean) * scale + beta with scale = gamma * rstd. Subtracting the mean first matters:
  // the folded form x * scale + (beta - mean * scale) cancels catastrophically in float when
  // |mean| >> std (it cost 1e-2 relative error in SeqNet's classification branch).
  normalize_channel(y, x, N, C, HW, c, static_cast<T>(mu), static_cast<T>(double(gamma[c]) * inv_std), beta[c]);
}

// sum dy and sum dy*xhat over one channel, xhat = (x - mu) * inv_std.
template <typename T>
void channel_gradient_sums(double& sum_dy_out, double& sum_dy_xhat_out, const T* dy, const T* x, int N, int C,
                           int64_t HW, int c, double mu, double inv_std) {
  double sum_dy = 0, sum_dy_xhat = 0;  // locals: the simd reduction vectorises them
  for (int n = 0; n < N; ++n) {
    const T* dyp = dy + (int64_t(n) * C + c) * HW;
    const T* xp = x + (int64_t(n) * C + c) * HW;
#pragma omp simd reduction(+ : sum_dy, sum_dy_xhat)
    for (int64_t i = 0; i < HW; ++i) {
      sum_dy += dyp[i];
      sum_dy_xhat += double(dyp[i]) * (double(xp[i]) - mu) * inv_std;
    }
  }
  sum_dy_out = sum_dy;
  sum_dy_xhat_out = sum_dy_xhat;
}

// dx = g*rstd*(dy - mean(dy) - xhat*mean(dy*xhat)) over one channel, xhat = (x - mu)*rstd, the
// mean subtracted first for the same reason as in the forward pass.
template <typename T>
void channel_input_gradient(T* dx, const T* dy, const T* x, T gamma, int N, int C, int64_t HW, int c, double mu,
                            double inv_std, double mean_dy, double mean_dy_xhat) {
  const T a = static_cast<T>(double(gamma) * inv_std);
  const T mu_t = static_cast<T>(mu), slope = static_cast<T>(mean_dy_xhat * inv_std), offset = static_cast<T>(mean_dy);
  for (int n = 0; n < N; ++n) {
    const T* dyp = dy + (int64_t(n) * C + c) * HW;
    const T* xp = x + (int64_t(n) * C + c) * HW;
    T* dxp = dx + (int64_t(n) * C + c) * HW;
    for (int64_t i = 0; i < HW; ++i) dxp[i] = a * (dyp[i] - offset - (xp[i] - mu_t) * slope);
  }
}

}  // namespace

template <typename T>
void batchnorm_forward_train(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                             const T* gamma, const T* beta, int N, int C, int64_t HW, double eps,
                             double momentum, const BatchNormSync* sync) {
  const int64_t local = int64_t(N) * HW, M = sync ? local * sync->ranks : local;
  if (M < 2)
    throw std::invalid_argument("batchnorm_forward_train: training statistics need more than one value per "
                                "channel, got N*H*W = " + std::to_string(M) + " (use a larger batch or crop)");
  const bool parallel = int64_t(C) * local >= kParallelMinElements;
  if (!sync) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int c = 0; c < C; ++c) {
      const double mu = channel_sum(x, N, C, HW, c) / double(M);
      const double var = channel_squared_deviations(x, N, C, HW, c, mu) / double(M);
      finish_channel_forward(y, mean, rstd, running_mean, running_var, x, gamma, beta, N, C, HW, c, mu, var, M, eps,
                             momentum);
    }
    return;
  }
  // The same two passes, each channel's sum completed over the ranks between them.
  std::vector<double> sums(C), squares(C);
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < C; ++c) sums[c] = channel_sum(x, N, C, HW, c);
  sync->sum_over_ranks(sums.data(), C);
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < C; ++c) squares[c] = channel_squared_deviations(x, N, C, HW, c, sums[c] / double(M));
  sync->sum_over_ranks(squares.data(), C);
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < C; ++c)
    finish_channel_forward(y, mean, rstd, running_mean, running_var, x, gamma, beta, N, C, HW, c, sums[c] / double(M),
                           squares[c] / double(M), M, eps, momentum);
}

template <typename T>
void batchnorm_forward_eval(T* y, const T* x, const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, int N, int C, int64_t HW, double eps) {
#pragma omp parallel for schedule(static) if (int64_t(C) * N * HW >= kParallelMinElements)
  for (int c = 0; c < C; ++c) {
    const double inv_std = 1.0 / std::sqrt(double(running_var[c]) + eps);
    normalize_channel(y, x, N, C, HW, c, running_mean[c], static_cast<T>(double(gamma[c]) * inv_std), beta[c]);
  }
}

template <typename T>
void batchnorm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* gamma, const T* mean,
                        const T* rstd, int N, int C, int64_t HW, const BatchNormSync* sync) {
  const int64_t local = int64_t(N) * HW, M = sync ? local * sync->ranks : local;
  const bool parallel = int64_t(C) * local >= kParallelMinElements;
  if (!sync) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int c = 0; c < C; ++c) {
      double sum_dy, sum_dy_xhat;
      channel_gradient_sums(sum_dy, sum_dy_xhat, dy, x, N, C, HW, c, mean[c], rstd[c]);
      dbeta[c] += static_cast<T>(sum_dy);
      dgamma[c] += static_cast<T>(sum_dy_xhat);
      channel_input_gradient(dx, dy, x, gamma[c], N, C, HW, c, mean[c], rstd[c], sum_dy / double(M),
                             sum_dy_xhat / double(M));
    }
    return;
  }
  // sums[c] = sum dy, sums[C + c] = sum dy*xhat: this rank's go into dbeta and dgamma, those over
  // all ranks into dx.
  std::vector<double> sums(2 * size_t(C));
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < C; ++c) {
    channel_gradient_sums(sums[c], sums[C + c], dy, x, N, C, HW, c, mean[c], rstd[c]);
    dbeta[c] += static_cast<T>(sums[c]);
    dgamma[c] += static_cast<T>(sums[C + c]);
  }
  sync->sum_over_ranks(sums.data(), 2 * int64_t(C));
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < C; ++c)
    channel_input_gradient(dx, dy, x, gamma[c], N, C, HW, c, mean[c], rstd[c], sums[c] / double(M),
                           sums[C + c] / double(M));
}

#define SEQNET_INSTANTIATE(T)                                                                                  \
  template void batchnorm_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int, int, int64_t, \
                                           double, double, const BatchNormSync*);                              \
  template void batchnorm_forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*, int, int,       \
                                          int64_t, double);                                                    \
  template void batchnorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, int, int,   \
                                      int64_t, const BatchNormSync*);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu
