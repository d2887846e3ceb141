// conv3x3_bf16.cpp: the bfloat16 3x3 convolution of conv3x3_bf16.h.
//
// `vdpbf16ps acc, a, b` adds, in each of 16 float32 lanes, a.lo * b.lo + a.hi * b.hi, where lo and
// hi are the two bfloat16 halves of the lane. The kernel puts two input channels in each lane:
// lane l of an input vector holds pixel x0 + l of channels 2p (low half) and 2p + 1 (high half),
// and the weight vector holds w[k, 2p, u, v] and w[k, 2p + 1, u, v] in every lane. So one
// instruction does the work of two float32 FMAs of conv3x3_direct.cpp's tile:
//     acc[k][t] += w[k,2p,u,v] * x[2p, i+u-1, x0+16t-1+v .. +15] + w[k,2p+1,u,v] * x[2p+1, ...]
// over KB output channels and XV vectors of 16 pixels (KB x XV <= 24 accumulators of the 32
// registers; the XV that wastes the fewest lanes on the row's width, KB up to 12).
//
// The operands are packed once into that form:
// - weights: packed[(k * P + p) * 9 + tap], P = ceil(C / 2) channel pairs (an odd C's last pair
//   has a zero high half);
// - input: rows of pairs, rows[(3p + r mod 3) * stride + 1 + j] for pixel j of input row r, with
//   zeros at index 0 and from W + 1 on (the padding), so the tile's loads need no mask. Each
//   thread walks down a run of consecutive output rows and keeps the three input rows they need
//   in this ring, packing one new row per pair for each output row (the conversion is the CPU's
//   own, `vcvtneps2bf16`).
#include "kernels/cpu/conv3x3_bf16.h"
#include "kernels/cpu/epilogue_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace seqnet::cpu {

namespace {

// The 16 bits of bfloat16(x): round to nearest, ties to even, on the float32 bits; a NaN keeps its
// sign and becomes a quiet NaN (rounding could carry its payload into the exponent: an infinity).
uint32_t bf16_bits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return (bits >> 16) | 0x0040u;
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return bits >> 16;
}

uint32_t pair_bits(float low, float high) { return bf16_bits(low) | bf16_bits(high) << 16; }

constexpr int kLanes = 16, kMaxVectors = 4, kAccumulators = 24, kMaxTileChannels = 12;

// Where one tile works: output channels k0 .. k0 + KB - 1 of row i at pixels x0 .. x0 + 63.
struct TileArgs {
  float* yk;               // output channel k0's plane of image n
  const uint32_t* rows;    // the packed input rows of row i (see the top of the file)
  int64_t stride;          // between packed rows, in pairs
  int64_t row_offset[3];   // of input row i + u - 1 of pair 0 (pair p: + 3 p stride)
  const uint32_t* wk;      // packed weights of channel k0
  const float* bk;         // bias of channel k0, or null
  Conv3x3Epilogue ep;      // from channel k0 on (its arrays advanced by k0)
  int P, u_begin, u_end;   // channel pairs; the taps' rows inside the plane
  int i, x0, W;
  int64_t HW;
};

#if defined(__x86_64__)
#define SEQNET_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))

template <int KB, int XV>
SEQNET_BF16 void tile(const TileArgs& a) {
  constexpr int kVectors = XV;
  __m512 acc[KB][kVectors];
#pragma GCC unroll 24
  for (int k = 0; k < KB; ++k) {
    const __m512 init = a.bk ? _mm512_set1_ps(a.bk[k]) : _mm512_setzero_ps();
#pragma GCC unroll 24
    for (int t = 0; t < kVectors; ++t) acc[k][t] = init;
  }
  const int64_t k_stride = int64_t(a.P) * 9;
  for (int p = 0; p < a.P; ++p) {
    // Lane l of vector t under tap v reads pixel x0 + 16t + l + v - 1: index x0 + 16t + l + v.
    const uint32_t* pair_rows = a.rows + 3 * p * a.stride + a.x0;  // + row_offset[u]: the tap's row
    const uint32_t* wp = a.wk + p * 9;
    for (int u = a.u_begin; u < a.u_end; ++u) {
      const uint32_t* row = pair_rows + a.row_offset[u];
      for (int v = 0; v < 3; ++v) {
        __m512bh in[kVectors];
#pragma GCC unroll 24
        for (int t = 0; t < kVectors; ++t) in[t] = (__m512bh)_mm512_loadu_si512(row + kLanes * t + v);
#pragma GCC unroll 24
        for (int k = 0; k < KB; ++k) {
          const __m512bh weight = (__m512bh)_mm512_set1_epi32(int(wp[k * k_stride + u * 3 + v]));
#pragma GCC unroll 24
          for (int t = 0; t < kVectors; ++t) acc[k][t] = _mm512_dpbf16_ps(acc[k][t], in[t], weight);
        }
      }
    }
  }
  apply_epilogue_avx512(acc, a.ep.subtract, a.ep.scale, a.ep.add, a.ep.relu);  // in registers, as the direct kernel
#pragma GCC unroll 24
  for (int k = 0; k < KB; ++k) {
    float* out = a.yk + k * a.HW + int64_t(a.i) * a.W;
#pragma GCC unroll 24
    for (int t = 0; t < kVectors; ++t) {
      const int x = a.x0 + kLanes * t, left = a.W - x;
      if (left >= kLanes) _mm512_storeu_ps(out + x, acc[k][t]);
      else if (left > 0) _mm512_mask_storeu_ps(out + x, __mmask16((1u << left) - 1), acc[k][t]);
    }
  }
}

// tile<KB, XV> for KB = 1 .. 24 / XV (12 at most).
template <int XV, int KB = 1>
void run_tile(int kb, const TileArgs& a) {
  if constexpr (KB < std::min(kMaxTileChannels, kAccumulators / XV)) {
    if (kb > KB) return run_tile<XV, KB + 1>(kb, a);
  }
  tile<KB, XV>(a);
}

void run_tile(int KB, int XV, const TileArgs& a) {
  switch (XV) {
    case 1: return run_tile<1>(KB, a);
    case 2: return run_tile<2>(KB, a);
    case 3: return run_tile<3>(KB, a);
    default: return run_tile<4>(KB, a);
  }
}

// One packed row: pixels of channels `low` and `high` (null: zeros) as bfloat16 pairs, by the
// instruction set's own conversion (round to nearest even; denormal inputs become zero, as the
// multiply-adds treat them), 16 pixels at a time. (The masked forms of the widening and the shift:
// GCC 12 warns about the unmasked ones' undefined operand.)
// 16 floats rounded to bfloat16, each in the low half of a 32-bit lane.
SEQNET_BF16 inline __m512i bf16_lanes(__m512 v) {
  return _mm512_maskz_cvtepu16_epi32(0xFFFF, (__m256i)_mm512_cvtneps_pbh(v));
}

SEQNET_BF16 void pack_row(uint32_t* out, const float* low, const float* high, int W) {
  int j = 0;
  for (; j + kLanes <= W; j += kLanes) {
    const __m512i lo = bf16_lanes(_mm512_loadu_ps(low + j));
    const __m512i hi = high ? bf16_lanes(_mm512_loadu_ps(high + j)) : _mm512_setzero_si512();
    _mm512_storeu_si512(out + j, _mm512_or_si512(lo, _mm512_maskz_slli_epi32(0xFFFF, hi, 16)));
  }
  if (j < W) {
    const __mmask16 mask = __mmask16((1u << (W - j)) - 1);
    const __m512i lo = bf16_lanes(_mm512_maskz_loadu_ps(mask, low + j));
    const __m512i hi = high ? bf16_lanes(_mm512_maskz_loadu_ps(mask, high + j)) : _mm512_setzero_si512();
    _mm512_mask_storeu_epi32(out + j, mask, _mm512_or_si512(lo, _mm512_maskz_slli_epi32(0xFFFF, hi, 16)));
  }
}
#endif

}  // namespace

bool conv3x3_bf16_supported() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

float round_to_bf16(float x) {
  const uint32_t bits = bf16_bits(x) << 16;
  float rounded;
  std::memcpy(&rounded, &bits, sizeof rounded);
  return rounded;
}

void conv3x3_forward_bf16(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                          const Conv3x3Epilogue& epilogue) {
  if (!conv3x3_bf16_supported())
    throw std::runtime_error(
        "bfloat16 convolution: this CPU has no AVX-512 BF16 (vdpbf16ps; /proc/cpuinfo lists no avx512_bf16); "
        "it needs an AMD Zen 4 or later or an Intel Cooper Lake or Sapphire Rapids CPU. Use float32.");
#if defined(__x86_64__)
  if (int64_t(N) * H * W * K == 0) return;
  const int P = (C + 1) / 2;
  const int64_t HW = int64_t(H) * W;
  std::vector<uint32_t> packed(size_t(K) * P * 9);
  for (int k = 0; k < K; ++k)
    for (int p = 0; p < P; ++p)
      for (int tap = 0; tap < 9; ++tap) {
        const float low = w[(int64_t(k) * C + 2 * p) * 9 + tap];
        const float high = 2 * p + 1 < C ? w[(int64_t(k) * C + 2 * p + 1) * 9 + tap] : 0.f;
        packed[(size_t(k) * P + p) * 9 + tap] = pair_bits(low, high);
      }
  // The tile: XV vectors of 16 pixels, the XV that computes the fewest vectors for the row (the
  // larger on a tie: W = 72 takes 1 (5 vectors, not 2 x 4), 144 and 288 take 3, 576 takes 4), and
  // K cut into blocks of at most 24 / XV channels (12 at most: at least 12 sums in flight to
  // cover the instruction's latency), as equal as they can be.
  int XV = 1;
  for (int v = 2; v <= kMaxVectors; ++v)
    if ((W + kLanes * v - 1) / (kLanes * v) * v <= (W + kLanes * XV - 1) / (kLanes * XV) * XV) XV = v;
  const int most = std::min(kMaxTileChannels, kAccumulators / XV), blocks = (K + most - 1) / most;
  const int KB = (K + blocks - 1) / blocks, tile_pixels = kLanes * XV;
  // A packed row: index 0 and W + 1 .. stride - 1 zero; the last tile reads up to
  // round_up(W, tile_pixels) + 1.
  const int64_t stride = (W + tile_pixels - 1) / tile_pixels * tile_pixels + 2;
  const int64_t rows_count = int64_t(N) * H;
#pragma omp parallel
  {
    // Input row r of pair p at slot 3p + r mod 3 (a ring: walking down a thread's consecutive
    // output rows, one new row per pair is packed); `packed_row` says which row a slot holds.
    std::vector<uint32_t> rows(size_t(3 * P) * stride, 0u);
    int64_t packed_row[3] = {-1, -1, -1};  // image n's row r as n H + r
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows_count; ++row) {
      const int n = int(row / H), i = int(row % H);
      const int u_begin = i == 0 ? 1 : 0, u_end = i == H - 1 ? 2 : 3;
      const float* xn = x + int64_t(n) * C * HW;
      int64_t row_offset[3];
      for (int u = u_begin; u < u_end; ++u) {
        const int r = i + u - 1, slot = r % 3;
        row_offset[u] = slot * stride;
        if (packed_row[slot] == int64_t(n) * H + r) continue;
        packed_row[slot] = int64_t(n) * H + r;
        for (int p = 0; p < P; ++p) {
          const float* low = xn + (2 * p) * HW + int64_t(r) * W;
          pack_row(rows.data() + (3 * p + slot) * stride + 1, low, 2 * p + 1 < C ? low + HW : nullptr, W);
        }
      }
      for (int k0 = 0; k0 < K; k0 += KB) {
        const int kb = std::min(KB, K - k0);
        Conv3x3Epilogue ep = epilogue;  // from channel k0 on
        if (ep.subtract) ep.subtract += k0, ep.scale += k0, ep.add += k0;
        for (int x0 = 0; x0 < W; x0 += tile_pixels) {
          const TileArgs args{y + (int64_t(n) * K + k0) * HW, rows.data(), stride,
                              {row_offset[0], row_offset[1], row_offset[2]}, packed.data() + size_t(k0) * P * 9,
                              b ? b + k0 : nullptr, ep, P, u_begin, u_end, i, x0, W, HW};
          run_tile(kb, XV, args);
        }
      }
    }
  }
#endif
}

}  // namespace seqnet::cpu
