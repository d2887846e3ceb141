// conv3x3_winograd.h: the 3x3 convolution (stride 1, pad 1) by Winograd's minimal filtering
// F(2x2,3x3), float only. conv2d.cpp uses it for the forward pass and, with the weights flipped
// and transposed, for the input gradient, where the chooser (conv3x3_algorithm.h) measured it
// fastest; the weight gradient's Winograd form is conv3x3_winograd_weight.h.
//
// A 2x2 block of outputs of one (input, output) channel pair needs 36 multiplications done
// directly; Winograd computes it from a 4x4 input patch d and the 3x3 filter g as
//     Y = A^T [ (G g G^T) .* (B^T d B) ] A                     (.* element-wise, 16 products)
// so 2.25x fewer multiplications. Summed over the input channels, the 16 element-wise products
// become 16 independent matrix products, one per position xi of the 4x4 transformed tile:
//     M_xi (K, tiles) = U_xi (K, C) * V_xi (C, tiles),  U = G g G^T, V = B^T d B
// which run through gemm.h; the output transform A^T M A then gives the 2x2 outputs.
// The matrices, the tiles and why F(4x4,3x3) was not taken: docs/WALKTHROUGH.md.
#pragma once

#include <optional>

#include "kernels/cpu/conv3x3_direct.h"

namespace seqnet::cpu {

// y (N,K,H,W) = conv3x3(x (N,C,H,W), w (K,C,3,3)) + b (K), or no bias when b is null, then the
// epilogue (batch-norm in evaluation, ReLU; see Conv3x3Epilogue). Any sizes >= 1.
// The transforms run in the direct kernel's instruction set (conv3x3_direct_isa: the widest the
// CPU has, AVX2 under SEQNET_CONV=avx2); the GEMMs are OpenBLAS's, which picks its own.
void conv3x3_forward_winograd(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                              int K, const Conv3x3Epilogue& epilogue = {});
// The same with the transforms in a given instruction set (nullopt: the base one of the processor
// built for: x86-64 at SEQNET_X86_MARCH, or aarch64 with NEON), for the tests; only when
// conv3x3_isa_supported(*isa).
void conv3x3_forward_winograd_with(std::optional<Conv3x3Isa> isa, float* y, const float* x, const float* w,
                                   const float* b, int N, int C, int H, int W, int K,
                                   const Conv3x3Epilogue& epilogue = {});

}  // namespace seqnet::cpu
