// winograd_transforms.h: what the Winograd F(2x2,3x3) forward (conv3x3_winograd.cpp) and weight
// gradient (conv3x3_winograd_weight.cpp) share: the matrices, the size of a block of tiles, and
// the input transform V = B^T d B. Internal to those two files.
//
//        [1  0 -1  0]          [ 1    0    0 ]           [1  1  1  0]
//  B^T = [0  1  1  0]     G =  [1/2  1/2  1/2]     A^T = [0  1 -1 -1]
//        [0 -1  1  0]          [1/2 -1/2  1/2]
//        [0  1  0 -1]          [ 0    0    1 ]
//
// Tile (ti, tj) is the 2x2 block of outputs at (2ti, 2tj); it reads the 4x4 input patch d starting
// at (2ti - 1, 2tj - 1), zero outside the plane (the padding). A plane has ceil(H/2) x ceil(W/2)
// tiles; outputs past an odd H or W belong to a last tile and are computed and dropped.
#pragma once

#include <algorithm>
#include <cstdint>

namespace seqnet::cpu::winograd {

constexpr int kPositions = 16;  // xi = 4 * row + column: the positions of a 4x4 transformed tile
// The transformed tiles of one block: within 512K floats (2 MB), the size the im2col bands use
// for the same reason (they stay in the L2 cache between the transform and the GEMMs).
constexpr int64_t kBlockElements = int64_t(1) << 19;

// The transforms are inlined into one function per instruction set (see each .cpp's wrappers).
#define SEQNET_WINOGRAD_INLINE [[gnu::always_inline]] inline

// V[xi][c][t] = (B^T d B)[xi] for channels [c0, c1) and tile rows [r0, r1) of one image x (C, H, W);
// t = (r - r0) * tile_cols + tj counts from V's start, and V is (16, C, ld). `rows` holds
// 8 * (tile_cols + 1) floats.
SEQNET_WINOGRAD_INLINE void input_transform(float* V, int64_t ld, const float* x, int C, int H, int W, int r0,
                                            int r1, int c0, int c1, float* rows) {
  const int64_t HW = int64_t(H) * W;
  const int tw = (W + 1) / 2;
  // even[q][m] = input column 2m - 1, odd[q][m] = column 2m of patch row q (zero outside): tile tj
  // reads columns 2tj-1 .. 2tj+2 = even[tj], odd[tj], even[tj+1], odd[tj+1].
  float* even[4];
  float* odd[4];
  for (int q = 0; q < 4; ++q) {
    even[q] = rows + int64_t(2 * q) * (tw + 1);
    odd[q] = rows + int64_t(2 * q + 1) * (tw + 1);
  }
  for (int c = c0; c < c1; ++c)
    for (int r = r0; r < r1; ++r) {
      for (int q = 0; q < 4; ++q) {
        const int i = 2 * r - 1 + q;
        if (i < 0 || i >= H) {
          std::fill(even[q], even[q] + tw + 1, 0.0f);
          std::fill(odd[q], odd[q] + tw + 1, 0.0f);
          continue;
        }
        const float* row = x + c * HW + int64_t(i) * W;
        // Column 2m - 1 exists for m in [1, W/2], column 2m for m in [0, tw); the rest is padding.
        even[q][0] = 0.0f;
#pragma omp simd
        for (int m = 1; m <= W / 2; ++m) even[q][m] = row[2 * m - 1];
        if (W / 2 < tw) even[q][tw] = 0.0f;
#pragma omp simd
        for (int m = 0; m < tw; ++m) odd[q][m] = row[2 * m];
        odd[q][tw] = 0.0f;
      }
      float* out = V + int64_t(c) * ld + int64_t(r - r0) * tw;
      const int64_t stride = int64_t(C) * ld;  // from position xi to xi + 1
#pragma omp simd
      for (int tj = 0; tj < tw; ++tj) {
        float d[4][4], t[4][4];
        for (int q = 0; q < 4; ++q) {
          d[q][0] = even[q][tj];
          d[q][1] = odd[q][tj];
          d[q][2] = even[q][tj + 1];
          d[q][3] = odd[q][tj + 1];
        }
        for (int col = 0; col < 4; ++col) {  // B^T d
          t[0][col] = d[0][col] - d[2][col];
          t[1][col] = d[1][col] + d[2][col];
          t[2][col] = d[2][col] - d[1][col];
          t[3][col] = d[1][col] - d[3][col];
        }
        for (int a = 0; a < 4; ++a) {  // (B^T d) B
          out[(4 * a + 0) * stride + tj] = t[a][0] - t[a][2];
          out[(4 * a + 1) * stride + tj] = t[a][1] + t[a][2];
          out[(4 * a + 2) * stride + tj] = t[a][2] - t[a][1];
          out[(4 * a + 3) * stride + tj] = t[a][1] - t[a][3];
        }
      }
    }
}

}  // namespace seqnet::cpu::winograd
