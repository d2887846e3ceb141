// conv2d.cu: the custom convolutions of conv2d.h as implicit GEMMs on shared-memory tiles
// (no cuDNN, no cuBLAS). p = ks/2, Q = N*H*W pixels, KK = ks*ks taps.
//
// Forward          Y (K, Q) = Wm (K, C*KK) * Xcol (C*KK, Q)
//                  Wm[k][(c,u,v)] = w[k,c,u,v]; Xcol[(c,u,v)][(n,i,j)] = x[n,c,i+u-p,j+v-p] (0 outside);
//                  the GPU orders the reduction (u,v) outer, c inner (Conv below).
//                  Xcol is never stored: each tile of it is gathered from x as it is loaded.
// Backward-input   the same GEMM on dy: dX (C, Q) = Wf (C, K*KK) * dYcol (K*KK, Q) with
//                  Wf[c][(k,u',v')] = w[k,c,ks-1-u',ks-1-v'] (channels swapped, taps flipped), since
//                  dy[n,k,i-u+p,j-v+p] = dy[n,k,i+u'-p,j+v'-p] for u' = ks-1-u (ks-1 = 2p).
// Backward-weight  dW (K, C*KK) += dY (K, Q) * Xcol^T (Q, C*KK): the reduction runs over the Q
//                  pixels, so it is cut into chunks, one per grid z, whose partial tiles are stored
//                  apart and then added into dw in chunk order (not with atomics), so two runs give
//                  the same bits.
//
// Evaluation's Conv2d -> BatchNorm2d -> ReLU (conv2d_batchnorm_relu_eval) is the forward with
// the normalisation and ReLU in the GEMM's epilogue (implicit_gemm.cuh), on the sums in registers.
//
// All three run on implicit_gemm.cuh: forward and backward-input on its GEMM (the 32-row tile for
// <= 32 output channels, split-K, the TF32 path) with the Conv op below, the weight gradient on
// its pixel-chunked GEMM (32- or 64-row tile) with ConvTaps. 1x1 convolutions where either side has at most
// kThinRows channels (SeqNet's 32 > 1 or 2 channel heads, and their input gradients) skip the
// tiles, which they would leave 94-98% empty: conv1x1_thin_kernel (forward, backward-input), one
// thread per pixel, and conv1x1_thin_wgrad_kernel (weight gradient), dot products over pixels.
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

using implicit_gemm::GemmArgs;
using implicit_gemm::WgradArgs;

constexpr int kThinRows = 4;   // output rows per thread of the thin 1x1 path, and its threshold
constexpr int kThinColumns = 8;  // large-side channels per block of the thin 1x1 weight gradient
constexpr int64_t kThinMinChunk = 2048;  // pixels per block of it at least (8 per thread)

// The reduction of the forward and backward-input GEMMs is ordered taps outer, channels inner:
// r = tap * Cp + c, tap = u KS + v, with the channels padded to Cp = padded_channels(Cin) = BK *
// ceil(Cin / BK) (rows c >= Cin are zero). A step's BK rows are then BK channels of one tap, so
// the tap, its pixel offset and whether the thread's pixel moved by it is inside the image are
// found once per step (Conv::next, implicit_gemm's next_tap_slice), not per element; each gathered element is one
// add and one load. Padding costs a little at small Cin (3 input channels: 27 products per output
// become 72 zero-padded ones; the input layer is <1% of the model's multiply-adds).
using implicit_gemm::padded_channels;

// The convolution's operands for implicit_gemm (forward: FLIP false, in = x (N, C, H, W),
// M = K; backward-input: FLIP true, in = dy (N, K, H, W), M = C). R = KK * padded_channels(Cin).
template <int KS, bool FLIP>
struct Conv {
  static constexpr int KK = KS * KS, P = KS / 2;
  static constexpr bool kFullSteps = true;  // R = KK Cp, a multiple of BK
  static constexpr bool kBatchNormRelu = !FLIP;  // the forward's epilogue may normalise
  static constexpr int kWideBlocks = 4;
  struct Column {
    const float* pixel;  // in[n, 0, i, j]
    uint32_t inside;     // bit tap: pixel (i + u - P, j + v - P) is in the image
  };
  static __device__ Column column(const GemmArgs& g, int64_t q) {
    const int HW = g.H * g.W;
    const int n = int(q / HW), pix = int(q - int64_t(n) * HW), i = pix / g.W, j = pix - i * g.W;
    uint32_t inside = 0;
#pragma unroll
    for (int tap = 0; tap < KK; ++tap) {
      const int ii = i + tap / KS - P, jj = j + tap % KS - P;
      if (ii >= 0 && ii < g.H && jj >= 0 && jj < g.W) inside |= 1u << tap;
    }
    return {g.in + int64_t(n) * g.Cin * HW + pix, inside};
  }
  // Rows r0 .. r0 + BK - 1: channels c0 .. c0 + BK - 1 of tap (u, v), and where they are in w
  // and in the map, advanced by next(): a and b only add k times a stride.
  struct Slice {
    int c0, tap, u, v;
    int a_offset;  // of Wm[0][(tap, c0)] in w: c0 KK + tap (forward), c0 M KK + KK - 1 - tap (FLIP)
    int b_offset;  // of in[n, c0, i + u - P, j + v - P] from Column::pixel
  };
  static __device__ int a_channel_stride(const GemmArgs& g) { return FLIP ? g.M * KK : KK; }
  static __device__ Slice at_tap(const GemmArgs& g, int c0, int tap) {
    const int u = tap / KS, v = tap % KS;
    return {c0, tap, u, v, c0 * a_channel_stride(g) + (FLIP ? KK - 1 - tap : tap),
            c0 * g.H * g.W + (u - P) * g.W + (v - P)};
  }
  static __device__ int b_channel_stride(const GemmArgs& g) { return g.H * g.W; }
  static __device__ Slice slice(const GemmArgs& g, int r0) { return implicit_gemm::first_tap_slice<Conv>(g, r0); }
  static __device__ void next(const GemmArgs& g, Slice& s) { implicit_gemm::next_tap_slice<Conv>(g, s); }
  // Wm[m][(tap, c)] = w[m, c, tap] (forward) or Wf[m][(tap, k)] = w[k, m, KK - 1 - tap] (backward-input).
  struct Row {
    int offset;  // of w[m, 0, 0] (forward) or w[0, m, 0] (FLIP) in w: < 2^31, as w's size is
  };
  static __device__ Row row(const GemmArgs& g, int m) { return {FLIP ? m * KK : m * g.Cin * KK}; }
  // A(m, r0 + k) = a_row_source(row, k)[a_slice_offset(s)] for k < a_count(s) (the channels
  // left from c0), else 0: split so that the row's part is found once (the TF32 tile's copies).
  static __device__ int a_count(const GemmArgs& g, const Slice& s) { return g.Cin - s.c0; }
  static __device__ const float* a_row_source(const GemmArgs& g, const Row& row, int k) {
    return g.w + (row.offset + k * a_channel_stride(g));
  }
  static __device__ int a_slice_offset(const Slice& s) { return s.a_offset; }
  // A(m, r0 + k) = a_source(..)[0] where a_present, else 0 (padding channels); row m + 1 is KK C
  // (forward) or KK (FLIP) floats on.
  static __device__ bool a_present(const GemmArgs& g, const Slice& s, int k) { return k < a_count(g, s); }
  static __device__ const float* a_source(const GemmArgs& g, const Slice& s, const Row& row, int, int k) {
    return g.w + (row.offset + s.a_offset + k * a_channel_stride(g));
  }
  static __device__ int a_row_stride(const GemmArgs& g) { return FLIP ? KK : g.Cin * KK; }
  // Xcol[(tap, c)][q] = in[n, c, i+u-p, j+v-p], 0 outside the image: channels c0 .. c0 + rows - 1
  // of the tap's pixel, rows = 0 when it is outside, else the channels left (BK but at the padding).
  struct Gather {
    const float* pixel;  // in[n, c0, i + u - P, j + v - P]
    int rows;
    int HW;
  };
  static __device__ Gather gather(const GemmArgs& g, const Slice& s, const Column& col, int, int rows) {
    const int channels_left = g.Cin - s.c0;
    return {col.pixel + s.b_offset, col.inside >> s.tap & 1 ? (rows < channels_left ? rows : channels_left) : 0,
            g.H * g.W};
  }
  // B(r0 + k, q) = b_source(x, k)[0] for k < b_count(x), else 0.
  static __device__ int b_count(const Gather& x) { return x.rows; }
  static __device__ const float* b_source(const Gather& x, int k) { return x.pixel + k * x.HW; }
  static __device__ int b_row_stride(const GemmArgs& g) { return g.H * g.W; }  // b_source(x, k + 1) - b_source(x, k)
  static __device__ int64_t out_index(const GemmArgs& g, int n, int p, int m) {
    return (int64_t(n) * g.M + m) * g.H * g.W + p;
  }
  static __device__ int bias_index(const GemmArgs&, int m) { return m; }
};

// The weight gradient's B for implicit_gemm::wgrad: dW (K, C*KK) += dY (K, Q) * Xcol^T, column
// r = (c, u, v) of Xcol^T at pixel (n, i, j) being x[n, c, i+u-p, j+v-p] (0 outside). a = dy, b = x.
template <int KS>
struct ConvTaps {
  static constexpr int KK = KS * KS, P = KS / 2;
  struct Tap {
    int offset;  // of x[n, c, i + u - P, j + v - P] from x[n, 0, i, j]: c HW + (u - P) W + (v - P)
    int tap;     // u KS + v: its bit in Pixel::inside
  };
  static __device__ Tap tap(const WgradArgs& g, int r) {
    const int c = r / KK, uv = r - c * KK, u = uv / KS;
    return {c * g.H * g.W + (u - P) * g.W + (uv - u * KS - P), uv};
  }
  struct Pixel {
    const float* x;   // x[n, 0, i, j]
    uint32_t inside;  // bit u KS + v: pixel (i + u - P, j + v - P) is in the image
  };
  // (i, j) is a pixel of the image (0 <= i < H, 0 <= j < W: the wgrad cursor's), so only the
  // moved rows and columns need a test, each on one side: row i + u - P is inside when u < P ?
  // i >= P - u : i + u - P < H, and likewise the columns.
  static __device__ Pixel pixel(const WgradArgs& g, int n, int i, int j) {
    uint32_t rows = 0, columns = 0;  // bit u: row i + u - P inside; bit v: column j + v - P inside
#pragma unroll
    for (int d = 0; d < KS; ++d) {
      rows |= uint32_t(d < P ? i >= P - d : d > P ? i + d - P < g.H : true) << d;
      columns |= uint32_t(d < P ? j >= P - d : d > P ? j + d - P < g.W : true) << d;
    }
    uint32_t inside = 0;
#pragma unroll
    for (int u = 0; u < KS; ++u) inside |= (rows >> u & 1 ? columns : 0u) << (u * KS);
    return {g.b + int64_t(n) * g.Cb * g.H * g.W + i * g.W + j, inside};
  }
  static __device__ float b(const WgradArgs&, const Tap& t, const Pixel& p) {
    return p.inside >> t.tap & 1 ? __ldg(p.x + t.offset) : 0.f;
  }
};

// The 1x1 convolution out (N, M, HW) = A (M, R) * in (N, R, HW) (+ bias) when M or R is at most
// kThinRows: A[m][r] = w[m, r] (forward, w (K, C)) or w[r, m] (backward-input, FLIP). One thread
// per pixel and group of kThinRows output rows (grid y): it reads its pixel's R values once and
// writes kThinRows outputs, so the pass is bound by memory traffic (in read M / kThinRows times,
// which is at most R <= kThinRows times when M is the large side), not by a mostly empty tile.
// TF32 rounds in and A as the tiled TF32 path does, so the precision's meaning does not depend on
// the path. The epilogue (bias, then bn_relu when set) is the tiled path's.
template <bool FLIP, bool TF32>
__global__ void conv1x1_thin_kernel(float* __restrict__ out, const float* __restrict__ in,
                                    const float* __restrict__ w, const float* __restrict__ bias,
                                    const float4* __restrict__ bn_relu, int N, int R, int64_t HW, int M) {
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
      out[(n * M + m) * HW + p] = implicit_gemm::batchnorm_relu(bn_relu, m, acc[g] + (bias ? bias[m] : 0.f));
    }
  }
}

// The 1x1 weight gradient dw (K, C) += sum over the Q pixels of dy (N, K, HW) x (N, C, HW)^T when K
// or C is at most kThinRows: K*C dot products over Q, which a 32-row tile would leave 94-97% empty.
// `small` is the map with S <= kThinRows channels, `large` the other (L channels); SMALL_IS_DY says
// which is dy, i.e. whether dw[s, l] or dw[l, s]. Block (z, y) takes pixel chunk z and the large
// channels y*kThinColumns + (0..kThinColumns-1): each thread reads a pixel's S + kThinColumns
// values once and keeps the S x kThinColumns products' sums in registers; the block adds its
// threads' sums (warp shuffles, then the warps' sums in warp order) and adds them into dw (one
// chunk) or stores them in its chunk's slice of partials (several: added in chunk order
// afterwards, as the tiled weight gradient does). Deterministic; bound by memory traffic (x read
// once, dy once per group of kThinColumns channels).
template <bool SMALL_IS_DY>
__global__ void conv1x1_thin_wgrad_kernel(float* __restrict__ dw, float* __restrict__ partials,
                                          const float* __restrict__ small, const float* __restrict__ large, int N,
                                          int S, int L, int64_t HW, int64_t chunk) {
  const int l0 = blockIdx.y * kThinColumns;
  const int64_t Q = int64_t(N) * HW, q_begin = int64_t(blockIdx.x) * chunk;
  const int64_t q_end = q_begin + chunk < Q ? q_begin + chunk : Q;
  float acc[kThinRows][kThinColumns] = {};
  for (int64_t q = q_begin + threadIdx.x; q < q_end; q += blockDim.x) {
    const int64_t n = q / HW, p = q - n * HW;
    float a[kThinRows], b[kThinColumns];
#pragma unroll
    for (int s = 0; s < kThinRows; ++s) a[s] = s < S ? small[(n * S + s) * HW + p] : 0.f;
#pragma unroll
    for (int l = 0; l < kThinColumns; ++l) b[l] = l0 + l < L ? large[(n * L + l0 + l) * HW + p] : 0.f;
#pragma unroll
    for (int s = 0; s < kThinRows; ++s)
#pragma unroll
      for (int l = 0; l < kThinColumns; ++l) acc[s][l] = fmaf(a[s], b[l], acc[s][l]);
  }
  __shared__ float warp_sums[kBlockThreads / 32][kThinRows * kThinColumns];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int s = 0; s < kThinRows; ++s)
#pragma unroll
    for (int l = 0; l < kThinColumns; ++l) {
      float v = acc[s][l];
      for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
      if (lane == 0) warp_sums[warp][s * kThinColumns + l] = v;
    }
  __syncthreads();
  const int e = threadIdx.x, s = e / kThinColumns, l = l0 + e % kThinColumns;
  if (e < kThinRows * kThinColumns && s < S && l < L) {
    float total = 0.f;
    for (int w = 0; w < int(blockDim.x) / 32; ++w) total += warp_sums[w][e];
    const int64_t index = SMALL_IS_DY ? int64_t(s) * L + l : int64_t(l) * S + s;  // in dw (K, C)
    if (gridDim.x == 1) dw[index] += total;
    else partials[int64_t(blockIdx.x) * S * L + index] = total;
  }
}

void check_ksize(int ksize, const char* what) {
  if (ksize != 1 && ksize != 3)
    throw std::invalid_argument(std::string(what) + ": kernel size must be 1 or 3, got " + std::to_string(ksize));
}

// Forward and backward-input GEMMs: FFMA (fp32) or tensor cores (tf32).
enum class Precision { fp32, tf32 };

// 1x1 with at most kThinRows channels on one side: the thin kernel, not a tile.
bool thin(int ksize, int M, int R) { return ksize == 1 && std::min(M, R) <= kThinRows; }

template <bool FLIP, bool TF32>
void launch_thin(float* out, const float* in, const float* w, const float* bias, const float4* bn_relu, int N, int R,
                 int64_t HW, int M, cudaStream_t stream) {
  const dim3 grid(unsigned(grid_stride_blocks(int64_t(N) * HW)), unsigned((M + kThinRows - 1) / kThinRows));
  conv1x1_thin_kernel<FLIP, TF32><<<grid, kBlockThreads, 0, stream>>>(out, in, w, bias, bn_relu, N, R, HW, M);
  SEQNET_CUDA_CHECK_LAUNCH();
}

// out[i] = round_to_tf32(in[i]) for i < n.
__global__ void round_to_tf32_kernel(float* out, const float* __restrict__ in, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = round_to_tf32(in[i]);
}

// out (N, M, H, W) from in (N, Cin, H, W): forward (FLIP false, M = K) or backward-input (FLIP
// true, Cin = K, M = C); the forward's epilogue may add batch-norm and ReLU (bn_relu).
template <bool FLIP, bool TF32>
void conv_gemm(float* out, const float* in, const float* w, const float* bias, const float4* bn_relu, int N, int Cin,
               int H, int W, int M, int ksize, cudaStream_t stream) {
  const int R = Cin * ksize * ksize;
  if (thin(ksize, M, R)) return launch_thin<FLIP, TF32>(out, in, w, bias, bn_relu, N, R, int64_t(H) * W, M, stream);
  // Conv's gather offsets within one image are 32-bit.
  if (int64_t(padded_channels(Cin)) * H * W >= int64_t(1) << 31)
    throw std::invalid_argument("conv2d (CUDA): " + std::to_string(Cin) + " channels of " + std::to_string(H) + "x" +
                                std::to_string(W) + " are 2^31 values or more per image; use smaller images");
  // TF32: the weights rounded once into stream-ordered memory of this call (the tile then rounds
  // only its gathered B values: a third fewer roundings per step on the 64 x 128 tile).
  float* rounded = nullptr;
  const int64_t weights = int64_t(M) * R;
  if constexpr (TF32) {
    SEQNET_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&rounded), weights * sizeof(float), stream));
    round_to_tf32_kernel<<<grid_stride_blocks(weights), kBlockThreads, 0, stream>>>(rounded, w, weights);
    SEQNET_CUDA_CHECK_LAUNCH();
  }
  const GemmArgs args{out, in, TF32 ? rounded : w, bias, N, Cin, H, W, M, ksize * ksize * padded_channels(Cin),
                      bn_relu};
  if (ksize == 3)
    implicit_gemm::gemm<Conv<3, FLIP>, TF32>(args, stream);
  else
    implicit_gemm::gemm<Conv<1, FLIP>, TF32>(args, stream);
  if constexpr (TF32) SEQNET_CUDA_CHECK(cudaFreeAsync(rounded, stream));
}

void forward(Precision precision, float* y, const float* x, const float* w, const float* b, const float4* bn_relu,
             int N, int C, int H, int W, int K, int ksize, cudaStream_t stream) {
  check_ksize(ksize, "conv2d_forward");
  if (int64_t(N) * H * W == 0 || K == 0) return;
  if (precision == Precision::tf32)
    conv_gemm<false, true>(y, x, w, b, bn_relu, N, C, H, W, K, ksize, stream);
  else
    conv_gemm<false, false>(y, x, w, b, bn_relu, N, C, H, W, K, ksize, stream);
}

// (mean, scale, beta) of the epilogue per channel, scale = gamma / sqrt(var + eps) in double as
// the CPU op computes it.
__global__ void batchnorm_relu_coefficients_kernel(float4* coefficients, const float* gamma, const float* beta,
                                                   const float* running_mean, const float* running_var, int K,
                                                   double eps) {
  for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < K; k += gridDim.x * blockDim.x)
    coefficients[k] = make_float4(running_mean[k], float(double(gamma[k]) / sqrt(double(running_var[k]) + eps)),
                                  beta[k], 0.f);
}

void forward_batchnorm_relu(Precision precision, float* y, const float* x, const float* w, const float* b,
                            const float* gamma, const float* beta, const float* running_mean,
                            const float* running_var, double eps, int N, int C, int H, int W, int K, int ksize,
                            cudaStream_t stream) {
  check_ksize(ksize, "conv2d_batchnorm_relu_eval");
  if (int64_t(N) * H * W == 0 || K == 0) return;
  // The coefficients live in stream-ordered memory of this call only.
  float4* coefficients = nullptr;
  SEQNET_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&coefficients), size_t(K) * sizeof(float4), stream));
  const int blocks = (K + kBlockThreads - 1) / kBlockThreads;
  batchnorm_relu_coefficients_kernel<<<blocks, kBlockThreads, 0, stream>>>(coefficients, gamma, beta, running_mean,
                                                                            running_var, K, eps);
  SEQNET_CUDA_CHECK_LAUNCH();
  forward(precision, y, x, w, b, coefficients, N, C, H, W, K, ksize, stream);
  SEQNET_CUDA_CHECK(cudaFreeAsync(coefficients, stream));
}

void backward_input(Precision precision, float* dx, const float* dy, const float* w, int N, int C, int H, int W,
                    int K, int ksize, cudaStream_t stream) {
  check_ksize(ksize, "conv2d_backward_input");
  if (int64_t(N) * H * W == 0 || C == 0) return;
  if (precision == Precision::tf32)
    conv_gemm<true, true>(dx, dy, w, nullptr, nullptr, N, K, H, W, C, ksize, stream);
  else
    conv_gemm<true, false>(dx, dy, w, nullptr, nullptr, N, K, H, W, C, ksize, stream);
}

// The thin weight gradient's pixel chunks: about one wave of blocks over the groups of
// kThinColumns large-side channels (2 blocks per multiprocessor: ptxas gives the kernel 92
// registers), at least kThinMinChunk pixels each.
struct ThinWgradPlan {
  int64_t chunk, chunks;
  int groups;
};

ThinWgradPlan thin_wgrad_plan(int64_t Q, int L) {
  const int groups = (L + kThinColumns - 1) / kThinColumns;
  const int64_t wanted = std::max<int64_t>(1, 2 * int64_t(multiprocessor_count()) / groups);
  const int64_t chunks = std::clamp<int64_t>(wanted, 1, std::max<int64_t>(1, Q / kThinMinChunk));
  const int64_t chunk = (Q + chunks - 1) / chunks;
  return {chunk, (Q + chunk - 1) / chunk, groups};
}

// dw (K, C) += dy x^T for a 1x1 convolution with K or C at most kThinRows.
void thin_backward_weight(float* dw, const float* dy, const float* x, int N, int C, int64_t HW, int K,
                          cudaStream_t stream) {
  const bool small_is_dy = K <= kThinRows;
  const int S = small_is_dy ? K : C, L = small_is_dy ? C : K;
  const ThinWgradPlan plan = thin_wgrad_plan(int64_t(N) * HW, L);
  const int64_t elements = int64_t(K) * C;
  // The chunks' partial sums live in stream-ordered memory of this call only.
  float* partials = nullptr;
  if (plan.chunks > 1)
    SEQNET_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials), plan.chunks * elements * sizeof(float),
                                      stream));
  const dim3 grid(unsigned(plan.chunks), unsigned(plan.groups));
  if (small_is_dy)
    conv1x1_thin_wgrad_kernel<true><<<grid, kBlockThreads, 0, stream>>>(dw, partials, dy, x, N, S, L, HW, plan.chunk);
  else
    conv1x1_thin_wgrad_kernel<false><<<grid, kBlockThreads, 0, stream>>>(dw, partials, x, dy, N, S, L, HW, plan.chunk);
  SEQNET_CUDA_CHECK_LAUNCH();
  if (plan.chunks > 1) {
    const int blocks = grid_stride_blocks(elements);
    implicit_gemm::add_chunks_kernel<ConvTaps<1>><<<blocks, kBlockThreads, 0, stream>>>(dw, partials, elements,
                                                                                      plan.chunks);
    SEQNET_CUDA_CHECK_LAUNCH();
    SEQNET_CUDA_CHECK(cudaFreeAsync(partials, stream));
  }
}

// The launch shape of out (M rows) from in (Cin channels) on N x H x W, as conv_gemm plans it.
ConvLaunchShape gemm_launch_shape(int N, int Cin, int H, int W, int M, int ksize, bool tf32) {
  if (thin(ksize, M, Cin * ksize * ksize)) return {0, 0, 1, true};
  const implicit_gemm::GemmPlan plan =
      implicit_gemm::gemm_plan(int64_t(N) * H * W, M, ksize * ksize * padded_channels(Cin), tf32);
  return {plan.rows, plan.columns, plan.splits, false};
}

}  // namespace

void conv2d_forward(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                    int ksize, cudaStream_t stream) {
  forward(Precision::fp32, y, x, w, b, nullptr, N, C, H, W, K, ksize, stream);
}

void conv2d_forward_tf32(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                         int ksize, cudaStream_t stream) {
  forward(Precision::tf32, y, x, w, b, nullptr, N, C, H, W, K, ksize, stream);
}

void conv2d_batchnorm_relu_eval(float* y, const float* x, const float* w, const float* b, const float* gamma,
                                const float* beta, const float* running_mean, const float* running_var, double eps,
                                int N, int C, int H, int W, int K, int ksize, cudaStream_t stream) {
  forward_batchnorm_relu(Precision::fp32, y, x, w, b, gamma, beta, running_mean, running_var, eps, N, C, H, W, K,
                         ksize, stream);
}

void conv2d_batchnorm_relu_eval_tf32(float* y, const float* x, const float* w, const float* b, const float* gamma,
                                     const float* beta, const float* running_mean, const float* running_var,
                                     double eps, int N, int C, int H, int W, int K, int ksize, cudaStream_t stream) {
  forward_batchnorm_relu(Precision::tf32, y, x, w, b, gamma, beta, running_mean, running_var, eps, N, C, H, W, K,
                         ksize, stream);
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
  if (thin(ksize, K, C)) return thin_backward_weight(dw, dy, x, N, C, int64_t(H) * W, K, stream);
  const WgradArgs args{dy, x, N, C, H, W, K, C * ksize * ksize};
  if (ksize == 3)
    implicit_gemm::wgrad<ConvTaps<3>>(dw, args, stream);
  else
    implicit_gemm::wgrad<ConvTaps<1>>(dw, args, stream);
}

ConvLaunchShape conv2d_forward_launch_shape(int N, int C, int H, int W, int K, int ksize, bool tf32) {
  check_ksize(ksize, "conv2d_forward_launch_shape");
  return gemm_launch_shape(N, C, H, W, K, ksize, tf32);
}

ConvLaunchShape conv2d_backward_input_launch_shape(int N, int C, int H, int W, int K, int ksize, bool tf32) {
  check_ksize(ksize, "conv2d_backward_input_launch_shape");
  return gemm_launch_shape(N, K, H, W, C, ksize, tf32);
}

ConvLaunchShape conv2d_backward_weight_launch_shape(int N, int C, int H, int W, int K, int ksize) {
  check_ksize(ksize, "conv2d_backward_weight_launch_shape");
  if (thin(ksize, K, C)) return {0, 0, thin_wgrad_plan(int64_t(N) * H * W, std::max(K, C)).chunks, true};
  const implicit_gemm::WgradPlan plan = implicit_gemm::wgrad_plan(int64_t(N) * H * W, K, C * ksize * ksize);
  return {plan.rows, plan.columns, plan.chunks, false};
}

}  // namespace seqnet::cuda
