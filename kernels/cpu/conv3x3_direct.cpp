// conv3x3_direct.cpp: the direct 3x3 convolution of conv3x3_direct.h.
//
// Work is split into output rows (n, i): each thread takes a run of consecutive rows and computes
// row i of every output channel from input rows i-1, i, i+1 of every input channel.
//
// Those three rows are first copied, per thread, into a small buffer with zero borders (RowRing):
// channel c's copy of row r sits at ring + (3c + r mod 3) * stride, pixel j at index j + 1, and
// the indices 0 and W+1 .. stride-1 hold zeros. So the tile's loads never need a mask for the
// zero padding, and consecutive rows share two of their three input rows: walking down the image,
// one new row per channel is copied. The copy also spreads the channels over the cache: in the
// (N,C,H,W) tensor the same pixel of consecutive channels lies H*W floats apart, a multiple of
// 4 KB at 32x32 and up, so the 16-64 channels a tile reads all fell into one set of the L1 cache
// (12 ways) and were evicted between the channel blocks that reuse them.
//
// Inside a row, a tile is KB output channels x XV vectors of L pixels, held in KB*XV
// accumulator registers (AVX-512: at most 24 of 32 registers, e.g. 6 x 4 or 8 x 3 of 16 lanes;
// AVX2: at most 12 of 16, 6 x 2 of 8 lanes; NEON: at most 16 of 32, 4 x 4 of 4 lanes; the shapes
// are chosen in conv_row). For every input channel c and tap (u, v) the tile loads XV input
// vectors, shifted by v - 1 pixels, and adds w[k,c,u,v] times each into the accumulators of
// channel k:
//     acc[k][t] += broadcast(w[k0+k, c, u, v]) * x[c, i+u-1, x0+L*t-1+v .. +L-1]
// Rows outside the plane are skipped. The epilogue (batch-norm in evaluation, ReLU) is applied
// to the registers before the store; only a last, partial vector is stored with a mask.
//
// The instruction sets differ only in the tile (Avx512Tile, Avx2Tile, NeonTile below), each
// compiled only for its own processor; the loops around it (conv_row) are shared. The tile's loops
// over KB and XV are fully unrolled (pragmas): the accumulators must be registers, not an array on
// the stack.
#include "kernels/cpu/conv3x3_direct.h"
#include "kernels/cpu/epilogue_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <omp.h>

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

// Where one tile works: channel c's copy of input row i-1+u is at
// ring + c*channel_stride + row_offset[u] (pixel j at index j+1; see RowRing); wk = w + k0*C*9;
// bk = b + k0 or null; yk = image n's output at channel k0; row i, pixels [x0, x0 + lanes*XV)
// clipped to W; taps u in [u_begin, u_end) are the rows inside the plane.
struct TileArgs {
  float* yk;
  const float* ring;
  const float* wk;
  const float* bk;
  ChannelEpilogue ep;
  int64_t channel_stride;
  int64_t row_offset[3];
  int u_begin, u_end;
  int C, H, W, i, x0;
};

#if defined(__x86_64__)
#define SEQNET_AVX512 __attribute__((target("avx512f")))
#define SEQNET_AVX2 __attribute__((target("avx2,fma")))

struct Avx512Tile {
  static constexpr int kLanes = 16, kMaxVectors = 4, kAccumulators = 24;  // of 32 registers

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
    const int64_t k_stride = int64_t(a.C) * 9;
    for (int c = 0; c < a.C; ++c) {
      // Lane l of vector t under tap v reads pixel x0 + 16t + l + v - 1: index x0 + 16t + l + v.
      const float* xc = a.ring + c * a.channel_stride + a.x0;
      const float* wc = a.wk + c * 9;
      for (int u = a.u_begin; u < a.u_end; ++u) {
        const float* row = xc + a.row_offset[u];
        for (int v = 0; v < 3; ++v) {
          __m512 in[XV];
#pragma GCC unroll 24
          for (int t = 0; t < XV; ++t) in[t] = _mm512_loadu_ps(row + kLanes * t + v);
#pragma GCC unroll 24
          for (int k = 0; k < KB; ++k) {
            const __m512 weight = _mm512_set1_ps(wc[k * k_stride + u * 3 + v]);
#pragma GCC unroll 24
            for (int t = 0; t < XV; ++t) acc[k][t] = _mm512_fmadd_ps(weight, in[t], acc[k][t]);
          }
        }
      }
    }
    apply_epilogue_avx512(acc, a.ep.subtract, a.ep.scale, a.ep.add, a.ep.relu);
    float* out = a.yk + int64_t(a.i) * a.W + a.x0;
#pragma GCC unroll 24
    for (int t = 0; t < XV; ++t) {
      const int inside = a.W - (a.x0 + kLanes * t);  // pixels of vector t inside the row
      const __mmask16 store_mask = inside >= kLanes ? 0xFFFF : static_cast<__mmask16>((1u << inside) - 1u);
#pragma GCC unroll 24
      for (int k = 0; k < KB; ++k) _mm512_mask_storeu_ps(out + k * HW + kLanes * t, store_mask, acc[k][t]);
    }
  }
};

struct Avx2Tile {
  // Segments of at most 2 vectors: 6 channels x 2 vectors + 2 inputs + 1 weight = 15 registers.
  // With 3-vector segments (4 x 3 + 3 + 1 = all 16) GCC spilled an accumulator and folded the
  // input loads into the FMAs: 110-130 GFLOP/s on 2 cores against 170-200 with 6 x 2.
  static constexpr int kLanes = 8, kMaxVectors = 2, kAccumulators = 12;  // of 16 registers

  // The AVX2 mask vector of lanes [0, n) (all bits set in the lanes kept).
  SEQNET_AVX2 static __m256i first_lanes(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }

  template <int KB, int XV>
  SEQNET_AVX2 static void run(const TileArgs& a) {
    const int64_t HW = int64_t(a.H) * a.W;
    __m256 acc[KB][XV];
#pragma GCC unroll 24
    for (int k = 0; k < KB; ++k) {
      const __m256 init = a.bk ? _mm256_set1_ps(a.bk[k]) : _mm256_setzero_ps();
#pragma GCC unroll 24
      for (int t = 0; t < XV; ++t) acc[k][t] = init;
    }
    const int64_t k_stride = int64_t(a.C) * 9;
    for (int c = 0; c < a.C; ++c) {
      const float* xc = a.ring + c * a.channel_stride + a.x0;  // as in Avx512Tile, 8 lanes
      const float* wc = a.wk + c * 9;
      for (int u = a.u_begin; u < a.u_end; ++u) {
        const float* row = xc + a.row_offset[u];
        for (int v = 0; v < 3; ++v) {
          __m256 in[XV];
#pragma GCC unroll 24
          for (int t = 0; t < XV; ++t) {
            in[t] = _mm256_loadu_ps(row + kLanes * t + v);
            __asm__("" : "+v"(in[t]));  // in a register: else GCC folds the load into the KB FMAs
          }
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
    // Masked stores (vmaskmovps, slow on AMD's cores) only for a last vector that is partial.
#pragma GCC unroll 24
    for (int t = 0; t < XV; ++t) {
      const int inside = a.W - (a.x0 + kLanes * t);
      if (inside >= kLanes) {
#pragma GCC unroll 24
        for (int k = 0; k < KB; ++k) _mm256_storeu_ps(out + k * HW + kLanes * t, acc[k][t]);
      } else {
        const __m256i store_mask = first_lanes(inside);
#pragma GCC unroll 24
        for (int k = 0; k < KB; ++k) _mm256_maskstore_ps(out + k * HW + kLanes * t, store_mask, acc[k][t]);
      }
    }
  }
};

#endif  // __x86_64__

#if defined(__aarch64__)
struct NeonTile {
  // 32 registers, as AVX-512, but at most 16 sums (4 x 4 at XV = 4), not its 24. AVX-512's FMA takes
  // the broadcast weight from memory; NEON's fmla takes it from a register lane, so GCC 12 keeps
  // several weights and the next tap's inputs in registers too and, with 24 sums, spilled them:
  // counted under qemu (docs/PERFORMANCE.md), 0.36 stores and 0.72 scalar loads per fmla in the tile
  // code, and 24.6 M instructions for 42.5 M multiply-adds (C = K = 32, 576 wide); at 16 sums no
  // spill, and 20.9 M (-15%), the same 9.7 M fmla. Counts, not times: to be timed on a real core.
  static constexpr int kLanes = 4, kMaxVectors = 4, kAccumulators = 16;

  template <int KB, int XV>
  static void run(const TileArgs& a) {
    const int64_t HW = int64_t(a.H) * a.W;
    float32x4_t acc[KB][XV];
#pragma GCC unroll 24
    for (int k = 0; k < KB; ++k) {
      const float32x4_t init = vdupq_n_f32(a.bk ? a.bk[k] : 0.0f);
#pragma GCC unroll 24
      for (int t = 0; t < XV; ++t) acc[k][t] = init;
    }
    const int64_t k_stride = int64_t(a.C) * 9;
    for (int c = 0; c < a.C; ++c) {
      const float* xc = a.ring + c * a.channel_stride + a.x0;  // as in Avx512Tile, 4 lanes
      const float* wc = a.wk + c * 9;
      for (int u = a.u_begin; u < a.u_end; ++u) {
        const float* row = xc + a.row_offset[u];
        for (int v = 0; v < 3; ++v) {
          float32x4_t in[XV];
#pragma GCC unroll 24
          for (int t = 0; t < XV; ++t) in[t] = vld1q_f32(row + kLanes * t + v);
#pragma GCC unroll 24
          for (int k = 0; k < KB; ++k) {
            const float32x4_t weight = vdupq_n_f32(wc[k * k_stride + u * 3 + v]);
#pragma GCC unroll 24
            for (int t = 0; t < XV; ++t) acc[k][t] = vfmaq_f32(acc[k][t], weight, in[t]);  // acc + weight * in
          }
        }
      }
    }
    if (a.ep.subtract)
#pragma GCC unroll 24
      for (int k = 0; k < KB; ++k) {
        const float32x4_t subtract = vdupq_n_f32(a.ep.subtract[k]), scale = vdupq_n_f32(a.ep.scale[k]),
                          add = vdupq_n_f32(a.ep.add[k]);
#pragma GCC unroll 24
        for (int t = 0; t < XV; ++t) acc[k][t] = vfmaq_f32(add, vsubq_f32(acc[k][t], subtract), scale);
      }
    if (a.ep.relu)
#pragma GCC unroll 24
      for (int k = 0; k < KB; ++k)
#pragma GCC unroll 24
        for (int t = 0; t < XV; ++t) acc[k][t] = vmaxq_f32(acc[k][t], vdupq_n_f32(0.0f));
    float* out = a.yk + int64_t(a.i) * a.W + a.x0;
    // NEON has no masked store: a last, partial vector goes through a small array.
#pragma GCC unroll 24
    for (int t = 0; t < XV; ++t) {
      const int inside = a.W - (a.x0 + kLanes * t);
#pragma GCC unroll 24
      for (int k = 0; k < KB; ++k) {
        float* dst = out + k * HW + kLanes * t;
        if (inside >= kLanes) {
          vst1q_f32(dst, acc[k][t]);
        } else {
          float lanes[kLanes];
          vst1q_f32(lanes, acc[k][t]);
          std::memcpy(dst, lanes, inside * sizeof(float));
        }
      }
    }
  }
};
#endif  // __aarch64__

// Per thread: input rows i-1, i, i+1 of every channel of one image, with zero borders (the top
// of this file). A thread walks down consecutive rows, so each new output row copies one row.
class RowRing {
 public:
  // Room for C channels of W pixels: a row's stride covers whole vectors of `lanes` plus the two
  // border pixels, rounded to whole 64-byte lines. Everything starts as zeros.
  void reset(int C, int W, int lanes) {
    stride_ = round_up(round_up(W, lanes) + 2, 16);
    const size_t floats = size_t(3) * C * stride_;
    if (storage_.size() < floats + 16) storage_.resize(floats + 16);
    data_ = storage_.data() + (16 - reinterpret_cast<uintptr_t>(storage_.data()) / sizeof(float) % 16) % 16;
    std::fill(data_, data_ + floats, 0.0f);
    image_ = -1;
  }

  // Makes the ring hold rows i-1, i, i+1 (those inside the plane) of image n, xn = its (C,H,W).
  void hold(const float* xn, int n, int C, int H, int W, int i) {
    if (n != image_) {
      image_ = n;
      std::fill(std::begin(held_), std::end(held_), -1);
    }
    const int64_t HW = int64_t(H) * W;
    for (int r = std::max(0, i - 1); r <= std::min(H - 1, i + 1); ++r) {
      if (held_[r % 3] == r) continue;
      held_[r % 3] = r;
      for (int c = 0; c < C; ++c)
        std::memcpy(data_ + channel_stride() * c + offset(r) + 1, xn + c * HW + int64_t(r) * W, W * sizeof(float));
    }
  }

  const float* data() const { return data_; }
  int64_t channel_stride() const { return 3 * stride_; }
  int64_t offset(int r) const { return r >= 0 ? int64_t(r % 3) * stride_ : 0; }  // of row r in its channel

 private:
  static int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }
  std::vector<float> storage_;
  float* data_ = nullptr;
  int64_t stride_ = 0;
  int image_ = -1;
  int held_[3] = {-1, -1, -1};  // the plane row in each slot
};

// Tile shapes. A row of V = ceil(W / lanes) vectors is cut into segments of at most
// Tile::kMaxVectors vectors, as equal as they can be (AVX-512: 8 vectors = 4 + 4, not 3 + 3 + 2;
// 4 = 4, not 3 + 1: a one-vector tile reloads every weight for 16 pixels only). Output channels
// go in blocks of KB with KB * XV <= Tile::kAccumulators (the registers the sums may use) for the
// widest segment, the largest block first: at XV = 1, 24 channels share each loaded input vector
// instead of 8.
//
// The loop order inside a row: blocks of channels outside, segments inside. A block's tiles then
// store along the row into the same KB planes, one line after the next, and reuse the block's
// weights (KB x C x 9 floats) over the whole row. The other order (segments outside, every block
// of a segment in turn) stored each segment's pixel into all K planes before moving on; the
// planes lie H*W floats apart, a multiple of 4 KB at 2^n x 2^n from 32, 288x288 and 576x576, so those K
// lines fall into one set of the L1 cache (8 ways) and evicted each other, and every weight of the
// layer was read again for every segment. Measured on one thread, alternating the two builds
// (docs/PERFORMANCE.md): C16>K32 288x288 7-13% less time, C32>K32 576x576 5-11%, C3>K16 576x576
// 7-12%, the deep levels 0-7%, K = 16 levels the same.
constexpr int kBlockSizes[] = {24, 12, 8, 6, 4, 3, 2, 1};

// One tile: channels [k0, k0 + KB) of segment a (its x0, XV vectors wide).
template <typename Tile, int XV, int KB>
void conv_tile(TileArgs a, int k0, int64_t channel_stride, int64_t weight_stride) {
  a.yk += k0 * channel_stride;
  a.wk += k0 * weight_stride;
  a.bk = a.bk ? a.bk + k0 : nullptr;
  a.ep = a.ep.at(k0);
  Tile::template run<KB, XV>(a);
}

// Channels [k0, k0 + KB) of the whole row, segment by segment (a.x0 = 0). KB fits the widest
// segment, so it fits each: the cases whose KB * XV would not fit are never reached.
template <typename Tile, int KB>
void conv_row_block(TileArgs a, int k0, int vectors, int segments, int64_t channel_stride, int64_t weight_stride) {
  for (int s = 0; s < segments; ++s) {
    const int xv = vectors / segments + (s < vectors % segments ? 1 : 0);
    switch (xv) {
      case 4:
        if constexpr (Tile::kMaxVectors >= 4 && KB * 4 <= Tile::kAccumulators)
          conv_tile<Tile, 4, KB>(a, k0, channel_stride, weight_stride);
        break;
      case 3:
        if constexpr (Tile::kMaxVectors >= 3 && KB * 3 <= Tile::kAccumulators)
          conv_tile<Tile, 3, KB>(a, k0, channel_stride, weight_stride);
        break;
      case 2:
        if constexpr (KB * 2 <= Tile::kAccumulators) conv_tile<Tile, 2, KB>(a, k0, channel_stride, weight_stride);
        break;
      default: conv_tile<Tile, 1, KB>(a, k0, channel_stride, weight_stride); break;
    }
    a.x0 += xv * Tile::kLanes;
  }
}

// Channels [k0, K) of the row in blocks of at most `largest`, the largest block size first.
template <typename Tile, int KB_INDEX = 0>
void conv_row_blocks(const TileArgs& a, int k0, int K, int largest, int vectors, int segments, int64_t channel_stride,
                     int64_t weight_stride) {
  constexpr int KB = kBlockSizes[KB_INDEX];
  if constexpr (KB <= Tile::kAccumulators) {
    if (KB <= largest)
      for (; k0 + KB <= K; k0 += KB) conv_row_block<Tile, KB>(a, k0, vectors, segments, channel_stride, weight_stride);
  }
  if constexpr (KB > 1)
    conv_row_blocks<Tile, KB_INDEX + 1>(a, k0, K, largest, vectors, segments, channel_stride, weight_stride);
}

// Row i of all K output channels, block by block, from the rows in the ring.
template <typename Tile>
void conv_row(float* yn, const RowRing& ring, const float* w, const float* b, const ChannelEpilogue& ep, int C,
              int H, int W, int K, int i) {
  const int64_t HW = int64_t(H) * W, k_stride = int64_t(C) * 9;
  const int vectors = (W + Tile::kLanes - 1) / Tile::kLanes;
  const int segments = (vectors + Tile::kMaxVectors - 1) / Tile::kMaxVectors;
  const int widest = (vectors + segments - 1) / segments;  // vectors of the first (widest) segment
  const TileArgs a{yn,
                   ring.data(),
                   w,
                   b,
                   ep,
                   ring.channel_stride(),
                   {ring.offset(i - 1), ring.offset(i), ring.offset(i + 1)},
                   i == 0 ? 1 : 0,
                   i == H - 1 ? 2 : 3,
                   C,
                   H,
                   W,
                   i,
                   0};
  conv_row_blocks<Tile>(a, 0, K, Tile::kAccumulators / widest, vectors, segments, HW, k_stride);
}

template <typename Tile>
void conv_all_rows(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                   const ChannelEpilogue& ep) {
  const int64_t HW = int64_t(H) * W, rows = int64_t(N) * H;
#pragma omp parallel if (int64_t(N) * H * W * K * C >= (1 << 16))
  {
    // Each thread takes one run of consecutive rows (n, i): every row costs the same, and
    // consecutive rows share two input rows in the ring.
    const int threads = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t begin = rows * t / threads, end = rows * (t + 1) / threads;
    static thread_local RowRing ring;
    ring.reset(C, W, Tile::kLanes);
    for (int64_t r = begin; r < end; ++r) {
      const int n = int(r / H), i = int(r % H);
      ring.hold(x + int64_t(n) * C * HW, n, C, H, W, i);
      conv_row<Tile>(y + int64_t(n) * K * HW, ring, w, b, ep, C, H, W, K, i);
    }
  }
}

// The widest instruction set this CPU has, narrowed to AVX2 by SEQNET_CONV=avx2.
std::optional<Conv3x3Isa> widest_isa() {
  const char* choice = std::getenv("SEQNET_CONV");
  const std::string asked = choice ? choice : "";
  if (asked != "avx2" && conv3x3_isa_supported(Conv3x3Isa::avx512)) return Conv3x3Isa::avx512;
  if (conv3x3_isa_supported(Conv3x3Isa::avx2)) return Conv3x3Isa::avx2;
  if (conv3x3_isa_supported(Conv3x3Isa::neon)) return Conv3x3Isa::neon;
  return std::nullopt;
}

}  // namespace

std::optional<Conv3x3Isa> conv3x3_direct_isa() {
  static const std::optional<Conv3x3Isa> isa = widest_isa();
  return isa;
}

bool conv3x3_isa_supported(Conv3x3Isa isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (isa == Conv3x3Isa::avx512) return __builtin_cpu_supports("avx512f");
  if (isa == Conv3x3Isa::avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return false;
#elif defined(__aarch64__)
  return isa == Conv3x3Isa::neon;  // Advanced SIMD (NEON) is part of the base aarch64 instruction set
#else
  (void)isa;
  return false;
#endif
}

const char* conv3x3_isa_name(Conv3x3Isa isa) {
  switch (isa) {
    case Conv3x3Isa::avx2: return "AVX2";
    case Conv3x3Isa::avx512: return "AVX-512";
    case Conv3x3Isa::neon: return "NEON";
  }
  return "?";
}

bool conv3x3_direct_available() { return conv3x3_direct_isa().has_value(); }

void conv3x3_forward_direct(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                            int K, const Conv3x3Epilogue& epilogue) {
  conv3x3_forward_direct_with(*conv3x3_direct_isa(), y, x, w, b, N, C, H, W, K, epilogue);
}

void conv3x3_forward_direct_with(Conv3x3Isa isa, float* y, const float* x, const float* w, const float* b, int N,
                                 int C, int H, int W, int K, const Conv3x3Epilogue& epilogue) {
  // (An instruction set the CPU lacks would stop the program; one of another processor is not built.)
  if (!conv3x3_isa_supported(isa))
    throw std::invalid_argument(std::string("the direct 3x3 kernel's ") + conv3x3_isa_name(isa) +
                                " version: this CPU or build lacks it");
  const ChannelEpilogue ep{epilogue.subtract, epilogue.scale, epilogue.add, epilogue.relu};
#if defined(__x86_64__)
  if (isa == Conv3x3Isa::avx512) conv_all_rows<Avx512Tile>(y, x, w, b, N, C, H, W, K, ep);
  else conv_all_rows<Avx2Tile>(y, x, w, b, N, C, H, W, K, ep);
#elif defined(__aarch64__)
  conv_all_rows<NeonTile>(y, x, w, b, N, C, H, W, K, ep);
#else
  (void)y, (void)x, (void)w, (void)b, (void)N, (void)C, (void)H, (void)W, (void)K, (void)ep;
#endif
}

}  // namespace seqnet::cpu
