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
// Tiling, shared by both kernels. A block of 256 threads computes a BM x BN tile of the GEMM
// output (BM = 64 rows, BN = 16*TN columns, TN = 4 or 8). The threads form a 16 x 16 grid; thread
// (ty, tx) owns the 4 rows ty*4..ty*4+3 and the TN columns g*64 + tx*4 + {0..3}, g < TN/4, so a
// warp's float4 reads of a shared row touch 64 consecutive floats (no bank conflicts) and each
// thread does 4*TN FMAs per 1 + TN/4 shared loads. The reduction advances BK = 8 per step: the
// next slice is fetched into registers while the current one is multiplied out of shared memory
// (two shared buffers, one barrier per step). Shared rows are padded by 4 floats so the
// transposing stores (8 reduction indices x 4 rows per warp) land in 32 different banks.
//
// TF32 (precision tf32, forward and backward-input): the same tiles and loads, the values rounded
// to TF32 as they are stored to shared memory, and the multiply done by tensor cores
// (mma.cuh): the 8 warps form a 2 x 4 grid, each owning a 32 x BN/4 part of the tile, i.e. 2 x
// TN/2 fragments of 16 x 8, one mma per fragment per slice (BK = 8 is one mma's k). Shared rows
// are padded by 8 floats there, so a fragment's 4 reduction rows x 8 columns hit 32 banks.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/mma.cuh"

namespace seqnet::cuda {

namespace {

constexpr int kThreads = 256;  // the 16 x 16 thread grid
constexpr int BM = 64;         // tile rows (output channels)
constexpr int BK = 8;          // reduction step
constexpr int kPad = 4;        // shared row padding, in floats (keeps float4 alignment)

constexpr int kPadTf32 = 8;    // the TF32 path's padding

template <int TN, int Pad = kPad>
struct Tiles {
  static constexpr int BN = 16 * TN;
  float a[2][BK][BM + Pad];  // a[buffer][r][m]: the A slice, stored transposed
  float b[2][BK][BN + Pad];  // b[buffer][r][q]
};

// acc (4 x TN) += A slice (BK x 4 of the thread's rows)^T * B slice (BK x TN of its columns).
template <int TN>
__device__ __forceinline__ void multiply_slice(float (&acc)[4][TN], const float (*a)[BM + kPad],
                                               const float (*b)[16 * TN + kPad], int ty, int tx) {
#pragma unroll
  for (int r = 0; r < BK; ++r) {
    const float4 a4 = *reinterpret_cast<const float4*>(&a[r][ty * 4]);
    const float av[4] = {a4.x, a4.y, a4.z, a4.w};
    float bv[TN];
#pragma unroll
    for (int g = 0; g < TN / 4; ++g) {
      const float4 b4 = *reinterpret_cast<const float4*>(&b[r][g * 64 + tx * 4]);
      bv[g * 4 + 0] = b4.x;
      bv[g * 4 + 1] = b4.y;
      bv[g * 4 + 2] = b4.z;
      bv[g * 4 + 3] = b4.w;
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
  }
}

// TF32: acc (4 x TN) += A slice^T * B slice on tensor cores for warp (warp_m, warp_n) of the 2 x 4
// grid. acc[2 mt + h][2 nt + c] is element d[2 h + c] of the fragment (mt, nt) (mma.cuh): tile row
// warp_m * 32 + mt * 16 + g + 8 h, column warp_n * 4 TN + nt * 8 + 2 t + c.
template <int TN>
__device__ __forceinline__ void multiply_slice_tf32(float (&acc)[4][TN], const float (*a)[BM + kPadTf32],
                                                    const float (*b)[16 * TN + kPadTf32], int warp_m, int warp_n,
                                                    int lane) {
  const int g = lane >> 2, t = lane & 3;
  float a_frag[2][4], b_frag[TN / 2][2];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
    const int m = warp_m * 32 + mt * 16 + g;
    a_frag[mt][0] = a[t][m];
    a_frag[mt][1] = a[t][m + 8];
    a_frag[mt][2] = a[t + 4][m];
    a_frag[mt][3] = a[t + 4][m + 8];
  }
#pragma unroll
  for (int nt = 0; nt < TN / 2; ++nt) {
    const int q = warp_n * 4 * TN + nt * 8 + g;
    b_frag[nt][0] = b[t][q];
    b_frag[nt][1] = b[t + 4][q];
  }
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int nt = 0; nt < TN / 2; ++nt) {
      float d[4] = {acc[2 * mt][2 * nt], acc[2 * mt][2 * nt + 1], acc[2 * mt + 1][2 * nt], acc[2 * mt + 1][2 * nt + 1]};
      mma_m16n8k8_tf32(d, a_frag[mt], b_frag[nt]);
      acc[2 * mt][2 * nt] = d[0];
      acc[2 * mt][2 * nt + 1] = d[1];
      acc[2 * mt + 1][2 * nt] = d[2];
      acc[2 * mt + 1][2 * nt + 1] = d[3];
    }
}

// Forward (FLIP false) and backward-input (FLIP true): out (N, M, HW) = A (M, R) * gathered in.
//   in   (N, Cin, H, W): x for forward, dy for backward-input; R = Cin * KK
//   w    (K, C, KS, KS) as stored; M = K (forward) or C (backward-input)
//   bias (M) or null
// Grid: x over Q / BN pixel tiles, y over M / BM channel tiles. TF32: tensor cores (see the top).
template <int KS, int TN, bool FLIP, bool TF32>
__global__ void __launch_bounds__(kThreads) conv_gemm_kernel(float* __restrict__ out, const float* __restrict__ in,
                                                             const float* __restrict__ w,
                                                             const float* __restrict__ bias, int N, int Cin,
                                                             int H, int W, int M) {
  constexpr int KK = KS * KS, P = KS / 2, BN = 16 * TN;
  constexpr int kBPerThread = BK * BN / kThreads;  // B elements each thread loads per step
  constexpr int kBRowStride = kThreads / BN;       // reduction rows between them
  __shared__ __align__(16) Tiles<TN, TF32 ? kPadTf32 : kPad> tiles;

  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  const int lane = t % 32, warp_m = (t / 32) % 2, warp_n = t / 64;  // TF32's warp grid
  const int HW = H * W, R = Cin * KK;
  const int64_t Q = int64_t(N) * HW;
  const int m0 = blockIdx.y * BM;
  const int64_t q0 = int64_t(blockIdx.x) * BN;

  // A loads: 2 per thread, reduction index a_r = t % 8, rows a_m + 32 s.
  const int a_r = t % BK, a_m = t / BK;
  // B loads: one fixed pixel column per thread (its image, row and column found once), rows
  // b_r + kBRowStride * s of the slice.
  const int b_q = t % BN, b_r = t / BN;
  const int64_t q = q0 + b_q;
  const bool q_valid = q < Q;
  const int n = q_valid ? int(q / HW) : 0;
  const int pix = q_valid ? int(q - int64_t(n) * HW) : 0;
  const int pi = pix / W, pj = pix - (pix / W) * W;
  const float* in_n = in + int64_t(n) * Cin * HW;

  float a_reg[2], b_reg[kBPerThread];
  auto fetch = [&](int r0) {
#pragma unroll
    for (int s = 0; s < 2; ++s) {
      const int m = m0 + a_m + 32 * s, r = r0 + a_r;
      float value = 0.f;
      if (m < M && r < R) {
        if (FLIP) {
          const int k = r / KK, tap = r - k * KK;
          value = __ldg(&w[(int64_t(k) * M + m) * KK + (KK - 1 - tap)]);
        } else {
          value = __ldg(&w[int64_t(m) * R + r]);
        }
      }
      a_reg[s] = value;
    }
#pragma unroll
    for (int s = 0; s < kBPerThread; ++s) {
      const int r = r0 + b_r + kBRowStride * s;
      const int c = r / KK, tap = r - c * KK, u = tap / KS, v = tap - u * KS;
      const int i = pi + u - P, j = pj + v - P;
      float value = 0.f;
      if (q_valid && r < R && i >= 0 && i < H && j >= 0 && j < W) value = __ldg(&in_n[int64_t(c) * HW + i * W + j]);
      b_reg[s] = value;
    }
  };
  auto store = [&](int buffer) {
#pragma unroll
    for (int s = 0; s < 2; ++s) tiles.a[buffer][a_r][a_m + 32 * s] = TF32 ? round_to_tf32(a_reg[s]) : a_reg[s];
#pragma unroll
    for (int s = 0; s < kBPerThread; ++s)
      tiles.b[buffer][b_r + kBRowStride * s][b_q] = TF32 ? round_to_tf32(b_reg[s]) : b_reg[s];
  };

  float acc[4][TN] = {};
  const int steps = (R + BK - 1) / BK;
  fetch(0);
  store(0);
  __syncthreads();
  for (int step = 0; step < steps; ++step) {
    const int current = step & 1;
    const bool more = step + 1 < steps;
    if (more) fetch((step + 1) * BK);  // global loads in flight during the multiply
    if constexpr (TF32)
      multiply_slice_tf32<TN>(acc, tiles.a[current], tiles.b[current], warp_m, warp_n, lane);
    else
      multiply_slice<TN>(acc, tiles.a[current], tiles.b[current], ty, tx);
    if (more) store(current ^ 1);  // that buffer's readers finished before the last barrier
    __syncthreads();
  }

  // acc[i][j]'s place in the tile: SIMT rows ty*4 + i, columns (j/4)*64 + tx*4 + j%4; TF32 as in
  // multiply_slice_tf32.
  const int g = lane >> 2, lane_t = lane & 3;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int m = m0 + (TF32 ? warp_m * 32 + (i / 2) * 16 + g + 8 * (i % 2) : ty * 4 + i);
    if (m >= M) continue;
    const float b = bias ? bias[m] : 0.f;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int64_t qo =
          q0 + (TF32 ? warp_n * 4 * TN + (j / 2) * 8 + 2 * lane_t + j % 2 : (j / 4) * 64 + tx * 4 + j % 4);
      if (qo >= Q) continue;
      const int64_t no = qo / HW;
      out[(no * M + m) * HW + (qo - no * HW)] = acc[i][j] + b;
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
  __shared__ __align__(16) Tiles<TN> tiles;

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
    multiply_slice<TN>(acc, tiles.a[current], tiles.b[current], ty, tx);
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

// Enough blocks to fill the chip about twice over with the wide tile, or else the narrow one.
int gemm_tile_columns(int64_t columns, int rows) {
  const int64_t wide_blocks = (columns + 127) / 128 * ((rows + BM - 1) / BM);
  return wide_blocks >= 2 * multiprocessor_count() ? 128 : 64;
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

template <int KS, int TN, bool FLIP>
void launch_conv_gemm_tile(Precision precision, float* out, const float* in, const float* w, const float* bias,
                           int N, int Cin, int H, int W, int M, cudaStream_t stream) {
  const int64_t Q = int64_t(N) * H * W, BN = 16 * TN;
  const dim3 grid(unsigned((Q + BN - 1) / BN), unsigned((M + BM - 1) / BM));
  if (precision == Precision::tf32)
    conv_gemm_kernel<KS, TN, FLIP, true><<<grid, kThreads, 0, stream>>>(out, in, w, bias, N, Cin, H, W, M);
  else
    conv_gemm_kernel<KS, TN, FLIP, false><<<grid, kThreads, 0, stream>>>(out, in, w, bias, N, Cin, H, W, M);
  SEQNET_CUDA_CHECK_LAUNCH();
}

template <int KS, bool FLIP>
void launch_conv_gemm(Precision precision, float* out, const float* in, const float* w, const float* bias, int N,
                      int Cin, int H, int W, int M, cudaStream_t stream) {
  if (gemm_tile_columns(int64_t(N) * H * W, M) == 128)
    launch_conv_gemm_tile<KS, 8, FLIP>(precision, out, in, w, bias, N, Cin, H, W, M, stream);
  else
    launch_conv_gemm_tile<KS, 4, FLIP>(precision, out, in, w, bias, N, Cin, H, W, M, stream);
}

void forward(Precision precision, float* y, const float* x, const float* w, const float* b, int N, int C, int H,
             int W, int K, int ksize, cudaStream_t stream) {
  check_ksize(ksize, "conv2d_forward");
  if (int64_t(N) * H * W == 0 || K == 0) return;
  if (ksize == 3)
    launch_conv_gemm<3, false>(precision, y, x, w, b, N, C, H, W, K, stream);
  else
    launch_conv_gemm<1, false>(precision, y, x, w, b, N, C, H, W, K, stream);
}

void backward_input(Precision precision, float* dx, const float* dy, const float* w, int N, int C, int H, int W,
                    int K, int ksize, cudaStream_t stream) {
  check_ksize(ksize, "conv2d_backward_input");
  if (int64_t(N) * H * W == 0 || C == 0) return;
  if (ksize == 3)
    launch_conv_gemm<3, true>(precision, dx, dy, w, nullptr, N, K, H, W, C, stream);
  else
    launch_conv_gemm<1, true>(precision, dx, dy, w, nullptr, N, K, H, W, C, stream);
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

ConvLaunchShape conv2d_forward_launch_shape(int N, int H, int W, int K) {
  return {gemm_tile_columns(int64_t(N) * H * W, K), 1};
}

ConvLaunchShape conv2d_backward_weight_launch_shape(int N, int C, int H, int W, int K, int ksize) {
  check_ksize(ksize, "conv2d_backward_weight_launch_shape");
  const WgradPlan plan = wgrad_plan(int64_t(N) * H * W, C * ksize * ksize, K);
  return {plan.tile_columns, plan.chunks};
}

}  // namespace seqnet::cuda
