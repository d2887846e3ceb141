// conv3x3_weight_direct.h: the weight gradient of a 3x3 convolution computed directly, without
// im2col columns, on x86 CPUs with AVX-512 or AVX2 + FMA and on aarch64 CPUs with NEON (float only).
//
//   dw[k,c,u,v] += sum_{n,i,j} dy[n,k,i,j] * x[n,c,i+u-1,j+v-1]   (x zero outside the plane)
//
// Why: im2col + GEMM writes 9*C columns per pixel and reads them back, and its GEMM has one side of
// only K = 16..32 rows at SeqNet's thin levels; there it ran at about 85 GFLOP/s on a 2-core Zen 5,
// a third of the training step. This kernel keeps the 27 sums of 3 output channels x 9 taps of one
// input channel in vector registers (AVX-512 and NEON; AVX2: 4 channels x 3 taps) and streams dy and x
// through them, so each loaded vector feeds 3 to 9 fused multiply-adds. conv2d.cpp uses it where
// the chooser (conv3x3_algorithm.h) measured it faster than im2col + GEMM.
#pragma once

#include "kernels/cpu/conv3x3_direct.h"

namespace seqnet::cpu {

// dw (K,C,3,3) += the sums above; dy (N,K,H,W), x (N,C,H,W). Only call when
// conv3x3_direct_available(). Deterministic for a fixed thread count.
void conv3x3_weight_gradient_direct(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K);
// The same with a given instruction set (the tests run both); only when conv3x3_isa_supported(isa).
void conv3x3_weight_gradient_direct_with(Conv3x3Isa isa, float* dw, const float* dy, const float* x, int N, int C,
                                         int H, int W, int K);

}  // namespace seqnet::cpu
