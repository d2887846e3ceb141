// conv2d.cu: the custom convolutions of conv2d.h as implicit GEMMs on shared-memory tiles
// (no cuDNN, no cuBLAS). p = ks/2, Q = N*H*W pixels, KK = ks*ks taps.
//
// Forward          Y (K, Q) = Wm (K, C*KK) * Xcol (C*KK, Q)
//                  Wm[k][(c,u,v)] = w[k,c,u,v]; Xcol[(c,u,v)][(n,i,j)] = x[n,c,i+u-p,j+v-p] (0 outside).
//                  Xcol is never stored: each tile of it is gathered from x as it is loaded.
// Backward-input   the same GEMM on dy: dX (C, Q) = Wf (C, K*KK) * dYcol (K*KK, Q) with
//                  Wf[c][(k,u',v')] = w[k,c,ks-1-u',ks-1-v'] (channels swapped, taps flipped), since
//                  dy[n,k,i-u+p,j-v+p] = dy[n,k,i+u'-p,j+v'-p] for u' = ks-1-u (ks-1 = 2p).
// Backward-weight  dW (K, C*KK) += dY (K, Q) * Xcol^T (Q, C*KK): the reduction runs over the Q
//                  pixels, so it is cut into chunks, one per grid z, whose partial tiles are stored
//                  apart and then added into dw in chunk order (not with atomics), so two runs give
//                  the same bits.
//
// Forward and backward-input run on implicit_gemm.cuh (its tiles, the 32-row tile for <= 32
// output channels, split-K, the TF32 path) with the Conv op below; the weight gradient keeps its
// own kernel here, on the same tiles (64 rows). 1x1 convolutions where either side has at most
// kThinRows channels (SeqNet's 32 > 1 or 2 channel heads, and their input gradients) skip the
// tiles: conv1x1_thin_kernel, one thread per pixel, which a 32- or 64-row tile would leave 94-98%
// empty.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/implicit_gemm.cuh"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/mma.cuh"

namespace seqnet::cuda {

namespace {

using implicit_gemm::BK;
using implicit_gemm::GemmArgs;
using implicit_gemm::kPad;
using implicit_gemm::multiply_slice;

constexpr int kThreads = 256;  // the weight gradient's 16 x 16 thread grid
constexpr int BM = 64;         // the weight gradient's tile rows (output channels)
constexpr int kThinRows = 4;   // output rows per thread of the thin 1x1 path, and its threshold

// The convolution's operands for implicit_gemm (forward: FLIP false, in = x (N, C, H, W),
// M = K; backward-input: FLIP true, in = dy (N, K, H, W), M = C). R = Cin * KK.
template <int KS, bool FLIP>
struct Conv {
  static constexpr int KK = KS * KS, P = KS / 2;
  struct Column {
    const float* in_n;  // image n of in
    int i, j;           // the pixel
  };
  static __device__ Column column(const GemmArgs& g, int64_t q) {
    const int HW = g.H * g.W;
    const int n = int(q / HW), pix = int(q - int64_t(n) * HW);
    return {g.in + int64_t(n) * g.Cin * HW, pix / g.W, pix - (pix / g.W) * g.W};
  }
  // Wm[m][r] = w[m, r] (forward) or Wf[m][(k, tap)] = w[k, m, flipped tap] (backward-input).
  static __device__ float a(const GemmArgs& g, int m, int r) {
    if (FLIP) {
      const int k = r / KK, tap = r - k * KK;
      return __ldg(&g.w[(int64_t(k) * g.M + m) * KK + (KK - 1 - tap)]);
    }
    return __ldg(&g.w[int64_t(m) * g.R + r]);
  }
  // Xcol[(c, u, v)][q] = in[n, c, i+u-p, j+v-p], 0 outside the image.
  static __device__ float b(const GemmArgs& g, const Column& col, int r) {
    const int c = r / KK, tap = r - c * KK, u = tap / KS, v = tap - u * KS;
    const int i = col.i + u - P, j = col.j + v - P;
    if (i < 0 || i >= g.H || j < 0 || j >= g.W) return 0.f;
    return __ldg(&col.in_n[int64_t(c) * g.H * g.W + i * g.W + j]);
  }
  static __device__ int64_t out_index(const GemmArgs& g, int64_t q, int m) {
    const int64_t HW = int64_t(g.H) * g.W, n = q / HW;
    return (n * g.M + m) * HW + (q - n * HW);
  }
  static __device__ int bias_index(const GemmArgs&, int m) { return m; }
};

// The 1x1 convolution out (N, M, HW) = A (M, R) * in (N, R, HW) (+ bias) when M or R is at most
// kThinRows: A[m][r] = w[m, r] (forward, w (K, C)) or w[r, m] (backward-input, FLIP). One thread
// per pixel and group of kThinRows output rows (grid y): it reads its pixel's R values once and
// writes kThinRows outputs, so the pass is bound by memory traffic (in read M / kThinRows times,
// which is at most R <= kThinRows times when M is the large side), not by a mostly empty tile.
// TF32 rounds in and A as the tiled TF32 path does, so the precision's meaning does not depend on
// the path.
template <bool FLIP, bool TF32>
__global__ void conv1x1_thin_kernel(float* __restrict__ out, const float* __restrict__ in,
                                    const float* __restrict__ w, const float* __restrict__ bias, int N, int R,
                                    int64_t HW, int M) {
  const int m0 = blockIdx.y * kThinRows;
  const int64_t Q = int64_t(N) * HW;
  for (int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; q < Q; q += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = q / HW, p = q - n * HW;
    const float* in_q = in + n * R * HW + p;
    float acc[kThinRows] = {};
    for (int r = 0; r < R; ++r) {
      const float v = TF32 ? round_to_tf32(in_q[int64_t(r) * HW]) : in_q[int64_t(r) * HW];
#pragma unroll
      for (int g = 0; g < kThinRows; ++g) {
        const int m = m0 + g;
        if (m >= M) break;
        const float a = __ldg(&w[FLIP ? int64_t(r) * M + m : int64_t(m) * R + r]);
        acc[g] = fmaf(TF32 ? round_to_tf32(a) : a, v, acc[g]);
      }
    }
#pragma unroll
    for (int g = 0; g < kThinRows; ++g) {
      const int m = m0 + g;
      if (m >= M) break;
      out[(n * M + m) * HW + p] = acc[g] + (bias ? bias[m] : 0.f);
    }
  }
}

// Backward-weight: dy (K, Q) * Xcol^T (Q, R) over the pixel chunk [blockIdx.z * chunk, +chunk).
// With one chunk the tile is added into dw (K, R); with several, chunk z's tile is stored into
// partials[z] (K, R) for add_chunks_kernel. Grid: x over R / BN column tiles, y over K / BM, z over
// chunks.
// Every thread loads for one fixed pixel of each slice (t % 8), walked forward by a cursor
// (n, i, j) instead of dividing, and both its A value (dy) and its B values (x taps) use it.
template <int KS, int TN>
__global__ void __launch_bounds__(kThreads) conv_wgrad_kernel(float* __restrict__ dw, float* __restrict__ partials,
                                                              const float* __restrict__ dy,
                                                              const float* __restrict__ x, int N, int C, int H,
                                                              int W, int K, int64_t chunk) {
  constexpr int KK = KS * KS, P = KS / 2, BN = 16 * TN;
  constexpr int kBPerThread = BK * BN / kThreads;  // = BN / 32
  __shared__ __align__(16) implicit_gemm::Tiles<BM, TN, kPad> tiles;

  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  const int HW = H * W, R = C * KK;
  const int64_t Q = int64_t(N) * HW;
  const int m0 = blockIdx.y * BM, r0 = blockIdx.x * BN;
  const int64_t q_begin = int64_t(blockIdx.z) * chunk, q_end = q_begin + chunk < Q ? q_begin + chunk : Q;

  // This thread's reduction row within a slice, and its columns: rows m0 + lane_col + 32 s of dy
  // for A, taps r0 + lane_col + 32 s of x for B.
  const int kk = t % BK, lane_col = t / BK;
  int tap_c[kBPerThread], tap_du[kBPerThread], tap_dv[kBPerThread];
  bool tap_valid[kBPerThread];
#pragma unroll
  for (int s = 0; s < kBPerThread; ++s) {
    const int r = r0 + lane_col + 32 * s;
    tap_valid[s] = r < R;
    const int c = r / KK, tap = r - c * KK, u = tap / KS;
    tap_c[s] = c;
    tap_du[s] = u - P;
    tap_dv[s] = tap - u * KS - P;
  }

  // Pixel cursor for q = q_begin + kk + BK * step.
  int64_t q = q_begin + kk;
  int n, i, j;
  {
    const int64_t start = q < Q ? q : Q;  // a pixel past the end is never loaded
    n = int(start / HW);
    const int pix = int(start - int64_t(n) * HW);
    i = pix / W;
    j = pix - i * W;
  }
  auto advance = [&]() {
    q += BK;
    j += BK;
    while (j >= W) {
      j -= W;
      if (++i == H) {
        i = 0;
        ++n;
      }
    }
  };

  float a_reg[2], b_reg[kBPerThread];
  auto fetch = [&]() {
    const bool valid = q < q_end;
#pragma unroll
    for (int s = 0; s < 2; ++s) {
      const int m = m0 + lane_col + 32 * s;
      a_reg[s] = valid && m < K ? __ldg(&dy[(int64_t(n) * K + m) * HW + i * W + j]) : 0.f;
    }
#pragma unroll
    for (int s = 0; s < kBPerThread; ++s) {
      const int ii = i + tap_du[s], jj = j + tap_dv[s];
      float value = 0.f;
      if (valid && tap_valid[s] && ii >= 0 && ii < H && jj >= 0 && jj < W)
        value = __ldg(&x[(int64_t(n) * C + tap_c[s]) * HW + ii * W + jj]);
      b_reg[s] = value;
    }
  };
  auto store = [&](int buffer) {
#pragma unroll
    for (int s = 0; s < 2; ++s) tiles.a[buffer][kk][lane_col + 32 * s] = a_reg[s];
#pragma unroll
    for (int s = 0; s < kBPerThread; ++s) tiles.b[buffer][kk][lane_col + 32 * s] = b_reg[s];
  };

  float acc[4][TN] = {};
  const int64_t steps = q_end > q_begin ? (q_end - q_begin + BK - 1) / BK : 0;
  fetch();
  store(0);
  __syncthreads();
  for (int64_t step = 0; step < steps; ++step) {
    const int current = int(step & 1);
    const bool more = step + 1 < steps;
    if (more) {
      advance();
      fetch();
    }
    multiply_slice<BM, TN>(acc, tiles.a[current], tiles.b[current], ty, tx);
    if (more) store(current ^ 1);
    __syncthreads();
  }

  // Each (m, r) belongs to one block of this chunk, so no two threads write one element.
  const bool split = gridDim.z > 1;
  float* out = split ? partials + int64_t(blockIdx.z) * K * R : dw;
#pragma unroll
  for (int a = 0; a < 4; ++a) {
    const int m = m0 + ty * 4 + a;
    if (m >= K) continue;
#pragma unroll
    for (int b = 0; b < TN; ++b) {
      const int r = r0 + (b / 4) * 64 + tx * 4 + b % 4;
      if (r >= R) continue;
      if (split) out[int64_t(m) * R + r] = acc[a][b];
      else out[int64_t(m) * R + r] += acc[a][b];
    }
  }
}

// dw[e] += partials[0][e] + partials[1][e] + ... in chunk order (elements = K * R).
__global__ void add_chunks_kernel(float* dw, const float* __restrict__ partials, int64_t elements, int64_t chunks) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < elements;
       e += int64_t(gridDim.x) * blockDim.x) {
    float sum = 0.f;
    for (int64_t z = 0; z < chunks; ++z) sum += partials[z * elements + e];
    dw[e] += sum;
  }
}

void check_ksize(int ksize, const char* what) {
  if (ksize != 1 && ksize != 3)
    throw std::invalid_argument(std::string(what) + ": kernel size must be 1 or 3, got " + std::to_string(ksize));
}

// The weight gradient's tile (wide when the R = C*KK columns fill it) and pixel chunks: about 4
// blocks per multiprocessor, each chunk at least 512 pixels (so a chunk's partial tile stays a
// small fraction of its arithmetic).
struct WgradPlan {
  int tile_columns;
  int64_t chunk, chunks;  // pixels per chunk (a multiple of BK), and chunks = ceil(Q / chunk)
};

WgradPlan wgrad_plan(int64_t Q, int R, int K) {
  const int BN = R >= 128 ? 128 : 64;
  const int64_t tiles = int64_t((R + BN - 1) / BN) * ((K + BM - 1) / BM);
  const int64_t wanted = std::max<int64_t>(1, 4 * multiprocessor_count() / tiles);
  const int64_t splits = std::clamp<int64_t>(wanted, 1, std::max<int64_t>(1, Q / 512));
  const int64_t chunk = ((Q + splits - 1) / splits + BK - 1) / BK * BK;
  return {BN, chunk, (Q + chunk - 1) / chunk};  // rounding the chunk up may leave fewer chunks
}

template <int KS>
void launch_conv_wgrad(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                       cudaStream_t stream) {
  const int64_t Q = int64_t(N) * H * W;
  const int R = C * KS * KS;
  const WgradPlan plan = wgrad_plan(Q, R, K);
  const int64_t elements = int64_t(K) * R;
  // The chunks' partial tiles live in stream-ordered memory of this call only.
  float* partials = nullptr;
  if (plan.chunks > 1)
    SEQNET_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials), plan.chunks * elements * sizeof(float),
                                      stream));
  const dim3 grid(unsigned((R + plan.tile_columns - 1) / plan.tile_columns), unsigned((K + BM - 1) / BM),
                  unsigned(plan.chunks));
  if (plan.tile_columns == 128)
    conv_wgrad_kernel<KS, 8><<<grid, kThreads, 0, stream>>>(dw, partials, dy, x, N, C, H, W, K, plan.chunk);
  else
    conv_wgrad_kernel<KS, 4><<<grid, kThreads, 0, stream>>>(dw, partials, dy, x, N, C, H, W, K, plan.chunk);
  SEQNET_CUDA_CHECK_LAUNCH();
  if (plan.chunks > 1) {
    add_chunks_kernel<<<grid_stride_blocks(elements), kBlockThreads, 0, stream>>>(dw, partials, elements,
                                                                                  plan.chunks);
    SEQNET_CUDA_CHECK_LAUNCH();
    SEQNET_CUDA_CHECK(cudaFreeAsync(partials, stream));
  }
}

// Forward and backward-input GEMMs: FFMA (fp32) or tensor cores (tf32).
enum class Precision { fp32, tf32 };

// 1x1 with at most kThinRows channels on one side: the thin kernel, not a tile.
bool thin(int ksize, int M, int R) { return ksize == 1 && std::min(M, R) <= kThinRows; }

template <bool FLIP, bool TF32>
void launch_thin(float* out, const float* in, const float* w, const float* bias, int N, int R, int64_t HW, int M,
                 cudaStream_t stream) {
  const dim3 grid(unsigned(grid_stride_blocks(int64_t(N) * HW)), unsigned((M + kThinRows - 1) / kThinRows));
  conv1x1_thin_kernel<FLIP, TF32><<<grid, kBlockThreads, 0, stream>>>(out, in, w, bias, N, R, HW, M);
  SEQNET_CUDA_CHECK_LAUNCH();
}

// out (N, M, H, W) from in (N, Cin, H, W): forward (FLIP false, M = K) or backward-input (FLIP
// true, Cin = K, M = C).
template <bool FLIP, bool TF32>
void conv_gemm(float* out, const float* in, const float* w, const float* bias, int N, int Cin, int H, int W, int M,
               int ksize, cudaStream_t stream) {
  const int R = Cin * ksize * ksize;
  if (thin(ksize, M, R)) return launch_thin<FLIP, TF32>(out, in, w, bias, N, R, int64_t(H) * W, M, stream);
  const GemmArgs args{out, in, w, bias, N, Cin, H, W, M, R};
  if (ksize == 3)
    implicit_gemm::gemm<Conv<3, FLIP>, TF32>(args, stream);
  else
    implicit_gemm::gemm<Conv<1, FLIP>, TF32>(args, stream);
}

void forward(Precision precision, float* y, const float* x, const float* w, const float* b, int N, int C, int H,
             int W, int K, int ksize, cudaStream_t stream) {
  check_ksize(ksize, "conv2d_forward");
  if (int64_t(N) * H * W == 0 || K == 0) return;
  if (precision == Precision::tf32)
    conv_gemm<false, true>(y, x, w, b, N, C, H, W, K, ksize, stream);
  else
    conv_gemm<false, false>(y, x, w, b, N, C, H, W, K, ksize, stream);
}

void backward_input(Precision precision, float* dx, const float* dy, const float* w, int N, int C, int H, int W,
                    int K, int ksize, cudaStream_t stream) {
  check_ksize(ksize, "conv2d_backward_input");
  if (int64_t(N) * H * W == 0 || C == 0) return;
  if (precision == Precision::tf32)
    conv_gemm<true, true>(dx, dy, w, nullptr, N, K, H, W, C, ksize, stream);
  else
    conv_gemm<true, false>(dx, dy, w, nullptr, N, K, H, W, C, ksize, stream);
}

// The launch shape of out (M rows) from in (Cin channels) on N x H x W.
ConvLaunchShape gemm_launch_shape(int N, int Cin, int H, int W, int M, int ksize) {
  const int R = Cin * ksize * ksize;
  if (thin(ksize, M, R)) return {0, 0, 1, true};
  const implicit_gemm::GemmPlan plan = implicit_gemm::gemm_plan(int64_t(N) * H * W, M, R);
  return {plan.rows, plan.columns, plan.splits, false};
}

}  // namespace

void conv2d_forward(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                    int ksize, cudaStream_t stream) {
  forward(Precision::fp32, y, x, w, b, N, C, H, W, K, ksize, stream);
}

void conv2d_forward_tf32(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                         int ksize, cudaStream_t stream) {
  forward(Precision::tf32, y, x, w, b, N, C, H, W, K, ksize, stream);
}

void conv2d_backward_input(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K, int ksize,
                           cudaStream_t stream) {
  backward_input(Precision::fp32, dx, dy, w, N, C, H, W, K, ksize, stream);
}

void conv2d_backward_input_tf32(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K,
                                int ksize, cudaStream_t stream) {
  backward_input(Precision::tf32, dx, dy, w, N, C, H, W, K, ksize, stream);
}

void conv2d_backward_weight(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                            int ksize, cudaStream_t stream) {
  check_ksize(ksize, "conv2d_backward_weight");
  if (int64_t(N) * H * W == 0 || K == 0 || C == 0) return;
  if (ksize == 3)
    launch_conv_wgrad<3>(dw, dy, x, N, C, H, W, K, stream);
  else
    launch_conv_wgrad<1>(dw, dy, x, N, C, H, W, K, stream);
}

ConvLaunchShape conv2d_forward_launch_shape(int N, int C, int H, int W, int K, int ksize) {
  check_ksize(ksize, "conv2d_forward_launch_shape");
  return gemm_launch_shape(N, C, H, W, K, ksize);
}

ConvLaunchShape conv2d_backward_input_launch_shape(int N, int C, int H, int W, int K, int ksize) {
  check_ksize(ksize, "conv2d_backward_input_launch_shape");
  return gemm_launch_shape(N, K, H, W, C, ksize);
}

ConvLaunchShape conv2d_backward_weight_launch_shape(int N, int C, int H, int W, int K, int ksize) {
  check_ksize(ksize, "conv2d_backward_weight_launch_shape");
  const WgradPlan plan = wgrad_plan(int64_t(N) * H * W, C * ksize * ksize, K);
  return {BM, plan.tile_columns, plan.chunks, false};
}

}  // namespace seqnet::cuda
