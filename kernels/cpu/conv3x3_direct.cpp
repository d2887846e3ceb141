// conv3x3_direct.cpp: the direct 3x3 convolution of conv3x3_direct.h.
//
// Work is split into output rows (n, i): one thread computes row i of every output channel,
// reading input rows i-1, i, i+1 of every input channel (3*C*W floats, which stay in L2 while
// all K output channels are made from them).
//
// Inside a row, a tile is KB output channels x XV vectors of L pixels, held in KB*XV
// accumulator registers (AVX-512: at most 24 of 32 registers, e.g. 6 x 4 or 8 x 3 of 16 lanes;
// AVX2: at most 12 of 16, e.g. 4 x 3 of 8 lanes; the shapes are chosen in conv_row). For every input channel c and tap (u, v) the tile loads XV input vectors,
// shifted by v - 1 pixels, and adds w[k,c,u,v] times each into the accumulators of channel k:
//     acc[k][t] += broadcast(w[k0+k, c, u, v]) * x[c, i+u-1, x0+L*t-1+v .. +L-1]
// The zero padding is done by masked loads: lanes whose input pixel lies outside the row read
// as 0 (and are never touched in memory), rows outside the plane are skipped. The epilogue
// (batch-norm in evaluation, ReLU) is applied to the registers before the masked store.
//
// The two instruction sets differ only in the tile (Avx512Tile, Avx2Tile below); the loops
// around it (conv_row) are shared. The tile's loops over KB and XV are fully unrolled (pragmas):
// the accumulators must be registers, not an array on the stack.
#include "kernels/cpu/conv3x3_direct.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

namespace seqnet::cpu {

namespace {

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

// Where one tile works: xn image n's input (C,H,W); wk = w + k0*C*9; bk = b + k0 or null;
// yk image n's output at channel k0; row i, pixels [x0, x0 + lanes*XV) clipped to W.
struct TileArgs {
  float* yk;
  const float* xn;
  const float* wk;
  const float* bk;
  ChannelEpilogue ep;
  int C, H, W, i, x0;
};

#define SEQNET_AVX512 __attribute__((target("avx512f")))
#define SEQNET_AVX2 __attribute__((target("avx2,fma")))

struct Avx512Tile {
  static constexpr int kLanes = 16, kMaxVectors = 4, kAccumulators = 24;  // of 32 registers

  // Lanes [lo, hi) of a 16-lane mask, clamped to the vector.
  SEQNET_AVX512 static __mmask16 lanes(int lo, int hi) {
    lo = std::clamp(lo, 0, kLanes);
    hi = std::clamp(hi, 0, kLanes);
    if (lo >= hi) return 0;
    const unsigned below_hi = hi == kLanes ? 0xFFFFu : (1u << hi) - 1u;
    return static_cast<__mmask16>(below_hi & ~((1u << lo) - 1u));
  }

  template <int KB, int XV>
  SEQNET_AVX512 static void run(const TileArgs& a) {
    const int64_t HW = int64_t(a.H) * a.W;
    __m512 acc[KB][XV];
#pragma GCC unroll 24
    for (int k = 0; k < KB; ++k) {
      const __m512 init = a.bk ? _mm512_set1_ps(a.bk[k]) : _mm512_setzero_ps();
#pragma GCC unroll 24
      for (int t = 0; t < XV; ++t) acc[k][t] = init;
    }
    // Lane l of vector t under tap v reads input pixel x0 + 16t + l + v - 1: kept when in [0, W).
    __mmask16 load_mask[XV][3];
#pragma GCC unroll 24
    for (int t = 0; t < XV; ++t)
      for (int v = 0; v < 3; ++v) {
        const int first = a.x0 + kLanes * t + v - 1;
        load_mask[t][v] = lanes(-first, a.W - first);
      }
    const int u_begin = a.i == 0 ? 1 : 0, u_end = a.i == a.H - 1 ? 2 : 3;  // rows i+u-1 in the plane
    const int64_t k_stride = int64_t(a.C) * 9;
    for (int c = 0; c < a.C; ++c) {
      const float* xc = a.xn + c * HW;
      const float* wc = a.wk + c * 9;
      for (int u = u_begin; u < u_end; ++u) {
        const float* row = xc + int64_t(a.i + u - 1) * a.W + a.x0 - 1;  // tap v reads from row + v
        for (int v = 0; v < 3; ++v) {
          __m512 in[XV];
#pragma GCC unroll 24
          for (int t = 0; t < XV; ++t) in[t] = _mm512_maskz_loadu_ps(load_mask[t][v], row + kLanes * t + v);
#pragma GCC unroll 24
          for (int k = 0; k < KB; ++k) {
            const __m512 weight = _mm512_set1_ps(wc[k * k_stride + u * 3 + v]);
#pragma GCC unroll 24
            for (int t = 0; t < XV; ++t) acc[k][t] = _mm512_fmadd_ps(weight, in[t], acc[k][t]);
          }
        }
      }
    }
    if (a.ep.subtract)
#pragma GCC unroll 24
      for (int k = 0; k < KB; ++k) {
        const __m512 subtract = _mm512_set1_ps(a.ep.subtract[k]), scale = _mm512_set1_ps(a.ep.scale[k]),
                     add = _mm512_set1_ps(a.ep.add[k]);
#pragma GCC unroll 24
        for (int t = 0; t < XV; ++t) acc[k][t] = _mm512_fmadd_ps(_mm512_sub_ps(acc[k][t], subtract), scale, add);
      }
    if (a.ep.relu)  // (the masked form: GCC 12 warns about the unmasked one's undefined operand)
#pragma GCC unroll 24
      for (int k = 0; k < KB; ++k)
#pragma GCC unroll 24
        for (int t = 0; t < XV; ++t) acc[k][t] = _mm512_maskz_max_ps(0xFFFF, acc[k][t], _mm512_setzero_ps());
    float* out = a.yk + int64_t(a.i) * a.W + a.x0;
#pragma GCC unroll 24
    for (int t = 0; t < XV; ++t) {
      const __mmask16 store_mask = lanes(0, a.W - (a.x0 + kLanes * t));
#pragma GCC unroll 24
      for (int k = 0; k < KB; ++k) _mm512_mask_storeu_ps(out + k * HW + kLanes * t, store_mask, acc[k][t]);
    }
  }
};

struct Avx2Tile {
  static constexpr int kLanes = 8, kMaxVectors = 3, kAccumulators = 12;  // of 16 registers

  // Lanes [lo, hi) as an AVX2 mask vector (all bits set in the lanes kept).
  SEQNET_AVX2 static __m256i lanes(int lo, int hi) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i at_least_lo = _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(lo - 1));
    const __m256i below_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), lane);
    return _mm256_and_si256(at_least_lo, below_hi);
  }

  // Masked loads and stores (vmaskmovps) are slow on AMD's cores: the direct kernel ran at 40% of
  // the AVX2 peak with every load masked. Only the vectors that can reach outside the row use
  // them: the first of a segment at the row's start (tap v = 0 reads pixel -1), the last of a
  // segment that reaches the row's end (tap v = 2 reads pixel W, or the vector is partial).
  template <int KB, int XV>
  static void run(const TileArgs& a) {
    const bool first = a.x0 == 0, last = a.x0 + kLanes * XV >= a.W;
    if (first && last) run_masked<KB, XV, true, true>(a);
    else if (first) run_masked<KB, XV, true, false>(a);
    else if (last) run_masked<KB, XV, false, true>(a);
    else run_masked<KB, XV, false, false>(a);
  }

  template <int KB, int XV, bool kMaskFirst, bool kMaskLast>
  SEQNET_AVX2 static void run_masked(const TileArgs& a) {
    // Vector t needs masks: the first one when kMaskFirst, the last one when kMaskLast.
    constexpr auto masked = [](int t) { return (t == 0 && kMaskFirst) || (t == XV - 1 && kMaskLast); };
    const int64_t HW = int64_t(a.H) * a.W;
    __m256 acc[KB][XV];
#pragma GCC unroll 24
    for (int k = 0; k < KB; ++k) {
      const __m256 init = a.bk ? _mm256_set1_ps(a.bk[k]) : _mm256_setzero_ps();
#pragma GCC unroll 24
      for (int t = 0; t < XV; ++t) acc[k][t] = init;
    }
    __m256i load_mask[XV][3];
#pragma GCC unroll 24
    for (int t = 0; t < XV; ++t)
      for (int v = 0; v < 3; ++v) {
        const int first = a.x0 + kLanes * t + v - 1;
        load_mask[t][v] = masked(t) ? lanes(-first, a.W - first) : _mm256_setzero_si256();
      }
    const int u_begin = a.i == 0 ? 1 : 0, u_end = a.i == a.H - 1 ? 2 : 3;
    const int64_t k_stride = int64_t(a.C) * 9;
    for (int c = 0; c < a.C; ++c) {
      const float* xc = a.xn + c * HW;
      const float* wc = a.wk + c * 9;
      for (int u = u_begin; u < u_end; ++u) {
        const float* row = xc + int64_t(a.i + u - 1) * a.W + a.x0 - 1;
        for (int v = 0; v < 3; ++v) {
          __m256 in[XV];
#pragma GCC unroll 24
          for (int t = 0; t < XV; ++t)
            in[t] = masked(t) ? _mm256_maskload_ps(row + kLanes * t + v, load_mask[t][v])
                              : _mm256_loadu_ps(row + kLanes * t + v);
#pragma GCC unroll 24
          for (int k = 0; k < KB; ++k) {
            const __m256 weight = _mm256_broadcast_ss(wc + k * k_stride + u * 3 + v);
#pragma GCC unroll 24
            for (int t = 0; t < XV; ++t) acc[k][t] = _mm256_fmadd_ps(weight, in[t], acc[k][t]);
          }
        }
      }
    }
    if (a.ep.subtract)
#pragma GCC unroll 24
      for (int k = 0; k < KB; ++k) {
        const __m256 subtract = _mm256_set1_ps(a.ep.subtract[k]), scale = _mm256_set1_ps(a.ep.scale[k]),
                     add = _mm256_set1_ps(a.ep.add[k]);
#pragma GCC unroll 24
        for (int t = 0; t < XV; ++t) acc[k][t] = _mm256_fmadd_ps(_mm256_sub_ps(acc[k][t], subtract), scale, add);
      }
    if (a.ep.relu)
#pragma GCC unroll 24
      for (int k = 0; k < KB; ++k)
#pragma GCC unroll 24
        for (int t = 0; t < XV; ++t) acc[k][t] = _mm256_max_ps(acc[k][t], _mm256_setzero_ps());
    float* out = a.yk + int64_t(a.i) * a.W + a.x0;
#pragma GCC unroll 24
    for (int t = 0; t < XV; ++t) {
      const __m256i store_mask = lanes(0, a.W - (a.x0 + kLanes * t));
#pragma GCC unroll 24
      for (int k = 0; k < KB; ++k)
        if (t == XV - 1 && kMaskLast) _mm256_maskstore_ps(out + k * HW + kLanes * t, store_mask, acc[k][t]);
        else _mm256_storeu_ps(out + k * HW + kLanes * t, acc[k][t]);
    }
  }
};

// Tile shapes. A row of V = ceil(W / lanes) vectors is cut into segments of at most
// Tile::kMaxVectors vectors, as equal as they can be (AVX-512: 8 vectors = 4 + 4, not 3 + 3 + 2;
// 4 = 4, not 3 + 1: a one-vector tile reloads every weight for 16 pixels only). A segment of XV
// vectors takes output channels in blocks of KB with KB * XV <= Tile::kAccumulators (the
// registers the sums may use), the largest block first: at XV = 1, 24 channels share each loaded
// input vector instead of 8.
constexpr int kBlockSizes[] = {24, 12, 8, 6, 4, 3, 2, 1};

template <typename Tile, int XV, int KB_INDEX = 0>
void conv_segment_channels(TileArgs a, int k0, int K, int64_t channel_stride, int64_t weight_stride) {
  constexpr int KB = kBlockSizes[KB_INDEX];
  if constexpr (KB * XV <= Tile::kAccumulators) {
    for (; k0 + KB <= K; k0 += KB) {
      TileArgs block = a;
      block.yk += k0 * channel_stride;
      block.wk += k0 * weight_stride;
      block.bk = a.bk ? a.bk + k0 : nullptr;
      block.ep = a.ep.at(k0);
      Tile::template run<KB, XV>(block);
    }
  }
  if constexpr (KB > 1) conv_segment_channels<Tile, XV, KB_INDEX + 1>(a, k0, K, channel_stride, weight_stride);
}

// Row i of all K output channels, segment by segment.
template <typename Tile>
void conv_row(float* yn, const float* xn, const float* w, const float* b, const ChannelEpilogue& ep, int C, int H,
              int W, int K, int i) {
  const int64_t HW = int64_t(H) * W, k_stride = int64_t(C) * 9;
  const int vectors = (W + Tile::kLanes - 1) / Tile::kLanes;
  const int segments = (vectors + Tile::kMaxVectors - 1) / Tile::kMaxVectors;
  TileArgs a{yn, xn, w, b, ep, C, H, W, i, 0};
  for (int s = 0; s < segments; ++s) {
    const int xv = vectors / segments + (s < vectors % segments ? 1 : 0);
    switch (xv) {
      case 4: if constexpr (Tile::kMaxVectors >= 4) conv_segment_channels<Tile, 4>(a, 0, K, HW, k_stride); break;
      case 3: conv_segment_channels<Tile, 3>(a, 0, K, HW, k_stride); break;
      case 2: conv_segment_channels<Tile, 2>(a, 0, K, HW, k_stride); break;
      default: conv_segment_channels<Tile, 1>(a, 0, K, HW, k_stride); break;
    }
    a.x0 += xv * Tile::kLanes;
  }
}

template <typename Tile>
void conv_all_rows(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                   const ChannelEpilogue& ep) {
  const int64_t HW = int64_t(H) * W;
  // Static schedule over (image, row): every row costs the same.
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(N) * H * W * K * C >= (1 << 16))
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < H; ++i)
      conv_row<Tile>(y + int64_t(n) * K * HW, x + int64_t(n) * C * HW, w, b, ep, C, H, W, K, i);
}

// The widest instruction set this CPU has, narrowed to AVX2 by SEQNET_CONV=avx2.
std::optional<Conv3x3Isa> widest_isa() {
  const char* choice = std::getenv("SEQNET_CONV");
  const std::string asked = choice ? choice : "";
  if (asked != "avx2" && conv3x3_isa_supported(Conv3x3Isa::avx512)) return Conv3x3Isa::avx512;
  if (conv3x3_isa_supported(Conv3x3Isa::avx2)) return Conv3x3Isa::avx2;
  return std::nullopt;
}

}  // namespace

std::optional<Conv3x3Isa> conv3x3_direct_isa() {
  static const std::optional<Conv3x3Isa> isa = widest_isa();
  return isa;
}

bool conv3x3_isa_supported(Conv3x3Isa isa) {
  __builtin_cpu_init();
  if (isa == Conv3x3Isa::avx512) return __builtin_cpu_supports("avx512f");
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const char* conv3x3_isa_name(Conv3x3Isa isa) { return isa == Conv3x3Isa::avx512 ? "AVX-512" : "AVX2"; }

bool conv3x3_direct_available() { return conv3x3_direct_isa().has_value(); }

void conv3x3_forward_direct(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                            int K, const Conv3x3Epilogue& epilogue) {
  conv3x3_forward_direct_with(*conv3x3_direct_isa(), y, x, w, b, N, C, H, W, K, epilogue);
}

void conv3x3_forward_direct_with(Conv3x3Isa isa, float* y, const float* x, const float* w, const float* b, int N,
                                 int C, int H, int W, int K, const Conv3x3Epilogue& epilogue) {
  const ChannelEpilogue ep{epilogue.subtract, epilogue.scale, epilogue.add, epilogue.relu};
  if (isa == Conv3x3Isa::avx512) conv_all_rows<Avx512Tile>(y, x, w, b, N, C, H, W, K, ep);
  else conv_all_rows<Avx2Tile>(y, x, w, b, N, C, H, W, K, ep);
}

}  // namespace seqnet::cpu
