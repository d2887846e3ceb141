// batchnorm.cu: the batch normalisation of batchnorm.h (the formulas are there). One block per
// channel; the sums run in double over that channel's N planes, the mean first and the centred
// squares second, exactly as the CPU twin computes them.
#include <stdexcept>
#include <string>

#include "kernels/cuda/batchnorm.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/reduce.cuh"

namespace seqnet::cuda {

namespace {

// Sum over channel c's planes of x (N,C,HW) of f(value), in double, shared by the whole block.
template <typename F>
__device__ double channel_sum(const float* x, int N, int C, int64_t HW, int c, F f) {
  double sum = 0;
  for (int n = 0; n < N; ++n) {
    const float* plane = x + (int64_t(n) * C + c) * HW;
    for (int64_t p = threadIdx.x; p < HW; p += blockDim.x) sum += f(double(plane[p]));
  }
  return block_sum(sum);
}

// y = (x - mean) * scale + beta over channel c's planes. The mean is subtracted first: the folded
// form x * scale + (beta - mean * scale) cancels catastrophically in float when |mean| >> std.
__device__ void normalize_channel(float* y, const float* x, int N, int C, int64_t HW, int c, float mean, float scale,
                                  float beta) {
  for (int n = 0; n < N; ++n) {
    const int64_t base = (int64_t(n) * C + c) * HW;
    for (int64_t p = threadIdx.x; p < HW; p += blockDim.x) y[base + p] = (x[base + p] - mean) * scale + beta;
  }
}

__global__ void forward_train_kernel(float* y, float* mean, float* rstd, float* running_mean, float* running_var,
                                     const float* x, const float* gamma, const float* beta, int N, int C,
                                     int64_t HW, double eps, double momentum) {
  const int c = blockIdx.x;
  const double M = double(N) * double(HW);
  const double mu = channel_sum(x, N, C, HW, c, [](double v) { return v; }) / M;
  const double var = channel_sum(x, N, C, HW, c, [mu](double v) { return (v - mu) * (v - mu); }) / M;
  const double inv_std = 1.0 / sqrt(var + eps);
  if (threadIdx.x == 0) {
    mean[c] = float(mu);
    rstd[c] = float(inv_std);
    running_mean[c] = float((1 - momentum) * double(running_mean[c]) + momentum * mu);
    running_var[c] = float((1 - momentum) * double(running_var[c]) + momentum * var * M / (M - 1));
  }
  normalize_channel(y, x, N, C, HW, c, float(mu), float(double(gamma[c]) * inv_std), beta[c]);
}

__global__ void forward_eval_kernel(float* y, const float* x, const float* gamma, const float* beta,
                                    const float* running_mean, const float* running_var, int N, int C, int64_t HW,
                                    double eps) {
  const int c = blockIdx.x;
  const double inv_std = 1.0 / sqrt(double(running_var[c]) + eps);
  normalize_channel(y, x, N, C, HW, c, running_mean[c], float(double(gamma[c]) * inv_std), beta[c]);
}

__global__ void backward_kernel(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                const float* gamma, const float* mean, const float* rstd, int N, int C,
                                int64_t HW) {
  const int c = blockIdx.x;
  const double mu = mean[c], inv_std = rstd[c];
  double sum_dy = 0, sum_dy_xhat = 0;
  for (int n = 0; n < N; ++n) {
    const int64_t base = (int64_t(n) * C + c) * HW;
    for (int64_t p = threadIdx.x; p < HW; p += blockDim.x) {
      const double g = dy[base + p];
      sum_dy += g;
      sum_dy_xhat += g * (double(x[base + p]) - mu) * inv_std;
    }
  }
  sum_dy = block_sum(sum_dy);
  sum_dy_xhat = block_sum(sum_dy_xhat);
  if (threadIdx.x == 0) {
    dbeta[c] += float(sum_dy);
    dgamma[c] += float(sum_dy_xhat);
  }
  // dx = g*rstd*(dy - mean(dy) - xhat*mean(dy*xhat)), xhat = (x - mu)*rstd, mean subtracted first.
  const double M = double(N) * double(HW);
  const double mean_dy = sum_dy / M, mean_dy_xhat = sum_dy_xhat / M;
  const float a = float(double(gamma[c]) * inv_std), mu_f = float(mu);
  const float slope = float(mean_dy_xhat * inv_std), offset = float(mean_dy);
  for (int n = 0; n < N; ++n) {
    const int64_t base = (int64_t(n) * C + c) * HW;
    for (int64_t p = threadIdx.x; p < HW; p += blockDim.x)
      dx[base + p] = a * (dy[base + p] - offset - (x[base + p] - mu_f) * slope);
  }
}

}  // namespace

void batchnorm_forward_train(float* y, float* mean, float* rstd, float* running_mean, float* running_var,
                             const float* x, const float* gamma, const float* beta, int N, int C, int64_t HW,
                             double eps, double momentum, cudaStream_t stream) {
  const int64_t M = int64_t(N) * HW;
  if (M < 2)
    throw std::invalid_argument("batchnorm_forward_train: training statistics need more than one value per "
                                "channel, got N*H*W = " + std::to_string(M) + " (use a larger batch or crop)");
  if (C == 0) return;
  forward_train_kernel<<<C, kBlockThreads, 0, stream>>>(y, mean, rstd, running_mean, running_var, x, gamma, beta, N,
                                                        C, HW, eps, momentum);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void batchnorm_forward_eval(float* y, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, int N, int C, int64_t HW,
                            double eps, cudaStream_t stream) {
  if (C == 0 || int64_t(N) * HW == 0) return;
  forward_eval_kernel<<<C, kBlockThreads, 0, stream>>>(y, x, gamma, beta, running_mean, running_var, N, C, HW, eps);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma,
                        const float* mean, const float* rstd, int N, int C, int64_t HW, cudaStream_t stream) {
  if (C == 0 || int64_t(N) * HW == 0) return;
  backward_kernel<<<C, kBlockThreads, 0, stream>>>(dx, dgamma, dbeta, dy, x, gamma, mean, rstd, N, C, HW);
  SEQNET_CUDA_CHECK_LAUNCH();
}

}  // namespace seqnet::cuda
