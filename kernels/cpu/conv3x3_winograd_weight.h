// conv3x3_winograd_weight.h: the weight gradient of the 3x3 convolution (stride 1, pad 1) by
// Winograd's F(2x2,3x3), float only. conv2d.cpp uses it where the chooser (conv3x3_algorithm.h)
// measured it faster than im2col + GEMM and the direct kernel (conv3x3_weight_direct.h): on deep,
// small planes, where 2.25x fewer multiplications go through large GEMMs.
//
//   dw[k,c,u,v] += sum_{n,i,j} dy[n,k,i,j] * x[n,c,i+u-1,j+v-1]   (x zero outside the plane)
//
// The math. The forward (conv3x3_winograd.h) gives tile t's 2x2 outputs from its 4x4 input patch d
// and the filter g as Y = A^T [U .* V] A, U = G g G^T, V = B^T d B (matrices: winograd_transforms.h).
// That is exact, so the gradient of sum_t <dY_t, Y_t> with respect to g is dw. With dY the 2x2
// block of dy at the tile, Y[a][b] = sum_{r,s} A[r][a] U[r][s] V[r][s] A[s][b] gives
//     dL/dU = (A dY A^T) .* V,      and U[r][s] = sum_{u,v} G[r][u] g[u][v] G[s][v] gives
//     dL/dg = G^T (dL/dU) G.
// Summed over the channels, images and tiles, each of the 16 positions xi of the 4x4 transformed
// tile is one matrix product reducing over the tiles, and the filter transform comes last:
//     M_xi (K, C) = sum_t P_xi (K, t) V_xi (C, t),   P = A dY A^T,   then  dw[k,c] += G^T M[.][k][c] G.
// Outputs past an odd H or W are computed by the forward and dropped, so their dY entries are
// zero: they add nothing. 16 multiply-adds per tile and channel pair instead of 4 x 9 = 36.
//
// Error bound (the test holds every weight to it). V = B^T d B and P = A dY A^T are float sums of
// at most 4 terms (entries 0, +-1) in two roundings each: off by at most g2 = 2u + u^2 (u = 2^-24)
// times their sums of absolute terms |V|_abs = |B^T| |d| |B|, |P|_abs = |A| |dY| |A^T|. The GEMMs
// sum the n = N ceil(H/2) ceil(W/2) products P V of each (xi, k, c), in blocks and in whatever order
// OpenBLAS takes: within g_n = n u / (1 - n u) of the sum of their absolute values. G^T M G runs in
// double, and one last rounding adds it into dw. So, with a = the weights of each product
// |dy[a,b]| |d[p,q]| that the transforms' absolute values give,
//     |dw - dw_exact| <= ((1 + g2)^2 (1 + g_n) - 1) (1 + u) S + u |dw_exact| + (double's rounding),
//     S[k,c,u,v] = sum_t sum_{a,b,p,q} alpha(a,p,u) alpha(b,q,v) |dY_t[a][b]| |d_t[p][q]|,
//     alpha(a,p,u) = sum_r |G[r][u]| |A[r][a]| |B^T[r][p]|  (0, 1 or 2; exactly, without the
//     absolute values, it is 1 where p = a + u and 0 elsewhere: the convolution).
// S counts every product of the tile's dY and patch, not only the 4 that dw[k,c,u,v] sums: the
// transforms' roundings mix the patch's other pixels in before the sums cancel them.
#pragma once

#include <optional>

#include "kernels/cpu/conv3x3_direct.h"

namespace seqnet::cpu {

// dw (K,C,3,3) += the sums above; dy (N,K,H,W), x (N,C,H,W). Any sizes >= 1. The transforms run in
// the direct kernel's instruction set (conv3x3_direct_isa); the GEMMs are OpenBLAS's. The same bits
// on any thread count: each GEMM runs on one thread, the blocks are added in order.
void conv3x3_weight_gradient_winograd(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K);
// The same with the transforms in a given instruction set (nullopt: the base one of the processor
// built for), for the tests; only when conv3x3_isa_supported(*isa).
void conv3x3_weight_gradient_winograd_with(std::optional<Conv3x3Isa> isa, float* dw, const float* dy,
                                           const float* x, int N, int C, int H, int W, int K);

}  // namespace seqnet::cpu
