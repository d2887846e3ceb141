// conv3x3_bf16.h: the direct 3x3 convolution in bfloat16 with float32 sums, on x86 CPUs with
// AVX-512 BF16 (`vdpbf16ps`: AMD Zen 4 and later, Intel Cooper Lake and Sapphire Rapids). An
// opt-in precision (issue #32, item 3), like PyTorch's CPU autocast: the input and the weights are
// rounded to bfloat16 (8 significant bits), the products are exact in float32 and summed in
// float32; the bias and the output stay float32.
//
//   y[n,k,i,j] = b[k] + sum_{c,u,v} bf16(w[k,c,u,v]) * bf16(x[n,c,i+u-1,j+v-1])   (zero outside)
//
// Why: `vdpbf16ps` does two multiply-adds per float32 lane where an FMA does one, so the same
// tile of sums in registers takes half the instructions (oneDNN's bf16 kernels run the shipped
// model's convolutions 1.7-1.8x faster than its float32 ones on a Zen 4: docs/PERFORMANCE.md).
//
// Error bound (round to nearest even, u = 2^-8 for bfloat16, e = 2^-24 for float32): each rounded
// product is x w (1 + d1)(1 + d2) with |d1|, |d2| <= u, exact in float32 (8 x 8 significant bits),
// and the 9C products and the bias are summed with at most 9C + 1 float32 roundings, so
//     |y_bf16 - y| <= (2u + u^2) S + g (1 + 2u + u^2) (S + |b|),   S = sum |w| |x|,  g = (9C + 1) e / (1 - (9C + 1) e)
// (tests/test_conv3x3_bf16.cpp holds the kernel to it against a float64 reference). The
// instruction treats denormal inputs and results as zero (DAZ, FTZ); the bound then holds for
// inputs whose bfloat16 products are normal, which is every value a network's activations take in
// practice (bfloat16 has float32's exponent range).
#pragma once

#include <cstdint>

#include "kernels/cpu/conv3x3_direct.h"  // Conv3x3Epilogue

namespace seqnet::cpu {

// Whether this CPU has AVX-512 BF16 (and the AVX-512 F/BW the kernel also uses).
bool conv3x3_bf16_supported();

// x rounded to bfloat16 (to nearest, ties to even; NaN stays NaN), as the kernel rounds its input
// and weights (where, in addition, the instructions take denormal values as zero), returned as
// the float it stands for.
float round_to_bf16(float x);

// y (N,K,H,W) = conv3x3 of x (N,C,H,W) and w (K,C,3,3) in bfloat16 with float32 sums, + b (K) or
// no bias when b is null, then the epilogue (batch-norm in evaluation, ReLU; applied in float32
// registers before the store, as the direct kernel does). Throws std::runtime_error, saying what
// this CPU lacks, when !conv3x3_bf16_supported().
void conv3x3_forward_bf16(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                          const Conv3x3Epilogue& epilogue = {});

}  // namespace seqnet::cpu
