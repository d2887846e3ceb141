// conv3x3_weight_direct.cpp: the direct 3x3 weight gradient of conv3x3_weight_direct.h.
//
// Work is split into pieces, a band of rows [i0, i1) of one image each. A piece is first copied
// with zero borders, so that no tap needs a mask (Wp = W + 2 columns per padded row):
//   xp  (C, rows + 2, Wp): x rows i0-1 .. i1 (zero rows outside the plane), columns -1 .. W (zero
//       at both ends);
//   dyp (K, rows, Wp):     dy rows i0 .. i1-1 in columns 0 .. W-1 of the padded row, zero in its
//                          two border columns.
// Read flat, padded pixel q = r*Wp + jp of dyp (plane pixel (i0 + r, jp - 1)) meets tap (u, v) at
//   xp[q + u*Wp + v - 1]:
// one fixed offset per tap, so each tap of a vector of pixels is one unaligned load. Border
// columns of dyp are zero, so the pixels they stand for add nothing, whatever x they meet.
// The vector loop runs past the piece's last pixel up to a whole vector; both copies are zero there.
//
// Inside a piece, for every block of KB output channels and every input channel c, the kernel
// keeps acc[k][tap] (vectors of per-lane partial sums) in registers over all the piece's pixels:
//     acc[k][3u+v] += dyp[k0+k, q .. q+L-1] * xp[c, q+u*Wp+v-1 .. +L-1]
// then adds each vector's lanes into dw. The x copy (C channels) stays in L2 while every channel
// block reads it; the dy rows of one block stay in L1 while every c reads them.
//
// Each instruction set's kernel is compiled only for its own processor (x86-64: AVX-512, AVX2;
// aarch64: NEON, with AVX-512's 32 registers and so its 3 x 9 sums, of 4 lanes).
//
// Threads take whole pieces (static schedule) and sum into their own copy of dw (thread_sums.h);
// the copies are added at the end in thread order: deterministic for a thread count.
#include "kernels/cpu/conv3x3_weight_direct.h"

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <omp.h>

#include "kernels/cpu/thread_sums.h"

namespace seqnet::cpu {

namespace {

// A piece's padded copies, as the kernels read them.
struct PaddedPiece {
  const float* dyp;  // (K, dy_stride): channel k's padded rows at dyp + k*dy_stride
  const float* xp;   // (C, x_stride): channel c's padded rows start at xp + c*x_stride + 1
  int64_t dy_stride, x_stride;
  int Wp;       // padded row length, W + 2
  int vectors;  // vectors of pixels per channel, covering rows * Wp
};

#if defined(__x86_64__)
#define SEQNET_AVX512 __attribute__((target("avx512f")))
#define SEQNET_AVX2 __attribute__((target("avx2,fma")))

// The sum of a vector's lanes. Masked extracts: GCC 12 warns about the undefined operand inside
// the unmasked ones (and so inside _mm512_reduce_add_ps and _mm512_castps512_ps256).
SEQNET_AVX512 float sum_lanes_avx512(__m512 v) {
  const __m256 low = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, _mm512_castps_pd(v), 0));
  const __m256 high = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, _mm512_castps_pd(v), 1));
  const __m256 eight = _mm256_add_ps(low, high);
  const __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
  const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(two, _mm_shuffle_ps(two, two, 1)));
}

// dw[k0+k, c, tap] += the piece's sums for channels [k0, k0 + KB) and input channel c.
template <int KB>
SEQNET_AVX512 void accumulate_avx512(float* dw, const PaddedPiece& p, int C, int k0, int c) {
  constexpr int L = 16;
  __m512 acc[KB][9];
  for (int k = 0; k < KB; ++k)
    for (int tap = 0; tap < 9; ++tap) acc[k][tap] = _mm512_setzero_ps();
  const float* dy = p.dyp + k0 * p.dy_stride;
  // Channel c's padded rows start at x + 1, so tap (u, v) of pixel q is x[q + u*Wp + v].
  const float* x = p.xp + c * p.x_stride;
  for (int t = 0; t < p.vectors; ++t) {
    const int64_t q = int64_t(t) * L;
    __m512 d[KB];
#pragma GCC unroll 3
    for (int k = 0; k < KB; ++k) d[k] = _mm512_loadu_ps(dy + k * p.dy_stride + q);
    // (fully unrolled, so that acc stays in registers)
#pragma GCC unroll 3
    for (int u = 0; u < 3; ++u)
#pragma GCC unroll 3
      for (int v = 0; v < 3; ++v) {
        __m512 in = _mm512_loadu_ps(x + q + u * p.Wp + v);
        // Held in a register: else GCC folds the load into each of the KB FMAs, and the (cache
        // line splitting) loads, not the FMAs, set the pace.
        __asm__("" : "+v"(in));
#pragma GCC unroll 3
        for (int k = 0; k < KB; ++k) acc[k][3 * u + v] = _mm512_fmadd_ps(d[k], in, acc[k][3 * u + v]);
      }
  }
  for (int k = 0; k < KB; ++k) {
    float* dwk = dw + (int64_t(k0 + k) * C + c) * 9;
    for (int tap = 0; tap < 9; ++tap) dwk[tap] += sum_lanes_avx512(acc[k][tap]);
  }
}

SEQNET_AVX2 float sum_lanes_avx2(__m256 v) {
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 pairs = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
}

// AVX2 has 16 registers, not 32: the 9 taps go in three passes of one tap row u each. A pass keeps
// KB x 3 sums (KB = 4: 12 registers), the 3 shifted input vectors of the row and one dy vector at
// a time: 16 registers, 7 loads for 12 fused multiply-adds.
template <int KB>
SEQNET_AVX2 void accumulate_avx2(float* dw, const PaddedPiece& p, int C, int k0, int c) {
  constexpr int L = 8;
  const float* dy = p.dyp + k0 * p.dy_stride;
  const float* x = p.xp + c * p.x_stride;  // tap (u, v) of pixel q at x[q + u*Wp + v], as above
  for (int u = 0; u < 3; ++u) {
    __m256 acc[KB][3];
    for (int k = 0; k < KB; ++k)
      for (int v = 0; v < 3; ++v) acc[k][v] = _mm256_setzero_ps();
    const float* x_row = x + u * p.Wp;
    for (int t = 0; t < p.vectors; ++t) {
      const int64_t q = int64_t(t) * L;
      __m256 in[3];
#pragma GCC unroll 3
      for (int v = 0; v < 3; ++v) {
        in[v] = _mm256_loadu_ps(x_row + q + v);
        __asm__("" : "+v"(in[v]));  // one load for KB FMAs, as above
      }
#pragma GCC unroll 4
      for (int k = 0; k < KB; ++k) {
        __m256 d = _mm256_loadu_ps(dy + k * p.dy_stride + q);
        __asm__("" : "+v"(d));  // one load for 3 FMAs
#pragma GCC unroll 3
        for (int v = 0; v < 3; ++v) acc[k][v] = _mm256_fmadd_ps(d, in[v], acc[k][v]);
      }
    }
    for (int k = 0; k < KB; ++k) {
      float* dwk = dw + (int64_t(k0 + k) * C + c) * 9 + 3 * u;
      for (int v = 0; v < 3; ++v) dwk[v] += sum_lanes_avx2(acc[k][v]);
    }
  }
}

#endif  // __x86_64__

#if defined(__aarch64__)
// As accumulate_avx512, 4 lanes: 27 sums, 3 dy vectors and one input, 31 of the 32 registers.
template <int KB>
void accumulate_neon(float* dw, const PaddedPiece& p, int C, int k0, int c) {
  constexpr int L = 4;
  float32x4_t acc[KB][9];
  for (int k = 0; k < KB; ++k)
    for (int tap = 0; tap < 9; ++tap) acc[k][tap] = vdupq_n_f32(0.0f);
  const float* dy = p.dyp + k0 * p.dy_stride;
  const float* x = p.xp + c * p.x_stride;  // tap (u, v) of pixel q at x[q + u*Wp + v], as above
  for (int t = 0; t < p.vectors; ++t) {
    const int64_t q = int64_t(t) * L;
    float32x4_t d[KB];
#pragma GCC unroll 3
    for (int k = 0; k < KB; ++k) d[k] = vld1q_f32(dy + k * p.dy_stride + q);
#pragma GCC unroll 3
    for (int u = 0; u < 3; ++u)
#pragma GCC unroll 3
      for (int v = 0; v < 3; ++v) {
        const float32x4_t in = vld1q_f32(x + q + u * p.Wp + v);
#pragma GCC unroll 3
        for (int k = 0; k < KB; ++k) acc[k][3 * u + v] = vfmaq_f32(acc[k][3 * u + v], d[k], in);
      }
  }
  for (int k = 0; k < KB; ++k) {
    float* dwk = dw + (int64_t(k0 + k) * C + c) * 9;
    for (int tap = 0; tap < 9; ++tap) dwk[tap] += vaddvq_f32(acc[k][tap]);
  }
}
#endif  // __aarch64__

// Each instruction set's kernel and its largest channel block.
#if defined(__x86_64__)
struct Avx512Sums {
  static constexpr int kMaxBlock = 3;  // 3 x 9 sums
  template <int KB>
  static void run(float* dw, const PaddedPiece& p, int C, int k0, int c) { accumulate_avx512<KB>(dw, p, C, k0, c); }
};
struct Avx2Sums {
  static constexpr int kMaxBlock = 4;  // 4 x 3 sums
  template <int KB>
  static void run(float* dw, const PaddedPiece& p, int C, int k0, int c) { accumulate_avx2<KB>(dw, p, C, k0, c); }
};
#elif defined(__aarch64__)
struct NeonSums {
  static constexpr int kMaxBlock = 3;  // 3 x 9 sums
  template <int KB>
  static void run(float* dw, const PaddedPiece& p, int C, int k0, int c) { accumulate_neon<KB>(dw, p, C, k0, c); }
};
#endif

// Channel blocks of the largest size, then one block of the rest.
template <typename Sums>
void accumulate_piece_with(float* dw, const PaddedPiece& p, int C, int K) {
  int k0 = 0;
  for (; k0 + Sums::kMaxBlock <= K; k0 += Sums::kMaxBlock)
    for (int c = 0; c < C; ++c) Sums::template run<Sums::kMaxBlock>(dw, p, C, k0, c);
  for (int c = 0; c < C; ++c) switch (K - k0) {
      case 3: if constexpr (Sums::kMaxBlock > 3) Sums::template run<3>(dw, p, C, k0, c); break;
      case 2: Sums::template run<2>(dw, p, C, k0, c); break;
      case 1: Sums::template run<1>(dw, p, C, k0, c); break;
      default: break;
    }
}

// (Only instruction sets this build has reach here: see conv3x3_weight_gradient_direct_with.)
void accumulate_piece(Conv3x3Isa isa, float* dw, const PaddedPiece& p, int C, int K) {
#if defined(__x86_64__)
  if (isa == Conv3x3Isa::avx512) accumulate_piece_with<Avx512Sums>(dw, p, C, K);
  else accumulate_piece_with<Avx2Sums>(dw, p, C, K);
#elif defined(__aarch64__)
  (void)isa;
  accumulate_piece_with<NeonSums>(dw, p, C, K);
#else
  (void)isa, (void)dw, (void)p, (void)C, (void)K;
#endif
}

// The floats in one vector of the instruction set.
int lanes_of(Conv3x3Isa isa) {
  switch (isa) {
    case Conv3x3Isa::avx512: return 16;
    case Conv3x3Isa::avx2: return 8;
    case Conv3x3Isa::neon: return 4;
  }
  return 4;
}

// The sizes of a piece of `rows` rows with vectors of `lanes` floats.
struct PieceLayout {
  int rows, Wp, vectors;
  int64_t dy_stride, x_stride;
  PieceLayout(int rows_, int W, int lanes) {
    rows = rows_;
    Wp = W + 2;
    vectors = int((int64_t(rows) * Wp + lanes - 1) / lanes);
    dy_stride = int64_t(vectors) * lanes;
    // 1 zero float in front (tap v = 0 at q = 0 reads index -1), rows + 2 padded rows, and a
    // vector's worth of zeros behind (the last vector reads up to q + 2*Wp + lanes).
    x_stride = 1 + int64_t(rows + 2) * Wp + lanes;
  }
  int64_t floats(int C, int K) const { return int64_t(C) * x_stride + int64_t(K) * dy_stride; }
};

// One padded row: a zero, W floats of src (zeros when src is null), a zero.
void pad_row(float* dst, const float* src, int W) {
  dst[0] = 0.0f;
  if (src) std::memcpy(dst + 1, src, W * sizeof(float));
  else std::fill(dst + 1, dst + 1 + W, 0.0f);
  dst[W + 1] = 0.0f;
}

// Copies rows [i0, i1) of image n into the padded layout (the header comment's xp and dyp). Only
// the borders are zeroed, not the whole piece: the copies are a memory pass of their own. A short
// last band fills the layout's rows past its end with zeros.
void copy_piece(float* scratch, const PieceLayout& layout, const float* dy_n, const float* x_n, int C, int H, int W,
                int K, int i0, int i1) {
  const int64_t HW = int64_t(H) * W;
  const int rows = i1 - i0, Wp = layout.Wp;
  for (int c = 0; c < C; ++c) {
    float* xc = scratch + c * layout.x_stride;
    xc[0] = 0.0f;  // read by tap v = 0 at q = 0
    for (int r = 0; r < layout.rows + 2; ++r) {
      const int i = i0 - 1 + r;
      const bool in_plane = r < rows + 2 && i >= 0 && i < H;
      pad_row(xc + 1 + int64_t(r) * Wp, in_plane ? x_n + c * HW + int64_t(i) * W : nullptr, W);
    }
    std::fill(xc + 1 + int64_t(layout.rows + 2) * Wp, xc + layout.x_stride, 0.0f);
  }
  float* dyp = scratch + int64_t(C) * layout.x_stride;
  for (int k = 0; k < K; ++k) {
    float* dyk = dyp + k * layout.dy_stride;
    for (int r = 0; r < layout.rows; ++r)
      pad_row(dyk + int64_t(r) * Wp, r < rows ? dy_n + k * HW + int64_t(i0 + r) * W : nullptr, W);
    std::fill(dyk + int64_t(layout.rows) * Wp, dyk + layout.dy_stride, 0.0f);
  }
}

// Rows per piece: the padded copies within about 384 KB (the x copy is read once per channel block,
// from L2), and enough pieces for every thread to get about four.
int piece_rows(int N, int C, int H, int W, int K, int threads) {
  constexpr int64_t kPieceFloats = 96 * 1024;
  const int64_t fit = std::max<int64_t>(1, kPieceFloats / (int64_t(C + K) * (W + 2)));
  const int64_t bands_wanted = (4 * threads + N - 1) / N;
  const int64_t balanced = (H + bands_wanted - 1) / bands_wanted;
  const int64_t rows = std::clamp<int64_t>(std::min(fit, balanced), 1, H);
  const int64_t bands = (H + rows - 1) / rows;
  return int((H + bands - 1) / bands);  // bands of equal height
}

}  // namespace

void conv3x3_weight_gradient_direct(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K) {
  conv3x3_weight_gradient_direct_with(*conv3x3_direct_isa(), dw, dy, x, N, C, H, W, K);
}

void conv3x3_weight_gradient_direct_with(Conv3x3Isa isa, float* dw, const float* dy, const float* x, int N, int C,
                                         int H, int W, int K) {
  if (!conv3x3_isa_supported(isa))
    throw std::invalid_argument(std::string("the direct weight gradient's ") + conv3x3_isa_name(isa) +
                                " version: this CPU or build lacks it");
  if (N == 0 || H == 0 || W == 0 || C == 0 || K == 0) return;
  const int64_t HW = int64_t(H) * W, dw_size = int64_t(K) * C * 9;
  const int max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int rows = piece_rows(N, C, H, W, K, max_threads), bands = (H + rows - 1) / rows, pieces = N * bands;
  const int threads = std::max(1, std::min(max_threads, pieces));
  const PieceLayout layout(rows, W, lanes_of(isa));
  const int64_t piece_floats = layout.floats(C, K);
  // Grows once to the largest layer; a training step after the first allocates nothing.
  static thread_local std::vector<float> scratch;
  scratch.resize(std::max<size_t>(scratch.size(), size_t(threads * piece_floats)));
  float* const all_pieces = scratch.data();
  const ThreadSums<float> sums(dw, dw_size, threads);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    float* piece = all_pieces + t * piece_floats;
    float* my_dw = sums.of(t);
    // The last band may be shorter: its layout is the full one's, with fewer rows copied (the
    // rest stays zero and adds nothing).
    const PaddedPiece padded{piece + int64_t(C) * layout.x_stride, piece, layout.dy_stride, layout.x_stride,
                             layout.Wp, layout.vectors};
#pragma omp for schedule(static)
    for (int index = 0; index < pieces; ++index) {
      const int n = index / bands, i0 = index % bands * rows, i1 = std::min(H, i0 + rows);
      copy_piece(piece, layout, dy + int64_t(n) * K * HW, x + int64_t(n) * C * HW, C, H, W, K, i0, i1);
      accumulate_piece(isa, my_dw, padded, C, K);
    }
  }
  sums.add_copies_into_dw();
}

}  // namespace seqnet::cpu
