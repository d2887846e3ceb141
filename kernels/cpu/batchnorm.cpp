// batchnorm.cpp: the batch normalisation of batchnorm.h, one thread per channel.
//
// Per-channel sums run in double, the mean first and then the squared deviations from it
// (two passes), so the variance does not suffer the cancellation of E[x^2] - E[x]^2.
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/parallel_threshold.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/dropout_hash.h"

namespace seqnet::cpu {

namespace {


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

// y = relu((x - mean) * scale + beta) keep / (1-p) over one channel of (N, C, HW): the expression
// of normalize_channel, then relu_forward's, then elementwise.h's dropout_piece on each piece of
// kPiece values while it is in L1 (one pass over y in memory). Those are the separate ops' own
// expressions, compiled for the same target (dropout_piece's AVX clones would contract the affine
// step into an FMA), so y has the same bits as the three ops one after the other.
template <typename T>
void normalize_relu_dropout_channel(T* y, const T* x, int N, int C, int64_t HW, int c, T mean, T scale, T beta,
                                    float p, uint64_t seed) {
  constexpr int64_t kPiece = 2048;
  for (int n = 0; n < N; ++n) {
    const int64_t plane = (int64_t(n) * C + c) * HW;
    for (int64_t i0 = 0; i0 < HW; i0 += kPiece) {
      const int64_t length = std::min(kPiece, HW - i0);
      const T* xp = x + plane + i0;
      T* yp = y + plane + i0;
      for (int64_t i = 0; i < length; ++i) {
        const T v = (xp[i] - mean) * scale + beta;
        yp[i] = v > T(0) ? v : T(0);
      }
      if (p > 0.0f) dropout_piece(yp, yp, length, uint64_t(plane + i0), p, seed);
    }
  }
}

// The training forward: per channel the statistics over M values (two passes in double; with
// `sync` each sum completed over the ranks between them), the saved mean and rstd, the running
// statistics, then apply(c, mean, scale, beta), the pass that writes y, with scale = gamma * rstd.
// Subtracting the mean first matters: the folded form x * scale + (beta - mean * scale) cancels
// catastrophically in float when |mean| >> std (it cost 1e-2 relative error in SeqNet's
// classification branch).
template <typename T, typename Apply>
void forward_train(T* mean, T* rstd, T* running_mean, T* running_var, const T* x, const T* gamma, const T* beta,
                   int N, int C, int64_t HW, double eps, double momentum, const BatchNormSync* sync, Apply apply) {
  const int64_t local = int64_t(N) * HW, M = sync ? local * sync->ranks : local;
  if (M < 2)
    throw std::invalid_argument("batchnorm_forward_train: training statistics need more than one value per "
                                "channel, got N*H*W = " + std::to_string(M) + " (use a larger batch or crop)");
  const bool parallel = int64_t(C) * local >= kParallelMinElements;
  // Channel c once its statistics are known.
  auto finish = [&](int c, double mu, double var) {
    const double inv_std = 1.0 / std::sqrt(var + eps);
    mean[c] = static_cast<T>(mu);
    rstd[c] = static_cast<T>(inv_std);
    running_mean[c] = static_cast<T>((1 - momentum) * double(running_mean[c]) + momentum * mu);
    running_var[c] =
        static_cast<T>((1 - momentum) * double(running_var[c]) + momentum * var * double(M) / double(M - 1));
    apply(c, static_cast<T>(mu), static_cast<T>(double(gamma[c]) * inv_std), beta[c]);
  };
  if (!sync) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int c = 0; c < C; ++c) {
      const double mu = channel_sum(x, N, C, HW, c) / double(M);
      finish(c, mu, channel_squared_deviations(x, N, C, HW, c, mu) / double(M));
    }
    return;
  }
  std::vector<double> sums(C), squares(C);
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < C; ++c) sums[c] = channel_sum(x, N, C, HW, c);
  sync->sum_over_ranks(sums.data(), C);
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < C; ++c) squares[c] = channel_squared_deviations(x, N, C, HW, c, sums[c] / double(M));
  sync->sum_over_ranks(squares.data(), C);
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < C; ++c) finish(c, sums[c] / double(M), squares[c] / double(M));
}

// The gradient batch-norm's backward takes at element i: dy itself, or (MASKED, the fused pass)
// the backward of ReLU then dropout, dy / (1-p) where y > 0 and 0 elsewhere. Written as dy times
// a factor chosen by the mask: with the multiply inside the select GCC keeps a branch per element
// (a multiply may trap, so it is not if-converted) and the loop does not vectorise (16x slower
// here). For finite dy this is the separate ops' result bit for bit (dy * scale, or a zero whose
// sign does not change any sum); a non-finite dy where the mask is closed stays non-finite,
// where the separate ReLU backward zeroed it. i indexes (N, C, HW); y is touched only when MASKED
// (it is null otherwise).
template <bool MASKED, typename T>
inline T incoming(const T* dy, const T* y, T scale, int64_t i) {
  if constexpr (MASKED) return dy[i] * (y[i] > T(0) ? scale : T(0));
  else return dy[i];
}

// sum g and sum g*xhat over one channel, g = incoming(...), xhat = (x - mu) * inv_std.
template <bool MASKED, typename T>
void channel_gradient_sums(double& sum_g_out, double& sum_g_xhat_out, const T* dy, const T* y, T scale, const T* x,
                           int N, int C, int64_t HW, int c, double mu, double inv_std) {
  double sum_g = 0, sum_g_xhat = 0;  // locals: the simd reduction vectorises them
  for (int n = 0; n < N; ++n) {
    const int64_t plane = (int64_t(n) * C + c) * HW;
    const T* xp = x + plane;
#pragma omp simd reduction(+ : sum_g, sum_g_xhat)
    for (int64_t i = 0; i < HW; ++i) {
      const T g = incoming<MASKED>(dy, y, scale, plane + i);
      sum_g += g;
      sum_g_xhat += double(g) * (double(xp[i]) - mu) * inv_std;
    }
  }
  sum_g_out = sum_g;
  sum_g_xhat_out = sum_g_xhat;
}

// dx = gamma*rstd*(g - mean(g) - xhat*mean(g*xhat)) over one channel, xhat = (x - mu)*rstd, the
// mean subtracted first for the same reason as in the forward pass. dx may be dy.
template <bool MASKED, typename T>
void channel_input_gradient(T* dx, const T* dy, const T* y, T scale, const T* x, T gamma, int N, int C, int64_t HW,
                            int c, double mu, double inv_std, double mean_g, double mean_g_xhat) {
  const T a = static_cast<T>(double(gamma) * inv_std);
  const T mu_t = static_cast<T>(mu), slope = static_cast<T>(mean_g_xhat * inv_std), offset = static_cast<T>(mean_g);
  for (int n = 0; n < N; ++n) {
    const int64_t plane = (int64_t(n) * C + c) * HW;
    const T* xp = x + plane;
    T* dxp = dx + plane;
    for (int64_t i = 0; i < HW; ++i)
      dxp[i] = a * (incoming<MASKED>(dy, y, scale, plane + i) - offset - (xp[i] - mu_t) * slope);
  }
}

// The backward of batch-norm (MASKED: of the fused batch-norm + ReLU + dropout, y its output).
// With `sync` this rank's sums go into dbeta and dgamma, those over all ranks into dx.
template <bool MASKED, typename T>
void backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* y, T scale, const T* x, const T* gamma,
              const T* mean, const T* rstd, int N, int C, int64_t HW, const BatchNormSync* sync) {
  const int64_t local = int64_t(N) * HW, M = sync ? local * sync->ranks : local;
  const bool parallel = int64_t(C) * local >= kParallelMinElements;
  if (!sync) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int c = 0; c < C; ++c) {
      double sum_g, sum_g_xhat;
      channel_gradient_sums<MASKED>(sum_g, sum_g_xhat, dy, y, scale, x, N, C, HW, c, mean[c], rstd[c]);
      dbeta[c] += static_cast<T>(sum_g);
      dgamma[c] += static_cast<T>(sum_g_xhat);
      channel_input_gradient<MASKED>(dx, dy, y, scale, x, gamma[c], N, C, HW, c, mean[c], rstd[c],
                                     sum_g / double(M), sum_g_xhat / double(M));
    }
    return;
  }
  // sums[c] = sum g, sums[C + c] = sum g*xhat.
  std::vector<double> sums(2 * size_t(C));
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < C; ++c) {
    channel_gradient_sums<MASKED>(sums[c], sums[C + c], dy, y, scale, x, N, C, HW, c, mean[c], rstd[c]);
    dbeta[c] += static_cast<T>(sums[c]);
    dgamma[c] += static_cast<T>(sums[C + c]);
  }
  sync->sum_over_ranks(sums.data(), 2 * int64_t(C));
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < C; ++c)
    channel_input_gradient<MASKED>(dx, dy, y, scale, x, gamma[c], N, C, HW, c, mean[c], rstd[c],
                                   sums[c] / double(M), sums[C + c] / double(M));
}

}  // namespace

template <typename T>
void batchnorm_forward_train(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                             const T* gamma, const T* beta, int N, int C, int64_t HW, double eps,
                             double momentum, const BatchNormSync* sync) {
  forward_train(mean, rstd, running_mean, running_var, x, gamma, beta, N, C, HW, eps, momentum, sync,
                [&](int c, T mu, T scale, T shift) { normalize_channel(y, x, N, C, HW, c, mu, scale, shift); });
}

template <typename T>
void batchnorm_relu_dropout_forward_train(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                                          const T* gamma, const T* beta, int N, int C, int64_t HW, double eps,
                                          double momentum, float p, uint64_t seed, const BatchNormSync* sync) {
  forward_train(mean, rstd, running_mean, running_var, x, gamma, beta, N, C, HW, eps, momentum, sync,
                [&](int c, T mu, T scale, T shift) {
                  normalize_relu_dropout_channel(y, x, N, C, HW, c, mu, scale, shift, p, seed);
                });
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
  backward<false>(dx, dgamma, dbeta, dy, static_cast<const T*>(nullptr), T(1), x, gamma, mean, rstd, N, C, HW, sync);
}

template <typename T>
void batchnorm_relu_dropout_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* y, const T* gamma,
                                     const T* mean, const T* rstd, int N, int C, int64_t HW, float p,
                                     const BatchNormSync* sync) {
  backward<true>(dx, dgamma, dbeta, dy, y, static_cast<T>(dropout_scale(p)), x, gamma, mean, rstd, N, C, HW, sync);
}

#define SEQNET_INSTANTIATE(T)                                                                                  \
  template void batchnorm_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int, int, int64_t, \
                                           double, double, const BatchNormSync*);                              \
  template void batchnorm_forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*, int, int,       \
                                          int64_t, double);                                                    \
  template void batchnorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, int, int,   \
                                      int64_t, const BatchNormSync*);                                          \
  template void batchnorm_relu_dropout_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int,  \
                                                        int, int64_t, double, double, float, uint64_t,          \
                                                        const BatchNormSync*);                                  \
  template void batchnorm_relu_dropout_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, \
                                                   const T*, int, int, int64_t, float, const BatchNormSync*);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu
