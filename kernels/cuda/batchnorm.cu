// batchnorm.cu: the batch normalisation of batchnorm.h (the formulas are there), over many blocks
// per channel so that even 32 channels fill the GPU.
//
// Each channel's M = N*HW values are cut into chunks of equal length (a multiple of 4); the grid is
// (chunks, C), about 4 blocks per multiprocessor in all, each chunk at least kMinChannelChunk
// values (launch.h's channel_split; the chunk walk is in reduce.cuh, shared with bias backward).
//   1. sums:     each block reduces its chunk to two sums in double, written to its own slot of a
//                per-call buffer (no atomics);
//   2. finish:   one thread per channel adds the slots up in chunk order (so two runs give the same
//                bits) and computes the channel's statistics and coefficients;
//   3. apply:    each block maps its chunk elementwise with them.
// Loads and stores are float4 when the planes allow (HW % 4 == 0, 16-byte aligned pointers).
//
// Fused with ReLU and dropout (training, kernels/cpu/batchnorm.h): the apply pass of the forward
// also clamps at 0 and multiplies by dropout's factor (its counter-based mask at each element's
// index); both backward passes take g = dy / (1-p) where y > 0 (else 0) in place of dy, reading the
// mask from the forward's output y, so it is the forward's own mask bit for bit (a mask recomputed
// from x and the channel's coefficients could differ where nvcc contracts the two expressions
// differently). Per layer that is 3 passes over the map forward instead of 7 (batch-norm 3, ReLU 2,
// dropout 2) and 7 backward instead of 10 (dy, x, y read twice, dx written; a 1-byte mask would
// make it 5.5 but needs a buffer of its own per layer).
//
// Training forward reads x twice (sums, apply). Its sums are shifted by the channel's first value
// s: sum (x - s) and sum (x - s)^2, so var = (S2 - S1^2 / M) / M keeps double's precision unless
// |mean - s| is ~1e8 standard deviations (the CPU twin's two passes agree to ~1e-15 otherwise).
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/batchnorm.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/reduce.cuh"
#include "kernels/dropout_hash.h"

namespace seqnet::cuda {

namespace {

// sums[c * chunks + z] = (sum (x - s), sum (x - s)^2) over chunk z, s = channel c's first value.
template <bool VEC>
__global__ void moments_kernel(double2* sums, const float* __restrict__ x, int C, int64_t HW, int64_t M,
                               int64_t chunk) {
  const int c = blockIdx.y;
  int64_t e0, e1;
  chunk_range(M, chunk, &e0, &e1);
  const double shift = x[int64_t(c) * HW];
  double s1 = 0, s2 = 0;
  for_chunk<VEC>(C, HW, c, e0, e1, [&](int64_t i) {
    if (VEC) {
      const float4 v = load4(x + i);
      const double d[4] = {v.x - shift, v.y - shift, v.z - shift, v.w - shift};
      for (double value : d) {
        s1 += value;
        s2 += value * value;
      }
    } else {
      const double value = x[i] - shift;
      s1 += value;
      s2 += value * value;
    }
  });
  s1 = block_sum(s1);
  s2 = block_sum(s2);
  if (threadIdx.x == 0) sums[int64_t(c) * gridDim.x + blockIdx.x] = make_double2(s1, s2);
}

// Per channel: mean, var, rstd and running statistics from the chunk sums (in chunk order), and
// the coefficients (mean, scale, beta) of y = (x - mean) * scale + beta. The mean is subtracted
// first: the folded x * scale + (beta - mean * scale) cancels in float when |mean| >> std.
__global__ void finish_forward_kernel(float4* coefficients, float* mean, float* rstd, float* running_mean,
                                      float* running_var, const double2* sums, int chunks, const float* x,
                                      const float* gamma, const float* beta, int C, int64_t HW, int64_t M,
                                      double eps, double momentum) {
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
    double s1 = 0, s2 = 0;
    for (int z = 0; z < chunks; ++z) {
      s1 += sums[int64_t(c) * chunks + z].x;
      s2 += sums[int64_t(c) * chunks + z].y;
    }
    const double m = double(M), shift = x[int64_t(c) * HW];
    const double mu = shift + s1 / m;
    const double var = fmax((s2 - s1 * s1 / m) / m, 0.0);
    const double inv_std = 1.0 / sqrt(var + eps);
    mean[c] = float(mu);
    rstd[c] = float(inv_std);
    running_mean[c] = float((1 - momentum) * double(running_mean[c]) + momentum * mu);
    running_var[c] = float((1 - momentum) * double(running_var[c]) + momentum * var * m / (m - 1));
    coefficients[c] = make_float4(float(mu), float(double(gamma[c]) * inv_std), beta[c], 0.f);
  }
}

// y = (x - mean) * scale + beta over this block's chunk, with (mean, scale, beta) of its channel.
template <bool VEC>
__device__ void normalize_chunk(float* y, const float* x, int C, int64_t HW, int64_t M, int64_t chunk, float4 k) {
  const int c = blockIdx.y;
  int64_t e0, e1;
  chunk_range(M, chunk, &e0, &e1);
  for_chunk<VEC>(C, HW, c, e0, e1, [&](int64_t i) {
    if (VEC) {
      const float4 v = load4(x + i);
      store4(y + i, make_float4((v.x - k.x) * k.y + k.z, (v.y - k.x) * k.y + k.z, (v.z - k.x) * k.y + k.z,
                                (v.w - k.x) * k.y + k.z));
    } else {
      y[i] = (x[i] - k.x) * k.y + k.z;
    }
  });
}

template <bool VEC>
__global__ void normalize_train_kernel(float* y, const float* x, const float4* coefficients, int C, int64_t HW,
                                       int64_t M, int64_t chunk) {
  normalize_chunk<VEC>(y, x, C, HW, M, chunk, coefficients[blockIdx.y]);
}

// y = relu((x - mean) * scale + beta) * factor over this block's chunk, factor = 1 / (1-p) where
// dropout keeps the element (its mask at the element's index in (N, C, HW)), else 0. threshold 0
// (p = 0) keeps every element: the hash is skipped and scale is 1.
template <bool VEC>
__global__ void normalize_relu_dropout_kernel(float* y, const float* x, const float4* coefficients, int C,
                                              int64_t HW, int64_t M, int64_t chunk, uint32_t threshold, float scale,
                                              uint64_t seed) {
  const int c = blockIdx.y;
  const float4 k = coefficients[c];  // (mean, scale, beta)
  int64_t e0, e1;
  chunk_range(M, chunk, &e0, &e1);
  auto value = [&](float v, int64_t i) {
    const float t = (v - k.x) * k.y + k.z;
    const float r = t > 0.f ? t : 0.f;
    return r * (threshold == 0 || dropout_keep_with_threshold(seed, uint64_t(i), threshold) ? scale : 0.f);
  };
  for_chunk<VEC>(C, HW, c, e0, e1, [&](int64_t i) {
    if (VEC) {
      const float4 v = load4(x + i);
      store4(y + i, make_float4(value(v.x, i), value(v.y, i + 1), value(v.z, i + 2), value(v.w, i + 3)));
    } else {
      y[i] = value(x[i], i);
    }
  });
}

template <bool VEC>
__global__ void normalize_eval_kernel(float* y, const float* x, const float* gamma, const float* beta,
                                      const float* running_mean, const float* running_var, int C, int64_t HW,
                                      int64_t M, int64_t chunk, double eps) {
  const int c = blockIdx.y;
  const double inv_std = 1.0 / sqrt(double(running_var[c]) + eps);
  normalize_chunk<VEC>(y, x, C, HW, M, chunk,
                       make_float4(running_mean[c], float(double(gamma[c]) * inv_std), beta[c], 0.f));
}

// The gradient batch-norm's backward takes at one element: dy, or (MASKED: the fused pass) the
// backward of ReLU and dropout, dy / (1-p) where the forward's output y > 0, else 0.
template <bool MASKED>
__device__ inline float incoming(float dy, float y, float scale) {
  return MASKED ? (y > 0.f ? dy * scale : 0.f) : dy;
}

// sums[c * chunks + z] = (sum g, sum g * xhat) over chunk z, g = incoming(dy, y), xhat = (x - mean)
// * rstd. y is read only when MASKED.
template <bool VEC, bool MASKED>
__global__ void backward_sums_kernel(double2* sums, const float* __restrict__ dy, const float* __restrict__ x,
                                     const float* __restrict__ y, float scale, const float* mean, const float* rstd,
                                     int C, int64_t HW, int64_t M, int64_t chunk) {
  const int c = blockIdx.y;
  int64_t e0, e1;
  chunk_range(M, chunk, &e0, &e1);
  const double mu = mean[c], inv_std = rstd[c];
  double s_g = 0, s_g_xhat = 0;
  for_chunk<VEC>(C, HW, c, e0, e1, [&](int64_t i) {
    if (VEC) {
      const float4 d = load4(dy + i), v = load4(x + i), o = MASKED ? load4(y + i) : d;
      const double gs[4] = {incoming<MASKED>(d.x, o.x, scale), incoming<MASKED>(d.y, o.y, scale),
                            incoming<MASKED>(d.z, o.z, scale), incoming<MASKED>(d.w, o.w, scale)};
      const double vs[4] = {v.x, v.y, v.z, v.w};
      for (int l = 0; l < 4; ++l) {
        s_g += gs[l];
        s_g_xhat += gs[l] * (vs[l] - mu) * inv_std;
      }
    } else {
      const double g = incoming<MASKED>(dy[i], MASKED ? y[i] : 0.f, scale);
      s_g += g;
      s_g_xhat += g * (double(x[i]) - mu) * inv_std;
    }
  });
  s_g = block_sum(s_g);
  s_g_xhat = block_sum(s_g_xhat);
  if (threadIdx.x == 0) sums[int64_t(c) * gridDim.x + blockIdx.x] = make_double2(s_g, s_g_xhat);
}

// dbeta += sum g, dgamma += sum g*xhat (chunk order); coefficients (mean, a, slope, offset) of
// dx = a (g - offset - (x - mean) slope) = gamma rstd (g - mean(g) - xhat mean(g xhat)).
__global__ void finish_backward_kernel(float4* coefficients, float* dgamma, float* dbeta, const double2* sums,
                                       int chunks, const float* gamma, const float* mean, const float* rstd, int C,
                                       int64_t M) {
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
    double s_dy = 0, s_dy_xhat = 0;
    for (int z = 0; z < chunks; ++z) {
      s_dy += sums[int64_t(c) * chunks + z].x;
      s_dy_xhat += sums[int64_t(c) * chunks + z].y;
    }
    dbeta[c] += float(s_dy);
    dgamma[c] += float(s_dy_xhat);
    const double inv_std = rstd[c], m = double(M);
    coefficients[c] = make_float4(mean[c], float(double(gamma[c]) * inv_std), float(s_dy_xhat / m * inv_std),
                                  float(s_dy / m));
  }
}

// dx = a (g - offset - (x - mean) slope) over this block's chunk, g = incoming(dy, y); dx may be dy.
template <bool VEC, bool MASKED>
__global__ void backward_apply_kernel(float* dx, const float* dy, const float* x, const float* y, float scale,
                                      const float4* coefficients, int C, int64_t HW, int64_t M, int64_t chunk) {
  const int c = blockIdx.y;
  const float4 k = coefficients[c];  // (mean, a, slope, offset)
  int64_t e0, e1;
  chunk_range(M, chunk, &e0, &e1);
  auto value = [&](float d, float o, float v) { return k.y * (incoming<MASKED>(d, o, scale) - k.w - (v - k.x) * k.z); };
  for_chunk<VEC>(C, HW, c, e0, e1, [&](int64_t i) {
    if (VEC) {
      const float4 d = load4(dy + i), v = load4(x + i), o = MASKED ? load4(y + i) : d;
      store4(dx + i, make_float4(value(d.x, o.x, v.x), value(d.y, o.y, v.y), value(d.z, o.z, v.z),
                                 value(d.w, o.w, v.w)));
    } else {
      dx[i] = value(dy[i], MASKED ? y[i] : 0.f, x[i]);
    }
  });
}

// Per-call scratch: the chunk sums (C * chunks) and the per-channel coefficients (C), in
// stream-ordered memory freed after the call's last kernel.
struct Scratch {
  double2* sums;
  float4* coefficients;
};

Scratch allocate_scratch(int C, int chunks, cudaStream_t stream) {
  void* memory = nullptr;
  const size_t sums_bytes = size_t(C) * chunks * sizeof(double2);
  SEQNET_CUDA_CHECK(cudaMallocAsync(&memory, sums_bytes + size_t(C) * sizeof(float4), stream));
  return {static_cast<double2*>(memory), reinterpret_cast<float4*>(static_cast<char*>(memory) + sums_bytes)};
}

int per_channel_blocks(int C) { return (C + kBlockThreads - 1) / kBlockThreads; }

// The training forward: statistics (moments, finish), then the apply pass, plain batch-norm or
// (fused) with ReLU and dropout (p, seed).
void forward_train(float* y, float* mean, float* rstd, float* running_mean, float* running_var, const float* x,
                   const float* gamma, const float* beta, int N, int C, int64_t HW, double eps, double momentum,
                   bool fused, float p, uint64_t seed, cudaStream_t stream) {
  const int64_t M = int64_t(N) * HW;
  if (M < 2)
    throw std::invalid_argument("batchnorm_forward_train: training statistics need more than one value per "
                                "channel, got N*H*W = " + std::to_string(M) + " (use a larger batch or crop)");
  if (C == 0) return;
  const ChannelSplit split = channel_split(N, C, HW, {x, y});
  const Scratch scratch = allocate_scratch(C, split.chunks, stream);
  const dim3 grid(unsigned(split.chunks), unsigned(C));
  if (split.vectorised)
    moments_kernel<true><<<grid, kBlockThreads, 0, stream>>>(scratch.sums, x, C, HW, M, split.chunk);
  else
    moments_kernel<false><<<grid, kBlockThreads, 0, stream>>>(scratch.sums, x, C, HW, M, split.chunk);
  SEQNET_CUDA_CHECK_LAUNCH();
  finish_forward_kernel<<<per_channel_blocks(C), kBlockThreads, 0, stream>>>(
      scratch.coefficients, mean, rstd, running_mean, running_var, scratch.sums, split.chunks, x, gamma, beta, C, HW,
      M, eps, momentum);
  SEQNET_CUDA_CHECK_LAUNCH();
  if (fused) {
    const uint32_t threshold = dropout_threshold(p);
    const float scale = float(dropout_scale(p));
    if (split.vectorised)
      normalize_relu_dropout_kernel<true><<<grid, kBlockThreads, 0, stream>>>(
          y, x, scratch.coefficients, C, HW, M, split.chunk, threshold, scale, seed);
    else
      normalize_relu_dropout_kernel<false><<<grid, kBlockThreads, 0, stream>>>(
          y, x, scratch.coefficients, C, HW, M, split.chunk, threshold, scale, seed);
  } else if (split.vectorised) {
    normalize_train_kernel<true><<<grid, kBlockThreads, 0, stream>>>(y, x, scratch.coefficients, C, HW, M, split.chunk);
  } else {
    normalize_train_kernel<false><<<grid, kBlockThreads, 0, stream>>>(y, x, scratch.coefficients, C, HW, M,
                                                                      split.chunk);
  }
  SEQNET_CUDA_CHECK_LAUNCH();
  SEQNET_CUDA_CHECK(cudaFreeAsync(scratch.sums, stream));
}

// The backward's three launches for one (VEC, MASKED).
template <bool VEC, bool MASKED>
void launch_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* y,
                     float scale, const float* gamma, const float* mean, const float* rstd, int C, int64_t HW,
                     int64_t M, const ChannelSplit& split, const Scratch& scratch, cudaStream_t stream) {
  const dim3 grid(unsigned(split.chunks), unsigned(C));
  backward_sums_kernel<VEC, MASKED><<<grid, kBlockThreads, 0, stream>>>(scratch.sums, dy, x, y, scale, mean, rstd, C,
                                                                        HW, M, split.chunk);
  SEQNET_CUDA_CHECK_LAUNCH();
  finish_backward_kernel<<<per_channel_blocks(C), kBlockThreads, 0, stream>>>(
      scratch.coefficients, dgamma, dbeta, scratch.sums, split.chunks, gamma, mean, rstd, C, M);
  SEQNET_CUDA_CHECK_LAUNCH();
  backward_apply_kernel<VEC, MASKED><<<grid, kBlockThreads, 0, stream>>>(dx, dy, x, y, scale, scratch.coefficients, C,
                                                                         HW, M, split.chunk);
  SEQNET_CUDA_CHECK_LAUNCH();
}

// The backward of batch-norm (y null) or of the fused batch-norm + ReLU + dropout (y its output).
void backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* y, float p,
              const float* gamma, const float* mean, const float* rstd, int N, int C, int64_t HW,
              cudaStream_t stream) {
  const int64_t M = int64_t(N) * HW;
  if (C == 0 || M == 0) return;
  const ChannelSplit split = y ? channel_split(N, C, HW, {dx, dy, x, y}) : channel_split(N, C, HW, {dx, dy, x});
  const Scratch scratch = allocate_scratch(C, split.chunks, stream);
  const float scale = float(dropout_scale(p));
  if (y && split.vectorised)
    launch_backward<true, true>(dx, dgamma, dbeta, dy, x, y, scale, gamma, mean, rstd, C, HW, M, split, scratch, stream);
  else if (y)
    launch_backward<false, true>(dx, dgamma, dbeta, dy, x, y, scale, gamma, mean, rstd, C, HW, M, split, scratch,
                                 stream);
  else if (split.vectorised)
    launch_backward<true, false>(dx, dgamma, dbeta, dy, x, y, scale, gamma, mean, rstd, C, HW, M, split, scratch,
                                 stream);
  else
    launch_backward<false, false>(dx, dgamma, dbeta, dy, x, y, scale, gamma, mean, rstd, C, HW, M, split, scratch,
                                  stream);
  SEQNET_CUDA_CHECK(cudaFreeAsync(scratch.sums, stream));
}

}  // namespace

int batchnorm_blocks_per_channel(int N, int C, int64_t HW) { return channel_split(N, C, HW, {}).chunks; }

void batchnorm_forward_train(float* y, float* mean, float* rstd, float* running_mean, float* running_var,
                             const float* x, const float* gamma, const float* beta, int N, int C, int64_t HW,
                             double eps, double momentum, cudaStream_t stream) {
  forward_train(y, mean, rstd, running_mean, running_var, x, gamma, beta, N, C, HW, eps, momentum, false, 0.f, 0,
                stream);
}

void batchnorm_relu_dropout_forward_train(float* y, float* mean, float* rstd, float* running_mean,
                                          float* running_var, const float* x, const float* gamma, const float* beta,
                                          int N, int C, int64_t HW, double eps, double momentum, float p,
                                          uint64_t seed, cudaStream_t stream) {
  forward_train(y, mean, rstd, running_mean, running_var, x, gamma, beta, N, C, HW, eps, momentum, true, p, seed,
                stream);
}

void batchnorm_forward_eval(float* y, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, int N, int C, int64_t HW,
                            double eps, cudaStream_t stream) {
  const int64_t M = int64_t(N) * HW;
  if (C == 0 || M == 0) return;
  const ChannelSplit split = channel_split(N, C, HW, {x, y});
  const dim3 grid(unsigned(split.chunks), unsigned(C));
  if (split.vectorised)
    normalize_eval_kernel<true><<<grid, kBlockThreads, 0, stream>>>(y, x, gamma, beta, running_mean, running_var, C,
                                                                    HW, M, split.chunk, eps);
  else
    normalize_eval_kernel<false><<<grid, kBlockThreads, 0, stream>>>(y, x, gamma, beta, running_mean, running_var, C,
                                                                     HW, M, split.chunk, eps);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma,
                        const float* mean, const float* rstd, int N, int C, int64_t HW, cudaStream_t stream) {
  backward(dx, dgamma, dbeta, dy, x, nullptr, 0.f, gamma, mean, rstd, N, C, HW, stream);
}

void batchnorm_relu_dropout_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                     const float* y, const float* gamma, const float* mean, const float* rstd, int N,
                                     int C, int64_t HW, float p, cudaStream_t stream) {
  backward(dx, dgamma, dbeta, dy, x, y, p, gamma, mean, rstd, N, C, HW, stream);
}

}  // namespace seqnet::cuda
