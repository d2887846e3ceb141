// conv3x3_winograd.cpp: the Winograd F(2x2,3x3) convolution of conv3x3_winograd.h. The matrices
// B^T, G, A^T, the tiles and the input transform: winograd_transforms.h.
//
// Work goes in blocks of whole tile rows of one image, sized so the block's transformed input
// V (16, C, T) and products M (16, K, T) (T tiles) stay in the L2 cache:
//   1. input transform:  V[xi][c][t] = (B^T d B)[xi]    for the block's tiles, channel by channel
//   2. 16 GEMMs:         M[xi] (K, T) = U[xi] (K, C) * V[xi] (C, T)
//   3. output transform: y = A^T M A + b, then the epilogue, channel by channel.
// With enough blocks each thread runs whole blocks; with few (small planes, one image) the
// threads share each block's three steps (channels, positions xi, channels).
// The transforms are written as plain loops over a row of tiles, on even and odd columns kept
// apart so that every access is unit-stride; they are compiled for AVX-512, AVX2 and the base
// instruction set (on x86-64; elsewhere only the base one, which on aarch64 includes NEON) and
// vectorized by the compiler.
#include "kernels/cpu/conv3x3_winograd.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <tuple>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/scratch_buffer.h"
#include "kernels/cpu/winograd_transforms.h"

namespace seqnet::cpu {

namespace {

using winograd::kBlockElements;  // V and M of one block stay within it
using winograd::kPositions;

// U (16, K, C) = G g G^T for every filter g = w[k, c] (K, C, 3, 3), computed in double.
void transform_weights(float* U, const float* w, int K, int C) {
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < C; ++c) {
      const float* g = w + (int64_t(k) * C + c) * 9;
      double Gg[4][3];  // G g: rows of the filter combined
      for (int v = 0; v < 3; ++v) {
        Gg[0][v] = g[v];
        Gg[1][v] = 0.5 * (double(g[v]) + g[3 + v] + g[6 + v]);
        Gg[2][v] = 0.5 * (double(g[v]) - g[3 + v] + g[6 + v]);
        Gg[3][v] = g[6 + v];
      }
      for (int a = 0; a < 4; ++a) {  // (G g) G^T: its columns combined the same way
        const double u[4] = {Gg[a][0], 0.5 * (Gg[a][0] + Gg[a][1] + Gg[a][2]), 0.5 * (Gg[a][0] - Gg[a][1] + Gg[a][2]),
                             Gg[a][2]};
        for (int b = 0; b < 4; ++b) U[((int64_t(a) * 4 + b) * K + k) * C + c] = float(u[b]);
      }
    }
}

// The shape of the problem and of its blocks.
struct Plan {
  int N, C, H, W, K;
  int tile_cols, tile_rows;  // ceil(W/2), ceil(H/2)
  int block_rows, blocks_per_image;
  int64_t block_tiles() const { return int64_t(block_rows) * tile_cols; }
  int64_t v_size() const { return kPositions * C * block_tiles(); }
  int64_t m_size() const { return kPositions * K * block_tiles(); }
  // Per thread: 4 input rows split into even and odd columns, 4 output half-rows.
  int64_t rows_size() const { return 8 * int64_t(tile_cols + 1) + 4 * int64_t(tile_cols); }
};

Plan make_plan(int N, int C, int H, int W, int K) {
  Plan p{N, C, H, W, K, (W + 1) / 2, (H + 1) / 2, 1, 1};
  const int64_t per_row = int64_t(kPositions) * (C + K) * p.tile_cols;
  const int64_t fit = std::clamp<int64_t>(kBlockElements / per_row, 1, p.tile_rows);
  p.blocks_per_image = int((p.tile_rows + fit - 1) / fit);
  p.block_rows = (p.tile_rows + p.blocks_per_image - 1) / p.blocks_per_image;  // blocks of equal height
  return p;
}

// y rows 2r, 2r+1 for tile rows [r0, r1) and output channels [k0, k1) of image yn (K, H, W) from
// M[xi][k][t], plus the bias, then the epilogue. `rows` holds 4 * tile_cols floats.
SEQNET_WINOGRAD_INLINE void output_transform(float* yn, const float* M, const float* b, const Conv3x3Epilogue& ep,
                                             const Plan& p, int r0, int r1, int k0, int k1, float* rows) {
  const int64_t HW = int64_t(p.H) * p.W, T = p.block_tiles();
  const int tw = p.tile_cols, W = p.W;
  float* half[2][2] = {{rows, rows + tw}, {rows + 2 * tw, rows + 3 * tw}};  // [output row][column parity]
  const int64_t stride = int64_t(p.K) * T;
  for (int k = k0; k < k1; ++k) {
    const float bias = b ? b[k] : 0.0f;
    // The epilogue without branches: no affine step is (v - 0) * 1 + 0, no ReLU a floor of -inf.
    const bool affine = ep.subtract != nullptr;
    const float subtract = affine ? ep.subtract[k] : 0.0f, scale = affine ? ep.scale[k] : 1.0f,
                add = affine ? ep.add[k] : 0.0f, floor = ep.relu ? 0.0f : -std::numeric_limits<float>::infinity();
    for (int r = r0; r < r1; ++r) {
      const float* in = M + int64_t(k) * T + int64_t(r - r0) * tw;
#pragma omp simd
      for (int tj = 0; tj < tw; ++tj) {
        float m[4][4], s[2][4];
        for (int a = 0; a < 4; ++a)
          for (int col = 0; col < 4; ++col) m[a][col] = in[(4 * a + col) * stride + tj];
        for (int col = 0; col < 4; ++col) {  // A^T m
          s[0][col] = m[0][col] + m[1][col] + m[2][col];
          s[1][col] = m[1][col] - m[2][col] - m[3][col];
        }
        for (int a = 0; a < 2; ++a) {  // (A^T m) A, the bias, the epilogue
          const float left = s[a][0] + s[a][1] + s[a][2] + bias, right = s[a][1] - s[a][2] - s[a][3] + bias;
          half[a][0][tj] = std::max((left - subtract) * scale + add, floor);
          half[a][1][tj] = std::max((right - subtract) * scale + add, floor);
        }
      }
      for (int a = 0; a < 2 && 2 * r + a < p.H; ++a) {  // interleave the even and odd columns
        float* dst = yn + k * HW + int64_t(2 * r + a) * W;
#pragma omp simd
        for (int tj = 0; tj < W / 2; ++tj) {
          dst[2 * tj] = half[a][0][tj];
          dst[2 * tj + 1] = half[a][1][tj];
        }
        if (W % 2) dst[W - 1] = half[a][0][tw - 1];
      }
    }
  }
}

// Both transforms compiled for AVX-512, for AVX2 + FMA and for the base instruction set; the one
// used is the direct kernel's (conv3x3_direct_isa: the widest the CPU has, AVX2 under
// SEQNET_CONV=avx2), so that an AVX2-only CPU can be imitated on an AVX-512 one.
using InputTransform = void (*)(float*, const float*, const Plan&, int, int, int, int, float*);
using OutputTransform = void (*)(float*, const float*, const float*, const Conv3x3Epilogue&, const Plan&, int, int,
                                 int, int, float*);
struct Transforms {
  InputTransform input;
  OutputTransform output;
};

#define SEQNET_TRANSFORMS_FOR(name, target)                                                                      \
  target void input_##name(float* V, const float* xn, const Plan& p, int r0, int r1, int c0, int c1, float* rows) { \
    winograd::input_transform(V, p.block_tiles(), xn, p.C, p.H, p.W, r0, r1, c0, c1, rows);                      \
  }                                                                                                               \
  target void output_##name(float* yn, const float* M, const float* b, const Conv3x3Epilogue& ep, const Plan& p,   \
                            int r0, int r1, int k0, int k1, float* rows) {                                         \
    output_transform(yn, M, b, ep, p, r0, r1, k0, k1, rows);                                                      \
  }
#if defined(__x86_64__)
SEQNET_TRANSFORMS_FOR(avx512, __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))))
SEQNET_TRANSFORMS_FOR(avx2, __attribute__((target("avx2,fma"))))
#endif
SEQNET_TRANSFORMS_FOR(base, )
#undef SEQNET_TRANSFORMS_FOR

// NEON is aarch64's base instruction set: its transforms are the base ones.
Transforms transforms_for(std::optional<Conv3x3Isa> isa) {
#if defined(__x86_64__)
  if (isa == Conv3x3Isa::avx512) return {input_avx512, output_avx512};
  if (isa == Conv3x3Isa::avx2) return {input_avx2, output_avx2};
#else
  (void)isa;
#endif
  return {input_base, output_base};
}

// M[xi] = U[xi] V[xi] for positions [xi0, xi1) of one block (single-threaded GEMMs inside a
// parallel region, see gemm.h).
void products(float* M, const float* U, const float* V, const Plan& p, int xi0, int xi1) {
  const int T = int(p.block_tiles());
  for (int xi = xi0; xi < xi1; ++xi)
    gemm<float>(false, false, p.K, T, p.C, 1.0f, U + int64_t(xi) * p.K * p.C, p.C, V + int64_t(xi) * p.C * T, T,
                0.0f, M + int64_t(xi) * p.K * T, T);
}

}  // namespace

void conv3x3_forward_winograd(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                              int K, const Conv3x3Epilogue& epilogue) {
  conv3x3_forward_winograd_with(conv3x3_direct_isa(), y, x, w, b, N, C, H, W, K, epilogue);
}

void conv3x3_forward_winograd_with(std::optional<Conv3x3Isa> isa, float* y, const float* x, const float* w,
                                   const float* b, int N, int C, int H, int W, int K,
                                   const Conv3x3Epilogue& epilogue) {
  const Plan p = make_plan(N, C, H, W, K);
  const Transforms t = transforms_for(isa);
  const int64_t HW = int64_t(H) * W;
  const int blocks = N * p.blocks_per_image;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  // Whole blocks per thread when there are enough to share out evenly; else the threads share
  // each block's steps (V and M then belong to thread 0's scratch).
  const bool block_per_thread = threads == 1 || blocks >= 4 * threads;
  const int64_t per_thread = p.v_size() + p.m_size() + p.rows_size();
  // Grows once to the largest layer; later calls allocate nothing.
  static thread_local ScratchBuffer scratch, U;
  float* const all_scratch = scratch.ensure(size_t(threads * per_thread));
  float* const u_data = U.ensure(size_t(kPositions) * K * C);
  transform_weights(u_data, w, K, C);
  const float* const u = u_data;
  const auto block_range = [&](int block) {  // image, first and last tile row
    const int n = block / p.blocks_per_image, r0 = block % p.blocks_per_image * p.block_rows;
    return std::tuple{n, r0, std::min(p.tile_rows, r0 + p.block_rows)};
  };
  if (block_per_thread) {
#pragma omp parallel for schedule(static) num_threads(std::min(threads, blocks))
    for (int block = 0; block < blocks; ++block) {
      float* V = all_scratch + omp_get_thread_num() * per_thread;
      float* M = V + p.v_size();
      float* rows = M + p.m_size();
      const auto [n, r0, r1] = block_range(block);
      t.input(V, x + int64_t(n) * C * HW, p, r0, r1, 0, C, rows);
      products(M, u, V, p, 0, kPositions);
      t.output(y + int64_t(n) * K * HW, M, b, epilogue, p, r0, r1, 0, K, rows);
    }
    return;
  }
  float* const V = all_scratch;
  float* const M = V + p.v_size();
  for (int block = 0; block < blocks; ++block) {
    const auto [n, r0, r1] = block_range(block);
#pragma omp parallel num_threads(threads)
    {
      float* rows = all_scratch + omp_get_thread_num() * per_thread + p.v_size() + p.m_size();
#pragma omp for schedule(static)
      for (int c = 0; c < C; ++c) t.input(V, x + int64_t(n) * C * HW, p, r0, r1, c, c + 1, rows);
#pragma omp for schedule(static)
      for (int xi = 0; xi < kPositions; ++xi) products(M, u, V, p, xi, xi + 1);
#pragma omp for schedule(static)
      for (int k = 0; k < K; ++k) t.output(y + int64_t(n) * K * HW, M, b, epilogue, p, r0, r1, k, k + 1, rows);
    }
  }
}

}  // namespace seqnet::cpu
