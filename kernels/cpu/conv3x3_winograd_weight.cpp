// conv3x3_winograd_weight.cpp: the Winograd F(2x2,3x3) weight gradient of conv3x3_winograd_weight.h.
//
// The tiles of all images are one sequence of tile rows (image by image), cut into blocks of whole
// tile rows sized so the block's transformed input V (16, C, T) and transformed gradient P (16, K, T)
// (T tiles) stay in the L2 cache; a block may hold several small images or part of a large one:
//   1. transforms:  V[xi][c][t] = (B^T d B)[xi],  P[xi][k][t] = (A dY A^T)[xi]   channel by channel
//   2. 16 GEMMs:    M[xi] (K, C) += P[xi] (K, T) * V[xi] (C, T)^T               position by position
// and after the last block
//   3. filter transform: dw[k][c] += G^T M[.][k][c] G, in double, output channel by output channel.
// The threads share each step (channels, positions, output channels; static schedules): each
// M[xi] is summed by one thread at a time, block after block, so the result does not depend on the
// thread count. A thread of its own per block would need a copy of M (16 K C floats, 16 MB at
// C = K = 512) per thread; the deep, small planes this is for have only a few blocks anyway.
//
// Step 3 in double: it is K C 9 short sums, nothing next to the GEMMs, and its operands M[.][k][c]
// can be far larger than the dw they combine to (G^T M G cancels the products of the pixels that
// are not the tap's), so float would add roundings of their size; double leaves only the last
// rounding into dw.
//
// The transforms are compiled for AVX-512, AVX2 and the base instruction set like the forward's
// (conv3x3_winograd.cpp), the input transform being the forward's own (winograd_transforms.h).
#include "kernels/cpu/conv3x3_winograd_weight.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/scratch_buffer.h"
#include "kernels/cpu/winograd_transforms.h"

namespace seqnet::cpu {

namespace {

using winograd::kBlockElements;  // V and P of one block stay within it
using winograd::kPositions;

// The shape of the problem and of its blocks. Tile row g of the sequence is row g % tile_rows of
// image g / tile_rows.
struct Plan {
  int N, C, H, W, K;
  int tile_cols, tile_rows;  // ceil(W/2), ceil(H/2) per image
  int64_t all_rows;          // N * tile_rows
  int64_t block_rows, blocks;
  int64_t ld() const { return block_rows * tile_cols; }  // tiles of a full block: V's and P's row length
  int64_t v_size() const { return kPositions * C * ld(); }
  int64_t p_size() const { return kPositions * K * ld(); }
  int64_t m_size() const { return int64_t(kPositions) * K * C; }
  // Per thread: the input transform's 8 rows (the gradient transform needs 4 * tile_cols).
  int64_t rows_size() const { return 8 * int64_t(tile_cols + 1); }
};

Plan make_plan(int N, int C, int H, int W, int K) {
  Plan p{N, C, H, W, K, (W + 1) / 2, (H + 1) / 2, 0, 1, 1};
  p.all_rows = int64_t(N) * p.tile_rows;
  const int64_t per_row = int64_t(kPositions) * (C + K) * p.tile_cols;
  const int64_t fit = std::clamp<int64_t>(kBlockElements / per_row, 1, p.all_rows);
  p.blocks = (p.all_rows + fit - 1) / fit;
  p.block_rows = (p.all_rows + p.blocks - 1) / p.blocks;  // blocks of equal height
  return p;
}

// P[xi][k][t] = (A dY A^T)[xi] for channels [k0, k1) and tile rows [r0, r1) of one image dy (K, H, W),
// dY the 2x2 block at (2r, 2tj), zero past H or W; t = (r - r0) * tile_cols + tj counts from P's
// start, and P is (16, K, ld). `rows` holds 4 * tile_cols floats.
//
//       [1  0]
//   A = [1  1]      so row r of A dY is  dY0, dY0 + dY1, dY0 - dY1, -dY1  (dY0, dY1 its rows),
//       [1 -1]      and (A dY) A^T combines its columns the same way.
//       [0 -1]
SEQNET_WINOGRAD_INLINE void gradient_transform(float* P, int64_t ld, const float* dy, int K, int H, int W, int r0,
                                               int r1, int k0, int k1, float* rows) {
  const int64_t HW = int64_t(H) * W;
  const int tw = (W + 1) / 2;
  // even[a][tj] = dy column 2tj, odd[a][tj] = column 2tj + 1 of the tile's row a (zero past W).
  float* even[2] = {rows, rows + 2 * tw};
  float* odd[2] = {rows + tw, rows + 3 * tw};
  for (int k = k0; k < k1; ++k)
    for (int r = r0; r < r1; ++r) {
      for (int a = 0; a < 2; ++a) {
        const int i = 2 * r + a;
        if (i >= H) {  // the dropped row of an odd H
          std::fill(even[a], even[a] + tw, 0.0f);
          std::fill(odd[a], odd[a] + tw, 0.0f);
          continue;
        }
        const float* row = dy + k * HW + int64_t(i) * W;
#pragma omp simd
        for (int m = 0; m < tw; ++m) even[a][m] = row[2 * m];
#pragma omp simd
        for (int m = 0; m < W / 2; ++m) odd[a][m] = row[2 * m + 1];
        if (W % 2) odd[a][tw - 1] = 0.0f;  // the dropped column of an odd W
      }
      float* out = P + int64_t(k) * ld + int64_t(r - r0) * tw;
      const int64_t stride = int64_t(K) * ld;  // from position xi to xi + 1
#pragma omp simd
      for (int tj = 0; tj < tw; ++tj) {
        const float d[2][2] = {{even[0][tj], odd[0][tj]}, {even[1][tj], odd[1][tj]}};
        float q[4][2];
        for (int b = 0; b < 2; ++b) {  // A dY
          q[0][b] = d[0][b];
          q[1][b] = d[0][b] + d[1][b];
          q[2][b] = d[0][b] - d[1][b];
          q[3][b] = -d[1][b];
        }
        for (int a = 0; a < 4; ++a) {  // (A dY) A^T
          out[(4 * a + 0) * stride + tj] = q[a][0];
          out[(4 * a + 1) * stride + tj] = q[a][0] + q[a][1];
          out[(4 * a + 2) * stride + tj] = q[a][0] - q[a][1];
          out[(4 * a + 3) * stride + tj] = -q[a][1];
        }
      }
    }
}

// The transforms of channel j of the block (j < C: input channel j, else output channel j - C) for
// every image the block's tile rows [g0, g1) touch.
SEQNET_WINOGRAD_INLINE void transform_channel(float* V, float* P, const float* dy, const float* x, const Plan& p,
                                              int64_t g0, int64_t g1, int j, float* rows) {
  const int64_t HW = int64_t(p.H) * p.W;
  for (int64_t g = g0; g < g1;) {
    const int n = int(g / p.tile_rows), r0 = int(g % p.tile_rows);
    const int r1 = int(std::min<int64_t>(p.tile_rows, r0 + (g1 - g)));
    const int64_t t0 = (g - g0) * p.tile_cols;  // this image's first tile in the block
    if (j < p.C)
      winograd::input_transform(V + t0, p.ld(), x + int64_t(n) * p.C * HW, p.C, p.H, p.W, r0, r1, j, j + 1, rows);
    else
      gradient_transform(P + t0, p.ld(), dy + int64_t(n) * p.K * HW, p.K, p.H, p.W, r0, r1, j - p.C, j - p.C + 1,
                         rows);
    g += r1 - r0;
  }
}

// The transforms compiled for AVX-512, for AVX2 + FMA and for the base instruction set.
using TransformChannel = void (*)(float*, float*, const float*, const float*, const Plan&, int64_t, int64_t, int,
                                  float*);

#define SEQNET_TRANSFORM_FOR(name, target)                                                                    \
  target void transform_channel_##name(float* V, float* P, const float* dy, const float* x, const Plan& p,    \
                                       int64_t g0, int64_t g1, int j, float* rows) {                         \
    transform_channel(V, P, dy, x, p, g0, g1, j, rows);                                                      \
  }
#if defined(__x86_64__)
SEQNET_TRANSFORM_FOR(avx512, __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))))
SEQNET_TRANSFORM_FOR(avx2, __attribute__((target("avx2,fma"))))
#endif
SEQNET_TRANSFORM_FOR(base, )
#undef SEQNET_TRANSFORM_FOR

// NEON is aarch64's base instruction set: its transforms are the base ones.
TransformChannel transform_for(std::optional<Conv3x3Isa> isa) {
#if defined(__x86_64__)
  if (isa == Conv3x3Isa::avx512) return transform_channel_avx512;
  if (isa == Conv3x3Isa::avx2) return transform_channel_avx2;
#else
  (void)isa;
#endif
  return transform_channel_base;
}

// dw[k][c] += G^T M[.][k][c] G for output channels [k0, k1), in double. G's columns combine the
// rows r of M as  m0 + (m1 + m2)/2,  (m1 - m2)/2,  (m1 + m2)/2 + m3  (taps u = 0, 1, 2).
void filter_transform(float* dw, const float* M, int K, int C, int k0, int k1) {
  const int64_t stride = int64_t(K) * C;  // from position xi to xi + 1
  for (int k = k0; k < k1; ++k)
    for (int c = 0; c < C; ++c) {
      const float* m = M + int64_t(k) * C + c;
      double gm[3][4];  // G^T M
      for (int s = 0; s < 4; ++s) {
        const double m0 = m[(0 + s) * stride], m1 = m[(4 + s) * stride], m2 = m[(8 + s) * stride],
                     m3 = m[(12 + s) * stride];
        gm[0][s] = m0 + 0.5 * (m1 + m2);
        gm[1][s] = 0.5 * (m1 - m2);
        gm[2][s] = 0.5 * (m1 + m2) + m3;
      }
      float* g = dw + (int64_t(k) * C + c) * 9;
      for (int u = 0; u < 3; ++u) {  // (G^T M) G
        const double* row = gm[u];
        g[3 * u + 0] = float(g[3 * u + 0] + (row[0] + 0.5 * (row[1] + row[2])));
        g[3 * u + 1] = float(g[3 * u + 1] + 0.5 * (row[1] - row[2]));
        g[3 * u + 2] = float(g[3 * u + 2] + (0.5 * (row[1] + row[2]) + row[3]));
      }
    }
}

}  // namespace

void conv3x3_weight_gradient_winograd(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K) {
  conv3x3_weight_gradient_winograd_with(conv3x3_direct_isa(), dw, dy, x, N, C, H, W, K);
}

void conv3x3_weight_gradient_winograd_with(std::optional<Conv3x3Isa> isa, float* dw, const float* dy,
                                           const float* x, int N, int C, int H, int W, int K) {
  const Plan p = make_plan(N, C, H, W, K);
  const TransformChannel transform = transform_for(isa);
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  // Grows once to the largest layer; later calls allocate nothing.
  static thread_local ScratchBuffer scratch;
  float* const V = scratch.ensure(size_t(p.v_size() + p.p_size() + p.m_size() + threads * p.rows_size()));
  // (scratch is this thread's: the team reaches it through these pointers)
  float* const P = V + p.v_size();
  float* const M = P + p.p_size();
  float* const all_rows = M + p.m_size();
  std::fill(M, M + p.m_size(), 0.0f);
#pragma omp parallel num_threads(threads)
  {
    float* rows = all_rows + omp_get_thread_num() * p.rows_size();
    for (int64_t block = 0; block < p.blocks; ++block) {
      const int64_t g0 = block * p.block_rows, g1 = std::min(p.all_rows, g0 + p.block_rows);
      const int T = int((g1 - g0) * p.tile_cols);  // the last block may be shorter than ld
#pragma omp for schedule(static)
      for (int j = 0; j < C + K; ++j) transform(V, P, dy, x, p, g0, g1, j, rows);
#pragma omp for schedule(static)
      for (int xi = 0; xi < kPositions; ++xi)
        gemm<float>(false, true, K, C, T, 1.0f, P + xi * K * p.ld(), int(p.ld()), V + xi * C * p.ld(), int(p.ld()),
                    1.0f, M + int64_t(xi) * K * C, C);
    }
#pragma omp for schedule(static)
    for (int k = 0; k < K; ++k) filter_transform(dw, M, K, C, k, k + 1);
  }
}

}  // namespace seqnet::cpu
