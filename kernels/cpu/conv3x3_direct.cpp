// conv3x3_direct.cpp: the direct 3x3 convolution of conv3x3_direct.h.
//
// Work is split into output rows (n, i): one thread computes row i of every output channel,
// reading input rows i-1, i, i+1 of every input channel (3*C*W floats, which stay in L2 while
// all K output channels are made from them).
//
// Inside a row, a tile is KB output channels x XV vectors of 16 pixels, held in KB*XV
// accumulators (8 x 3 = 24 of the 32 AVX-512 registers). For every input channel c and tap
// (u, v) the tile loads XV input vectors, shifted by v - 1 pixels, and adds w[k,c,u,v] times
// each into the accumulators of channel k:
//     acc[k][t] += broadcast(w[k0+k, c, u, v]) * x[c, i+u-1, x0+16t-1+v .. +15]
// The zero padding is done by masked loads: lanes whose input pixel lies outside the row read
// as 0 (and are never touched in memory), rows outside the plane are skipped.
#include "kernels/cpu/conv3x3_direct.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace seqnet::cpu {

#define SEQNET_AVX512 __attribute__((target("avx512f")))

namespace {

constexpr int kLanes = 16;  // floats per AVX-512 vector

// Lanes [lo, hi) of a 16-lane mask, clamped to the vector.
SEQNET_AVX512 __mmask16 lane_range(int lo, int hi) {
  lo = std::clamp(lo, 0, kLanes);
  hi = std::clamp(hi, 0, kLanes);
  if (lo >= hi) return 0;
  const unsigned below_hi = hi == kLanes ? 0xFFFFu : (1u << hi) - 1u;
  const unsigned below_lo = (1u << lo) - 1u;
  return static_cast<__mmask16>(below_hi & ~below_lo);
}

// One tile: output channels [k0, k0+KB) of row i, pixels [x0, x0 + 16*XV) (clipped to W).
// xn: image n's input (C,H,W); wk: w + k0*C*9; yk: image n's output at channel k0.
// The epilogue's per-channel numbers for channels [k0, k0 + KB).
struct ChannelEpilogue {
  const float* subtract;  // null: no affine step
  const float* scale;
  const float* add;
  bool relu;
  ChannelEpilogue at(int k0) const {
    return subtract ? ChannelEpilogue{subtract + k0, scale + k0, add + k0, relu} : *this;
  }
};

template <int KB, int XV>
SEQNET_AVX512 void conv_tile(float* yk, const float* xn, const float* wk, const float* bk, const ChannelEpilogue& ep,
                             int C, int H, int W, int i, int x0) {
  const int64_t HW = int64_t(H) * W;
  __m512 acc[KB][XV];
  for (int k = 0; k < KB; ++k) {
    const __m512 init = bk ? _mm512_set1_ps(bk[k]) : _mm512_setzero_ps();
    for (int t = 0; t < XV; ++t) acc[k][t] = init;
  }
  // Lane l of vector t under tap v reads input pixel x0 + 16t + l + v - 1; keep it when in [0, W).
  __mmask16 load_mask[XV][3];
  for (int t = 0; t < XV; ++t)
    for (int v = 0; v < 3; ++v) {
      const int first = x0 + kLanes * t + v - 1;
      load_mask[t][v] = lane_range(-first, W - first);
    }
  const int u_begin = i == 0 ? 1 : 0, u_end = i == H - 1 ? 2 : 3;  // rows i+u-1 inside the plane
  const int64_t k_stride = int64_t(C) * 9;
  for (int c = 0; c < C; ++c) {
    const float* xc = xn + c * HW;
    const float* wc = wk + c * 9;
    for (int u = u_begin; u < u_end; ++u) {
      // One before the tile's first pixel: tap v reads from row + v (masked at the borders).
      const float* row = xc + int64_t(i + u - 1) * W + x0 - 1;
      for (int v = 0; v < 3; ++v) {
        __m512 in[XV];
        for (int t = 0; t < XV; ++t) in[t] = _mm512_maskz_loadu_ps(load_mask[t][v], row + kLanes * t + v);
        for (int k = 0; k < KB; ++k) {
          const __m512 weight = _mm512_set1_ps(wc[k * k_stride + u * 3 + v]);
          for (int t = 0; t < XV; ++t) acc[k][t] = _mm512_fmadd_ps(weight, in[t], acc[k][t]);
        }
      }
    }
  }
  if (ep.subtract)
    for (int k = 0; k < KB; ++k) {
      const __m512 subtract = _mm512_set1_ps(ep.subtract[k]), scale = _mm512_set1_ps(ep.scale[k]),
                   add = _mm512_set1_ps(ep.add[k]);
      for (int t = 0; t < XV; ++t) acc[k][t] = _mm512_fmadd_ps(_mm512_sub_ps(acc[k][t], subtract), scale, add);
    }
  if (ep.relu)  // (the masked form: GCC 12 warns about the unmasked one's undefined operand)
    for (int k = 0; k < KB; ++k)
      for (int t = 0; t < XV; ++t) acc[k][t] = _mm512_maskz_max_ps(0xFFFF, acc[k][t], _mm512_setzero_ps());
  float* out = yk + int64_t(i) * W + x0;
  for (int t = 0; t < XV; ++t) {
    const __mmask16 store_mask = lane_range(0, W - (x0 + kLanes * t));
    for (int k = 0; k < KB; ++k) _mm512_mask_storeu_ps(out + k * HW + kLanes * t, store_mask, acc[k][t]);
  }
}

// Every tile of channels [k0, k0+KB) in row i: full 3-vector tiles, then the 1-2 vectors left.
template <int KB>
SEQNET_AVX512 void conv_row_channels(float* yk, const float* xn, const float* wk, const float* bk,
                                     const ChannelEpilogue& ep, int C, int H, int W, int i) {
  constexpr int kTile = 3 * kLanes;
  int x0 = 0;
  for (; x0 + kTile <= W; x0 += kTile) conv_tile<KB, 3>(yk, xn, wk, bk, ep, C, H, W, i, x0);
  const int vectors_left = (W - x0 + kLanes - 1) / kLanes;  // the last one may be partial
  if (vectors_left == 3) conv_tile<KB, 3>(yk, xn, wk, bk, ep, C, H, W, i, x0);
  else if (vectors_left == 2) conv_tile<KB, 2>(yk, xn, wk, bk, ep, C, H, W, i, x0);
  else if (vectors_left == 1) conv_tile<KB, 1>(yk, xn, wk, bk, ep, C, H, W, i, x0);
}

// Row i of all K output channels: blocks of 8, then 4, 2, 1 for the rest.
SEQNET_AVX512 void conv_row(float* yn, const float* xn, const float* w, const float* b, const ChannelEpilogue& ep,
                            int C, int H, int W, int K, int i) {
  const int64_t HW = int64_t(H) * W, k_stride = int64_t(C) * 9;
  int k0 = 0;
  const auto block = [&](auto channels) {  // channels: std::integral_constant<int, KB>
    constexpr int KB = decltype(channels)::value;
    conv_row_channels<KB>(yn + k0 * HW, xn, w + k0 * k_stride, b ? b + k0 : nullptr, ep.at(k0), C, H, W, i);
    k0 += KB;
  };
  while (k0 + 8 <= K) block(std::integral_constant<int, 8>());
  if (k0 + 4 <= K) block(std::integral_constant<int, 4>());
  if (k0 + 2 <= K) block(std::integral_constant<int, 2>());
  if (k0 < K) block(std::integral_constant<int, 1>());
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

bool gemm_requested() {
  const char* choice = std::getenv("SEQNET_CONV");
  return choice && std::strcmp(choice, "gemm") == 0;
}

}  // namespace

bool conv3x3_direct_available() {
  static const bool available = cpu_has_avx512() && !gemm_requested();
  return available;
}

bool conv3x3_direct_pays(int W) { return W >= 32; }

void conv3x3_forward_direct(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                            int K, const Conv3x3Epilogue& epilogue) {
  const int64_t HW = int64_t(H) * W;
  const ChannelEpilogue ep{epilogue.subtract, epilogue.scale, epilogue.add, epilogue.relu};
  // Static schedule over (image, row): every row costs the same.
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(N) * H * W * K * C >= (1 << 16))
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < H; ++i) conv_row(y + int64_t(n) * K * HW, x + int64_t(n) * C * HW, w, b, ep, C, H, W, K, i);
}

}  // namespace seqnet::cpu
