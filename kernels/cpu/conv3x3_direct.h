// conv3x3_direct.h: the 3x3 convolution computed directly, without im2col columns, on x86 CPUs
// with AVX-512 or AVX2 + FMA and on aarch64 CPUs with NEON (float only). conv2d.cpp uses it for the forward pass and, with the
// weights flipped and transposed, for the input gradient, where the chooser (conv3x3_algorithm.h)
// measured it fastest.
//
//   y[n,k,i,j] = b[k] + sum_{c,u,v} w[k,c,u,v] * x[n,c,i+u-1,j+v-1]   (zero outside)
//
// Why: at SeqNet's thin levels (16-32 channels on a 576x576 plane) the im2col path spends its
// time writing and re-reading 9*C columns per pixel, and the GEMM it feeds has one side of only
// K = 16..32 rows; both keep it at 15-20% of this CPU's GEMM peak. The direct kernel keeps a block
// of outputs (AVX-512: e.g. 6 channels x 64 pixels or 8 x 48) in vector registers and streams the
// input rows through them, so every loaded input vector feeds 6 to 24 fused multiply-adds. NEON has
// 32 registers as AVX-512 does, of 4 lanes instead of 16, but its tiles hold at most 16 sums (its
// multiply-add takes the weight from a register, not from memory: conv3x3_direct.cpp).
#pragma once

#include <optional>

namespace seqnet::cpu {

// Each is compiled only for its own processor (x86-64: avx2, avx512; aarch64: neon, which every
// aarch64 CPU has); elsewhere it is never supported, and the chooser takes GEMM or Winograd.
enum class Conv3x3Isa { avx2, avx512, neon };
inline constexpr Conv3x3Isa kConv3x3Isas[] = {Conv3x3Isa::avx2, Conv3x3Isa::avx512, Conv3x3Isa::neon};

// The instruction set the direct kernel uses on this CPU: the widest it has, or none. The
// environment can narrow it: SEQNET_CONV=avx2 (AVX2 on an AVX-512 CPU, as on an AVX2-only one), for
// benchmarks. The Winograd transforms use the same one.
std::optional<Conv3x3Isa> conv3x3_direct_isa();
bool conv3x3_direct_available();  // conv3x3_direct_isa() has a value
bool conv3x3_isa_supported(Conv3x3Isa isa);
const char* conv3x3_isa_name(Conv3x3Isa isa);

// What happens to an output channel's sums before they are stored, so that a following
// batch-norm in evaluation and a ReLU cost no extra pass over the map:
//   y = (sum + b[k] - subtract[k]) * scale[k] + add[k], then max(y, 0) when relu.
// Null pointers leave that step out (all null and relu false: the plain convolution).
struct Conv3x3Epilogue {
  const float* subtract = nullptr;  // (K), with scale and add: all three or none
  const float* scale = nullptr;
  const float* add = nullptr;
  bool relu = false;
};

// y (N,K,H,W) = conv3x3(x (N,C,H,W), w (K,C,3,3)) + b (K), or no bias when b is null, then the
// epilogue. Only call when conv3x3_direct_available().
void conv3x3_forward_direct(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                            int K, const Conv3x3Epilogue& epilogue = {});
// The same with a given instruction set (the tests run both); only when conv3x3_isa_supported(isa).
void conv3x3_forward_direct_with(Conv3x3Isa isa, float* y, const float* x, const float* w, const float* b, int N,
                                 int C, int H, int W, int K, const Conv3x3Epilogue& epilogue = {});

}  // namespace seqnet::cpu
