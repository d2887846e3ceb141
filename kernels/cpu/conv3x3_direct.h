// conv3x3_direct.h: the 3x3 convolution computed directly, without im2col columns, on CPUs with
// AVX-512 (float only). conv2d.cpp uses it for the forward pass and, with the weights flipped and
// transposed, for the input gradient; everything else keeps the im2col + GEMM path.
//
//   y[n,k,i,j] = b[k] + sum_{c,u,v} w[k,c,u,v] * x[n,c,i+u-1,j+v-1]   (zero outside)
//
// Why: at SeqNet's thin levels (16-32 channels on a 576x576 plane) the im2col path spends its
// time writing and re-reading 9*C columns per pixel, and the GEMM it feeds has one side of only
// K = 16..32 rows; both keep it at 15-20% of this CPU's GEMM peak. The direct kernel keeps an
// 8-channel x 48-pixel block of outputs in 24 vector registers and streams the input rows
// through them, so every loaded input vector feeds 8 fused multiply-adds.
#pragma once

namespace seqnet::cpu {

// True when this CPU has AVX-512F and the environment does not ask for the GEMM path
// (SEQNET_CONV=gemm, for benchmarks and for checking one path against the other).
bool conv3x3_direct_available();

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

// Whether the direct kernel is the faster choice for a plane this wide: it computes whole 16-pixel
// vectors, so a row of 8 pixels wastes half of every multiply (measured in bench_conv2d).
bool conv3x3_direct_pays(int W);

}  // namespace seqnet::cpu
