// implicit_gemm.cuh: the tiled GEMMs shared by the convolutions (conv2d.cu) and the transposed
// convolution (conv_transpose2x2.cu), whose B operand is gathered from a feature map as it is
// loaded, never stored: gemm (forward-like passes) and, at the end of the file, wgrad (weight
// gradients, the reduction over pixels). The first computes
//
//   out (M, Q) = A (M, R) * B (R, Q),   Q = N*H*W pixels of the map the gather reads.
//
// What A, B and the output's layout are is an Op, a struct of device functions:
//   struct Op {
//     struct Column;                                             // a thread's pixel q, found once
//     static Column column(const GemmArgs&, int64_t q);          // q < Q
//     struct Row;                                                // a thread's row m of A, found once
//     static Row row(const GemmArgs&, int m);                    // m < M
//     struct Slice;                                              // reduction rows r0..r0+BK-1
//     static Slice slice(const GemmArgs&, int r0);               // r0 a multiple of BK, once
//     static void next(const GemmArgs&, Slice&);                 // r0 += BK, every step
//     static bool a_present(const GemmArgs&, const Slice&, int k);  // A(m, r0 + k) is not a padding 0
//     static const float* a_source(const GemmArgs&, const Slice&, const Row&, int r0, int k);  // &A(m, r0 + k)
//     static int a_row_stride(const GemmArgs&);                  // &A(m + 1, r) - &A(m, r), in floats
//     struct Gather;                                             // a step's B at the thread's pixel
//     static Gather gather(const GemmArgs&, const Slice&, const Column&, int r0, int rows);
//     static float b(const GemmArgs&, const Gather&, int k);     // B(r0 + k, q); 0 for k >= rows
//     (or, where B's rows are evenly spaced in memory, kStridedB below: b_count, b_source and
//     b_row_stride instead of b)
//     static int64_t out_index(const GemmArgs&, int n, int p, int m);  // where out(m, q) goes, q = n HW + p
//     static int bias_index(const GemmArgs&, int m);             // bias[] of row m (if bias)
//     static constexpr bool kFullSteps;   // R is a multiple of BK: no step is cut short by R
//     static constexpr bool kBatchNormRelu;                      // the epilogue below may apply
//     static constexpr int kWideBlocks;   // FP32 64x128 blocks a multiprocessor must hold (gemm_min_blocks)
//   };
// The Slice carries what the BK rows of a step share, advanced by next() instead of being found
// from r (for the convolutions: the tap and the first channel, so no division and no bounds test
// of the tap's pixel sits in the main loop: Conv in conv2d.cu). The Gather is what a thread's BK
// loads of B in one step share, found once per step: a base address and how many of the rows
// are there (0 when the pixel is outside, or past Q); b(k) is then a compare, an add of k times a
// stride, and a load, and with kStridedB a compare, one pointer add and a load: the thread walks
// down its rows. (Left to the compiler inside b, the base and the tests were redone for each
// of the 8 loads: ~14 integer instructions per gathered element in PTX.)
//
// Epilogue: out = acc + bias[bias_index(m)], then, when bn_relu is set (the evaluation-mode
// Conv2d -> BatchNorm2d -> ReLU of ops::conv2d_batchnorm_relu_eval), out = max(0, (out - mean) *
// scale + beta) with (mean, scale, beta) = bn_relu[bias_index(m)], in registers before the store
// (after the split sums are added, with split-K): no separate passes over the output. Only ops
// with kBatchNormRelu compile that test (the forward convolutions): ptxas allocates the others'
// registers as before (with it compiled in, one of them spilled 12 bytes).
//
// Tiling. A block of (BM/TM) x CT threads computes a BM x BN tile (BM = 16, 32 or 64 rows, BN =
// 16*TN columns, TN = 4 or 8), each thread TM x TC outputs, CT = BN / TC (ThreadTile: 8 x 8 on
// the 64-row tiles, 4 x 8 on 32 x 128, 8 x 4 on 32 x 64, 4 x 4 on the 16-row tiles). Thread (ty, tx) owns the TM rows
// ty*TM..ty*TM+TM-1 and the TC columns g*4*CT + tx*4 + {0..3}, g < TC/4, so a warp's float4 reads
// of a shared row touch 4 CT consecutive floats (no bank conflicts) and each thread does TM*TC
// FMAs per TM/4 + TC/4 shared loads. The reduction advances BK = 8 rows (one slice) per step,
// two slices on the 32 x 128 tile (kGemmSlices): the next step is fetched into registers while
// the current one is multiplied out of shared memory (two shared buffers, one barrier per step).
// The gathered elements are predicated loads (load_if_below). Shared rows are padded by 4 floats
// so the transposing stores (8 reduction indices x 4 rows per warp) land in 32 different banks.
//
// BM = 32 for M <= 32 (SeqNet's 32-channel level and refiners, where a 64-row tile would be half
// padding), and in FP32 BM = 16 for M <= 16 (the first level of a width-16 model, the shipped
// one, where a 32-row tile's FMAs were half on padding rows): 4 x 4 outputs a thread, 64 or 128
// threads; 46-52% of its loop's PTX is FMA, but all of it on real rows, so per useful output it
// issues 0.64x the 32-row tile's instructions.
//
// Split-K. Where the tiles give less than about two waves, the reduction is cut into `splits`
// ranges of r_chunk (a multiple of BK), one per grid z; each writes its tile to its own slice of
// a partial buffer (M, Q), and add_splits_kernel adds the slices in z order (then the bias) into
// the output: deterministic, no atomics.
//
// TF32 (precision tf32; the convolutions only): gemm_tf32_kernel, its own main loop on tensor
// cores (mma.cuh), built so that the instructions around each mma are few:
// - 128 threads (4 warps) on every tile; the warps form a (BM/32) x (128/BM) grid, each owning
//   32 x WN of the tile (WN = 64 on 64x128, 32 on 64x64 and 32x128, 16 on 32x64), i.e. 2 x WN/8
//   fragments of 16 x 8: per 8 reduction rows a lane takes 8 + WN/4 fragment values from shared
//   memory and the warp issues WN/4 mma (16 on 64x128, one A value feeding WN/8 mma, one B value 2).
// - The slices go from global to shared memory by cp.async (cp_async.cuh), no register staging:
//   each element is one copy, its source address and whether it is present (absent ones are
//   zero-filled by the copy); B's TF32 rounding is done on the fragment values as they are loaded
//   from shared memory (round_to_tf32), A arrives rounded (the caller rounds the weights once:
//   conv2d.cu), the same rounding of the same values as before, so the error bounds of
//   tests/cuda/test_cuda_tf32.cpp hold unchanged.
// - A step is kTf32Step = 16 reduction rows (two Op slices) per barrier, in kTf32Stages = 3
//   shared buffers: while a step is multiplied, the copies of the next two are in flight.
// The Op must have kFullSteps (every slice of BK rows inside R, as Conv's are) and, beside the
// FP32 tile's functions, these sources: A(m, r0 + k) = a_row_source(row, k)[a_slice_offset(slice)]
// for k < a_count(slice), B(r0 + k, q) = *b_source(gather, k) for k < b_count(gather), both 0
// beyond:
//     static int a_count(const GemmArgs&, const Slice&);
//     static const float* a_row_source(const GemmArgs&, const Row&, int k);  // found once per row
//     static int a_slice_offset(const Slice&);
//     static int b_count(const Gather&);
//     static const float* b_source(const Gather&, int k);
// The shared layout is the fragments' (Tf32Layout): a lane's values sit side by side, so it loads
// them as float4 (float2 on 32x64), 12 loads a step on 64x128 instead of 48, without bank conflicts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels/cuda/check.h"
#include "kernels/cuda/cp_async.cuh"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/mma.cuh"

namespace seqnet::cuda::implicit_gemm {

constexpr int BK = 8;           // reduction step
constexpr int kPad = 4;         // shared row padding, in floats (keeps float4 alignment)
constexpr int kTf32Step = 2 * BK;   // the TF32 path's reduction rows per barrier
constexpr int kTf32Stages = 3;      // and its shared buffers
constexpr int kTf32Threads = 128;   // and its block size
constexpr int kMinSplitSteps = 16;  // reduction steps per split at least (128 products per output)

// Channels rounded up to a whole number of steps: the convolutions order their reduction taps
// outer, channels inner, each tap's channels padded to this (conv2d.cu, conv_transpose2x2.cu), so
// that a step's BK rows are channels of one tap.
__host__ __device__ constexpr int padded_channels(int channels) { return (channels + BK - 1) / BK * BK; }

// The operands of one GEMM: `in` is the map B is gathered from, (N, Cin, H, W); Q = N*H*W.
struct GemmArgs {
  float* out;
  const float* in;
  const float* w;
  const float* bias;  // or null
  int N, Cin, H, W;
  int M, R;
  const float4* bn_relu = nullptr;  // per bias index (mean, scale, beta, unused), or null
};

// The taps-outer walk of padded_channels (above), for an Op whose Slice holds c0 (its first
// channel), tap, a_offset and b_offset, and which gives at_tap(g, c0, tap) and each offset's step
// from one channel to the next, a_channel_stride(g) and b_channel_stride(g) (conv2d.cu's Conv,
// conv_transpose2x2.cu's UpsampleBackwardInput): the slice of rows r0 .. r0 + BK - 1, and the
// next slice (BK channels on, or the next tap's first after its last).
template <class Op>
__device__ __forceinline__ typename Op::Slice first_tap_slice(const GemmArgs& g, int r0) {
  const int Cp = padded_channels(g.Cin), tap = Cp > 0 ? r0 / Cp : 0;
  return Op::at_tap(g, r0 - tap * Cp, tap);
}
template <class Op>
__device__ __forceinline__ void next_tap_slice(const GemmArgs& g, typename Op::Slice& s) {
  s.c0 += BK;
  if (s.c0 >= padded_channels(g.Cin)) {
    s = Op::at_tap(g, 0, s.tap + 1);  // once per Cp / BK steps
    return;
  }
  s.a_offset += BK * Op::a_channel_stride(g);
  s.b_offset += BK * Op::b_channel_stride(g);
}

// The epilogue's normalisation and ReLU of one output value (no-op when bn_relu is null).
__device__ __forceinline__ float batchnorm_relu(const float4* bn_relu, int channel, float v) {
  if (!bn_relu) return v;
  const float4 k = bn_relu[channel];
  const float t = (v - k.x) * k.y + k.z;
  return t > 0.f ? t : 0.f;
}

// The epilogue after the bias for Op (see the top of the file).
template <class Op>
__device__ __forceinline__ float epilogue(const GemmArgs& args, int channel, float v) {
  if constexpr (Op::kBatchNormRelu) return batchnorm_relu(args.bn_relu, channel, v);
  else return v;
}

// An Op whose B rows are evenly spaced in memory: b_source(gather, k) = b_source(gather, 0) + k *
// b_row_stride(gather), present for k < b_count(gather). The FP32 tile then walks a pointer down
// its rows instead of finding each element's address from k.
// (A detection trait, not a concept: the CUDA sources build as C++17.)
template <class Op, class = void>
struct HasStridedB : std::false_type {};
template <class Op>
struct HasStridedB<Op, std::void_t<decltype(Op::b_row_stride(std::declval<const GemmArgs&>()))>> : std::true_type {};
template <class Op>
constexpr bool kStridedB = HasStridedB<Op>::value;

// An Op whose A element is a_row_source(row, k)[a_slice_offset(slice)] (the convolutions; the TF32
// tile needs it): the FP32 tile then finds its A pointer once and adds the slice's offset.
template <class Op, class = void>
struct HasRowSourceA : std::false_type {};
template <class Op>
struct HasRowSourceA<Op, std::void_t<decltype(Op::a_slice_offset(std::declval<const typename Op::Slice&>()))>>
    : std::true_type {};
template <class Op>
constexpr bool kRowSourceA = HasRowSourceA<Op>::value;

// f(std::integral_constant<int, 0>{}), ..., f(std::integral_constant<int, N - 1>{}): a loop whose
// index is a constant in each body (for the copies' immediate offsets).
template <int N, class F>
__device__ __forceinline__ void unrolled(F&& f) {
  [&]<int... S>(std::integer_sequence<int, S...>) { (f(std::integral_constant<int, S>{}), ...); }(
      std::make_integer_sequence<int, N>{});
}

// p, with the compiler no longer knowing how it was computed: a pointer found once stays one
// register pair, to which each step adds its offset, instead of being rebuilt from its index
// (three 64-bit instructions a copy where one does).
template <class T>
__device__ __forceinline__ T* opaque(T* p) {
#if defined(__CUDA_ARCH__)
  asm("" : "+l"(p));
#endif
  return p;
}

// *p if index < count, else 0: one compare and one predicated load (PTX: setp, mov, @p ld), where
// `index < count ? __ldg(p) : 0.f` becomes a branch around the load in NVVM's PTX (a setp, a mov,
// a branch and the load: ptxas turns such short branches into predicated loads itself, so the
// saving is mostly in the PTX that scripts/ptx-mix.sh counts). INDEX is a constant.
template <int INDEX>
__device__ __forceinline__ float load_if_below(const float* p, int count) {
#if defined(__CUDA_ARCH__)
  float v;
  asm("{\n\t.reg .pred %%below;\n\tsetp.gt.s32 %%below, %2, %3;\n\tmov.b32 %0, 0;\n\t"
      "@%%below ld.global.nc.f32 %0, [%1];\n\t}"
      : "=f"(v)
      : "l"(p), "r"(count), "n"(INDEX));
  return v;
#else
  return INDEX < count ? __ldg(p) : 0.f;
#endif
}

// Slices of BK reduction rows that gemm_kernel multiplies between two barriers: 2 on the 32 x 128
// tile (4 x 8 outputs a thread), whose step's fixed part (the barrier, the loop, the shared
// buffers' addresses) is then shared by 512 FMAs a thread, as on the 64-row tiles with one. The
// 32 x 64 tile keeps 1: with 2 it needed more than the 96 registers its 10 blocks a multiprocessor
// (gemm_plan) allow; the 64-row tiles (more staging registers would cost a block a
// multiprocessor) and the 16-row tiles (bound by their 4 x 4 thread tile) keep 1 too.
template <int BM, int TN>
constexpr int kGemmSlices = BM == 32 && TN == 8 ? 2 : 1;

template <int BM, int TN, int Pad, int Slices = 1>
struct Tiles {
  static constexpr int BN = 16 * TN;
  float a[2][Slices * BK][BM + Pad];  // a[buffer][r][m]: the A slices, stored transposed
  float b[2][Slices * BK][BN + Pad];  // b[buffer][r][q]
};

// acc (TM x TC) += A slice (BK x TM of the thread's rows)^T * B slice (BK x TC of its columns,
// g * 4 CT + tx * 4 + {0..3} for g < TC/4, CT = BN / TC threads across): per reduction row TM/4 +
// TC/4 shared float4 loads feed TM*TC FMAs (8 x 8: 64 per 4 loads).
template <int BM, int BN, int TM, int TC>
__device__ __forceinline__ void multiply_slice(float (&acc)[TM][TC], const float (*a)[BM + kPad],
                                               const float (*b)[BN + kPad], int ty, int tx) {
  constexpr int CT = BN / TC;
#pragma unroll
  for (int r = 0; r < BK; ++r) {
    float av[TM], bv[TC];
#pragma unroll
    for (int h = 0; h < TM / 4; ++h) {
      const float4 a4 = *reinterpret_cast<const float4*>(&a[r][ty * TM + h * 4]);
      av[h * 4 + 0] = a4.x;
      av[h * 4 + 1] = a4.y;
      av[h * 4 + 2] = a4.z;
      av[h * 4 + 3] = a4.w;
    }
#pragma unroll
    for (int g = 0; g < TC / 4; ++g) {
      const float4 b4 = *reinterpret_cast<const float4*>(&b[r][g * 4 * CT + tx * 4]);
      bv[g * 4 + 0] = b4.x;
      bv[g * 4 + 1] = b4.y;
      bv[g * 4 + 2] = b4.z;
      bv[g * 4 + 3] = b4.w;
    }
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TC; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
  }
}

// The blocks per multiprocessor gemm_kernel's registers must allow (ptxas then uses at most
// 65,536 / (threads x blocks) a thread); 0 leaves the choice to ptxas. FP32 64x128 (8 x 8
// outputs a thread, 128 threads): Op::kWideBlocks, 4 for the convolutions (128 registers; left
// alone ptxas took 130, room for 3 where gemm_plan counts 4) and the transposed convolution's
// forward (left alone since its B rows became a pointer walk, 141 registers; held to 4 blocks, 128
// and no spill, where with the older gather held to 4 it spilled 24 bytes).
template <class Op, int BM, int TN>
constexpr int gemm_min_blocks() {
  return BM == 64 && TN == 8 ? Op::kWideBlocks : 0;
}

// The FP32 thread tiles: TM x TC outputs a thread, CT = BN / TC threads across the BN columns
// (the 16-row tiles: 4 x 4, see the top of the file).
// With 8 x 8 outputs a thread does 64 FMAs per 4 shared float4 loads of a reduction row, and the
// gathers of a step (BK x (BM + BN) elements) are shared by fewer threads, each element's address
// work spread over more FMAs (CUTLASS's SIMT shape): 128 threads of 8 x 8 on 64 x 128, 64 of
// 8 x 8 on 64 x 64, 64 of 8 x 4 on 32 x 64. A thread gathers one pixel column of B (all its rows
// when threads = BN), so 32 x 128 keeps 128 threads of 4 x 8: at 64 threads of 8 x 8 each would
// gather two columns, tried: 62% -> 64% FMA in PTX for 128-153 registers and a spill, not kept.
// The weight gradient runs the same shapes (its B columns are taps, not pixels).
template <int BM, int BN_, int TM, int TC>
struct ThreadShape {
  static constexpr int BN = BN_;
  static constexpr int rows = TM, columns = TC, column_threads = BN / TC, threads = BM / TM * (BN / TC);
};
template <int BM, int TN>
using ThreadTile = ThreadShape<BM, 16 * TN, BM == 16 || (BM == 32 && TN == 8) ? 4 : 8, BM == 16 ? 4 : BM == 32 ? TN : 8>;

// After the main loop: a thread's ROWS x COLS results value(i, j), at tile row row_of(i) and
// column column_of(j), go to out (+ bias, then the epilogue) with one split (gridDim.z == 1), or
// to partials[z] (M, Q) with several. Image n0 holds the tile's first column; a column is pixel p
// of image n, found by stepping from there (at most BN / HW images on), not by a 64-bit division
// per output.
template <class Op, int ROWS, int COLS, class RowOf, class ColumnOf, class Value>
__device__ __forceinline__ void store_tile(const GemmArgs& args, float* __restrict__ partials, int m0, int64_t q0,
                                           RowOf row_of, ColumnOf column_of, Value value) {
  const int HW = args.H * args.W;
  const int64_t Q = int64_t(args.N) * HW;
  const bool split = gridDim.z > 1;
  float* partial = split ? partials + int64_t(blockIdx.z) * args.M * Q : nullptr;
  const int n0 = int(q0 / HW);
  const int64_t q_n0 = int64_t(n0) * HW;
  int col_n[COLS], col_p[COLS];
#pragma unroll
  for (int j = 0; j < COLS; ++j) {
    int p = int(q0 - q_n0) + column_of(j);
    int n = n0;
    while (p >= HW) p -= HW, ++n;
    col_n[j] = n;
    col_p[j] = p;
  }
#pragma unroll
  for (int i = 0; i < ROWS; ++i) {
    const int m = m0 + row_of(i);
    if (m >= args.M) continue;
    const int channel = Op::bias_index(args, m);
    const float bias = !split && args.bias ? args.bias[channel] : 0.f;
#pragma unroll
    for (int j = 0; j < COLS; ++j) {
      if (col_n[j] >= args.N) continue;  // past the last pixel
      if (split) partial[int64_t(m) * Q + q0 + column_of(j)] = value(i, j);
      else args.out[Op::out_index(args, col_n[j], col_p[j], m)] = epilogue<Op>(args, channel, value(i, j) + bias);
    }
  }
}

// out = A * B over the reduction range [blockIdx.z * r_chunk, + r_chunk) of R, in FP32. With one
// split (gridDim.z == 1) the tile plus bias goes to out; with several, to partials[z] (M, Q),
// row-major. Grid: x over Q / BN column tiles, y over M / BM row tiles, z over splits.
// (The kernels take GemmArgs' fields one by one and rebuild it: HIP-CPU's kernels are SIMD
// clones, which take no struct arguments.)
template <class Op, int BM, int TN>
__global__ void __launch_bounds__(ThreadTile<BM, TN>::threads, (gemm_min_blocks<Op, BM, TN>()))
    gemm_kernel(float* out, const float* __restrict__ in, const float* __restrict__ w,
                const float* __restrict__ bias, int N, int Cin, int H, int W, int M, int R,
                const float4* __restrict__ bn_relu, float* __restrict__ partials, int r_chunk) {
  const GemmArgs args{out, in, w, bias, N, Cin, H, W, M, R, bn_relu};
  using Tile = ThreadTile<BM, TN>;
  constexpr int TM = Tile::rows, TC = Tile::columns, CT = Tile::column_threads;
  constexpr int kThreads = Tile::threads, BN = Tile::BN;
  constexpr int kAPerThread = BK * BM / kThreads;  // A elements each thread loads per step
  constexpr int kARowStride = kThreads / BK;        // A rows between them
  constexpr int kBPerThread = BK * BN / kThreads;  // B elements each thread loads per step
  constexpr int kBRowStride = kThreads / BN;       // reduction rows between them
  static_assert(kThreads >= BN, "a thread gathers one pixel column of B");
  constexpr int kSlices = kGemmSlices<BM, TN>, kStepRows = kSlices * BK;
  __shared__ __align__(16) Tiles<BM, TN, kPad, kSlices> tiles;

  const int t = threadIdx.x, tx = t % CT, ty = t / CT;
  const int64_t Q = int64_t(N) * H * W;
  const int m0 = blockIdx.y * BM;
  const int64_t q0 = int64_t(blockIdx.x) * BN;
  const int r_begin = blockIdx.z * r_chunk, r_end = r_begin + r_chunk < args.R ? r_begin + r_chunk : args.R;

  // A loads: kAPerThread per thread, reduction index a_r = t % 8, rows a_m + kARowStride s.
  const int a_r = t % BK, a_m = t / BK;
  const int a_rows = M - m0 - a_m;  // its rows a_m + kARowStride s that exist: kARowStride s < a_rows
  // A's rows are evenly spaced (a_row_stride): one Row, the first, and a pointer walked
  // kARowStride rows at a time (its address may lie past A's last row; only rows below a_rows load).
  const typename Op::Row a_row = Op::row(args, m0 + a_m);
  const int64_t a_step_bytes = int64_t(sizeof(float)) * kARowStride * Op::a_row_stride(args);
  const float* a_first = nullptr;  // kRowSourceA: A(a_m, r0 + a_r) is a_first[a_slice_offset(slice)]
  if constexpr (kRowSourceA<Op>) a_first = opaque(Op::a_row_source(args, a_row, a_r));
  // B loads: one fixed pixel column per thread (its Column found once), rows b_r + kBRowStride s.
  // (With kThreads == BN every thread loads all BK rows of its column: b_r is 0, and known to be.)
  const int b_q = t % BN, b_r = kThreads == BN ? 0 : t / BN;
  const int64_t q = q0 + b_q;
  const bool q_valid = q < Q;
  const typename Op::Column column = Op::column(args, q_valid ? q : 0);
  typename Op::Slice slice = Op::slice(args, r_begin);
  int64_t b_step_bytes = 0;  // between a thread's B rows, for kStridedB ops
  if constexpr (kStridedB<Op>) b_step_bytes = int64_t(sizeof(float)) * kBRowStride * Op::b_row_stride(args);

  float a_reg[kSlices][kAPerThread], b_reg[kSlices][kBPerThread];
  // Slice h of a step: rows r0 .. r0 + BK - 1 (`slice` describes them), zeros unless `live`; with
  // Op::kFullSteps (R and so r_end a multiple of BK) every row of a live slice is < r_end.
  auto fetch_slice = [&](int h, int r0, bool live) {
    const bool a_in_range = live && (Op::kFullSteps || r0 + a_r < r_end);
    {  // row a_m's element, then kARowStride rows on each: one add and a predicated load
      bool present;
      const char* source;
      if constexpr (kRowSourceA<Op>) {
        present = a_in_range && a_r < Op::a_count(args, slice);
        source = reinterpret_cast<const char*>(a_first + Op::a_slice_offset(slice));
      } else {
        present = a_in_range && Op::a_present(args, slice, a_r);
        source = reinterpret_cast<const char*>(Op::a_source(args, slice, a_row, r0, a_r));
      }
      const int rows = present ? a_rows : 0;
      unrolled<kAPerThread>([&](auto s) {
        constexpr int i = decltype(s)::value;
        a_reg[h][i] = load_if_below<kARowStride * i>(reinterpret_cast<const float*>(source), rows);
        source += a_step_bytes;
      });
    }
    const int rows = !q_valid || !live ? 0 : Op::kFullSteps ? BK : r_end - r0;
    const typename Op::Gather gather = Op::gather(args, slice, column, r0, rows);
    if constexpr (kStridedB<Op>) {
      // Row b_r's address, then kBRowStride rows on each: one add and a compare per element.
      const char* source = reinterpret_cast<const char*>(Op::b_source(gather, b_r));
      const int count = Op::b_count(gather) - b_r;
      unrolled<kBPerThread>([&](auto s) {
        constexpr int i = decltype(s)::value;
        b_reg[h][i] = load_if_below<kBRowStride * i>(reinterpret_cast<const float*>(source), count);
        source += b_step_bytes;
      });
    } else {
#pragma unroll
      for (int s = 0; s < kBPerThread; ++s) b_reg[h][s] = Op::b(args, gather, b_r + kBRowStride * s);
    }
  };
  // Step j: its first slice (`slice` is at it), then the others, each after Op::next; a slice past
  // the split's last (the last step of an odd number of slices) is zeros, its loads predicated
  // off (next() past R only computes offsets nothing reads).
  const int slices = r_end > r_begin ? (r_end - r_begin + BK - 1) / BK : 0;
  auto fetch = [&](int j) {
    const int r0 = r_begin + j * kStepRows;
    fetch_slice(0, r0, true);
#pragma unroll
    for (int h = 1; h < kSlices; ++h) {
      Op::next(args, slice);
      fetch_slice(h, r0 + h * BK, kSlices * j + h < slices);
    }
  };
  auto store = [&](int buffer) {
#pragma unroll
    for (int h = 0; h < kSlices; ++h) {
#pragma unroll
      for (int s = 0; s < kAPerThread; ++s) tiles.a[buffer][h * BK + a_r][a_m + kARowStride * s] = a_reg[h][s];
#pragma unroll
      for (int s = 0; s < kBPerThread; ++s) tiles.b[buffer][h * BK + b_r + kBRowStride * s][b_q] = b_reg[h][s];
    }
  };

  float acc[TM][TC] = {};
  const int steps = (slices + kSlices - 1) / kSlices;
  if (steps > 0) {  // R = 0 (a bias-only output) loads nothing
    fetch(0);
    store(0);
  }
  __syncthreads();
  for (int step = 0; step < steps; ++step) {
    const int current = step & 1;
    const bool more = step + 1 < steps;
    if (more) {  // global loads in flight during the multiply
      Op::next(args, slice);
      fetch(step + 1);
    }
#pragma unroll
    for (int h = 0; h < kSlices; ++h)
      multiply_slice<BM, BN, TM, TC>(acc, tiles.a[current] + h * BK, tiles.b[current] + h * BK, ty, tx);
    if (more) store(current ^ 1);  // that buffer's readers finished before the last barrier
    __syncthreads();
  }

  // acc[i][j] sits at tile row ty*TM + i, column (j/4)*4*CT + tx*4 + j%4.
  store_tile<Op, TM, TC>(
      args, partials, m0, q0, [&](int i) { return ty * TM + i; },
      [&](int j) { return (j / 4) * 4 * CT + tx * 4 + j % 4; }, [&](int i, int j) { return acc[i][j]; });
}

// ---- The TF32 tile (see the top of the file) ---------------------------------------------------

// Blocks of the TF32 tile a multiprocessor holds, which its __launch_bounds__ asks ptxas to allow
// and gemm_plan counts on (ptxas, sm_90): 64x128 125 registers at 4 blocks of 128 threads (128 at
// most), 64x64 91-92 at 5 (held to 6, i.e. 80, it spilled 32-56 bytes), 32x128 89 at 5 (held to 6
// it spilled 48-64 bytes once A came pre-rounded), 32x64 64 at 8; the 3-stage shared buffers
// (38.4, 26.1, 32.3, 20.0 KB) allow 5, 8, 6 and 10 of 228 KB.
template <int BM, int TN>
constexpr int tf32_blocks() {
  return BM == 64 ? (TN == 8 ? 4 : 5) : (TN == 8 ? 5 : 8);
}

// The warp grid of a BM x 16 TN TF32 tile: kWarpsM x kWarpsN warps of 32 x WN outputs, NT = WN / 8
// fragments of 16 x 8 across.
template <int BM, int TN>
struct Tf32Warps {
  static constexpr int kWarpsM = BM / 32, kWarpsN = kTf32Threads / 32 / kWarpsM, WN = 16 * TN / kWarpsN, NT = WN / 8;
};

// Where a step's 16 reduction rows sit in shared memory. The copies may write any word, so the
// layout is the fragment loads' (vector loads: 12 a step on 64x128, where a scalar layout takes 48):
// - A (BM rows of 16 values): row m, its values in the order k = 0, 4, 8, 12, 1, 5, ...: A(m, k)
//   at word 16 m + 4 (k % 4) + k / 4. Lane (g, t) needs k = t, t + 4 (first slice) and t + 8,
//   t + 12 (second) of each of its rows: one float4. A quarter warp's float4s (rows g, g + 1,
//   t = 0..3) cover the 32 banks once.
// - B (16 rows of BN values): within each warp's WN columns, column 8 nt + g (fragment nt, mma
//   column g) at g NT + nt, so the NT values of a row that a lane needs are side by side (NT / 4
//   float4, or a float2 when NT = 2); the output columns are the same as without the permutation.
//   Row k starts at word k BN + 32 (k / 4) + skew(k % 4), the skews chosen so that a quarter
//   warp's loads (rows t = 0..3 of a group of 4, lanes g, g + 1) hit different banks; with NT = 8
//   (lanes 16 words apart) no uniform row pitch gives that.
// The copies take 2 passes through the banks on the 64-row tiles' A (a warp's 4 rows x 8 values,
// rows r and r + 2 on the same banks) and on the 64x128 tile's B (32 neighbouring columns of one
// row, lanes g and g + 4 on the same banks), 1 elsewhere: time in the copy unit and in shared
// memory's bandwidth, not in issue slots. (Swapping the halves of lanes g >= 4 cures the second,
// but its extra address register made ptxas spill 16 bytes of the 64x128 tile at 128.)
template <int BM, int TN>
struct Tf32Layout {
  static constexpr int BN = 16 * TN, WN = Tf32Warps<BM, TN>::WN, NT = Tf32Warps<BM, TN>::NT;
  static constexpr int kA = BM * kTf32Step;              // floats of A a stage
  static constexpr int kB = kTf32Step * BN + 4 * 32;     // of B
  // the word of A(m, k)
  static __host__ __device__ constexpr int a_word(int m, int k) { return m * kTf32Step + 4 * (k % 4) + k / 4; }
  // the first word of B's row k
  static __host__ __device__ constexpr int b_row(int k) {
    return k * BN + 32 * (k / 4) + (NT == 8 ? k % 4 / 2 * 16 + k % 2 * 4 : k % 4 * 8);
  }
  // where tile column c sits in a row of B
  static __host__ __device__ constexpr int b_column(int c) {
    return c / WN * WN + c % 8 * NT + c % WN / 8;
  }
};

template <int BM, int TN>
struct Tf32Tiles {
  float a[kTf32Stages][Tf32Layout<BM, TN>::kA];
  float b[kTf32Stages][Tf32Layout<BM, TN>::kB];
};

// v = the N floats at p (N = 2, 4 or 8), as float2 or float4 loads.
template <int N>
__device__ __forceinline__ void load_floats(const float* p, float (&v)[N]) {
  if constexpr (N == 2) {
    const float2 x = *reinterpret_cast<const float2*>(p);
    v[0] = x.x;
    v[1] = x.y;
  } else {
    static_assert(N == 4 || N == 8);
#pragma unroll
    for (int i = 0; i < N / 4; ++i) {
      const float4 x = *reinterpret_cast<const float4*>(p + 4 * i);
      v[4 * i + 0] = x.x;
      v[4 * i + 1] = x.y;
      v[4 * i + 2] = x.z;
      v[4 * i + 3] = x.w;
    }
  }
}

// acc += the step's 16 reduction rows on tensor cores for one warp (two mma k-steps, h = 0, 1);
// a points at the lane's first A value (row m + g, word 4 t), b at its first B value (row t,
// column q + g NT), m and q being the warp's first row and column. acc[mt][nt] is the fragment of
// rows m + 16 mt, columns q + 8 nt, in mma.cuh's layout: d[2 i + c] at row m + 16 mt + g + 8 i,
// column q + 8 nt + 2 t + c. Each value is rounded to TF32 as it is loaded.
template <int BM, int TN>
__device__ __forceinline__ void multiply_tf32(float (&acc)[2][Tf32Warps<BM, TN>::NT][4], const float* a,
                                              const float* b) {
  using Layout = Tf32Layout<BM, TN>;
  constexpr int NT = Layout::NT;
  float a_frag[2][2][4], b_frag[2][NT][2];  // [h][mt][..], [h][nt][..]
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
    float top[4], bottom[4];  // k = t, t + 4, t + 8, t + 12 of rows g and g + 8
    load_floats(a + Layout::a_word(16 * mt, 0), top);
    load_floats(a + Layout::a_word(16 * mt + 8, 0), bottom);
#pragma unroll
    for (int h = 0; h < 2; ++h) {  // (A arrives rounded to TF32: gemm's contract for TF32)
      a_frag[h][mt][0] = top[2 * h];
      a_frag[h][mt][1] = bottom[2 * h];
      a_frag[h][mt][2] = top[2 * h + 1];
      a_frag[h][mt][3] = bottom[2 * h + 1];
    }
  }
#pragma unroll
  for (int h = 0; h < 2; ++h)
#pragma unroll
    for (int i = 0; i < 2; ++i) {  // row 8 h + 4 i + t: its offset from row t is the same for every t
      float row[NT];
      const int offset = Layout::b_row(8 * h + 4 * i) - Layout::b_row(0);
      load_floats(b + offset, row);
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) b_frag[h][nt][i] = round_to_tf32(row[nt]);
    }
#pragma unroll
  for (int h = 0; h < 2; ++h)
#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) mma_m16n8k8_tf32(acc[mt][nt], a_frag[h][mt], b_frag[h][nt]);
}

// gemm_kernel's contract (grid, splits, output) on tensor cores, for Ops with kFullSteps.
template <class Op, int BM, int TN>
__global__ void __launch_bounds__(kTf32Threads, (tf32_blocks<BM, TN>()))
    gemm_tf32_kernel(float* out, const float* __restrict__ in, const float* __restrict__ w,
                     const float* __restrict__ bias, int N, int Cin, int H, int W, int M, int R,
                     const float4* __restrict__ bn_relu, float* __restrict__ partials, int r_chunk) {
  static_assert(Op::kFullSteps, "the TF32 tile copies whole slices of BK rows");
  const GemmArgs args{out, in, w, bias, N, Cin, H, W, M, R, bn_relu};
  using Warps = Tf32Warps<BM, TN>;
  using Layout = Tf32Layout<BM, TN>;
  constexpr int BN = 16 * TN, NT = Warps::NT;
  constexpr int kAPerThread = BK * BM / kTf32Threads;  // A elements each thread copies per slice
  constexpr int kARowStride = kTf32Threads / BK;        // A rows between them
  constexpr int kBPerThread = BK * BN / kTf32Threads;  // B elements each thread copies per slice
  static_assert(kBPerThread % 4 == 0, "a thread's B rows are whole groups of 4 (Tf32Layout::b_row)");
  __shared__ __align__(16) Tf32Tiles<BM, TN> tiles;

  const int t = threadIdx.x, lane = t % 32, warp = t / 32;
  const int warp_m = warp % Warps::kWarpsM, warp_n = warp / Warps::kWarpsM;
  const int64_t Q = int64_t(N) * H * W;
  const int m0 = blockIdx.y * BM;
  const int64_t q0 = int64_t(blockIdx.x) * BN;
  const int r_begin = blockIdx.z * r_chunk, r_end = r_begin + r_chunk < args.R ? r_begin + r_chunk : args.R;

  // A copies: reduction row a_r = t % 8 of each slice, rows a_m + kARowStride s (a row past M
  // copies row 0: it only feeds outputs that are never stored), from a_row[s] + the slice's offset.
  const int a_r = t % BK, a_m = t / BK;
  const float* a_row[kAPerThread];
#pragma unroll
  for (int s = 0; s < kAPerThread; ++s) {
    const int m = m0 + a_m + kARowStride * s;
    a_row[s] = opaque(Op::a_row_source(args, Op::row(args, m < M ? m : 0), a_r));
  }
  // B copies: one fixed pixel column per thread, rows b_k + s of each slice (b_k = 0 when the
  // block's threads are BN, else 0 or 4), so that their words are b_row(8 h + s) past its first.
  const int b_q = t % BN, b_k = kTf32Threads == BN ? 0 : t / BN * kBPerThread;
  const int64_t q = q0 + b_q;
  const bool q_valid = q < Q;
  const typename Op::Column column = Op::column(args, q_valid ? q : 0);
  typename Op::Slice slice = Op::slice(args, r_begin);
  const int a_word = Layout::a_word(a_m, a_r), b_word = Layout::b_row(b_k) + Layout::b_column(b_q);

  // Step `step`'s two slices into buffer `buffer`; a slice past r_end is copied as zeros.
  const int slices = r_end > r_begin ? (r_end - r_begin) / BK : 0;
  auto copy_step = [&](int step, int buffer) {
    unrolled<2>([&](auto slice_index) {
      constexpr int h = decltype(slice_index)::value;
      const bool inside = 2 * step + h < slices;
      // A: this thread's rows share the reduction row a_r, so one count says whether all are there.
      const bool a_present = inside && a_r < Op::a_count(args, slice);
      const int a_offset = Op::a_slice_offset(slice);
      float* a_to = tiles.a[buffer] + a_word + (Layout::a_word(0, 8 * h) - Layout::a_word(0, 0));
      unrolled<kAPerThread>([&](auto s) {
        constexpr int i = decltype(s)::value;
        copy_async_4_if<Layout::a_word(kARowStride * i, 0)>(a_to, a_row[i] + a_offset, a_present);
      });
      // B: rows b_k + s of the pixel, those below b_count there.
      const typename Op::Gather gather = Op::gather(args, slice, column, 0, inside && q_valid ? BK : 0);
      const int b_count = Op::b_count(gather) - b_k;
      float* b_to = tiles.b[buffer] + b_word;
      unrolled<kBPerThread>([&](auto s) {
        constexpr int k = decltype(s)::value;
        copy_async_4<Layout::b_row(8 * h + k), k>(b_to, Op::b_source(gather, b_k + k), b_count);
      });
      Op::next(args, slice);
    });
  };

  // Pipeline: the copies of steps s + 1 and s + 2 are in flight while step s is multiplied. One
  // group of copies per step (empty past the last), so waiting for all but the newest
  // kTf32Stages - 2 groups waits for step s; the barrier then shows every thread's copies, and
  // also says every warp has finished step s - 1, whose buffer step s + 2 then overwrites.
  const int steps = (slices + 1) / 2;
#pragma unroll
  for (int s = 0; s < kTf32Stages - 1; ++s) {
    if (s < steps) copy_step(s, s);
    copy_async_commit();
  }
  float acc[2][NT][4] = {};
  const int g = lane >> 2, lane_t = lane & 3;
  const int warp_row = warp_m * 32, warp_column = warp_n * Warps::WN;
  const int a_read = Layout::a_word(warp_row + g, 0) + 4 * lane_t;
  const int b_read = Layout::b_row(lane_t) + warp_column + g * NT;
  int read = 0, write = kTf32Stages - 1;
  for (int step = 0; step < steps; ++step) {
    copy_async_wait<kTf32Stages - 2>();
    __syncthreads();
    if (step + kTf32Stages - 1 < steps) copy_step(step + kTf32Stages - 1, write);
    copy_async_commit();
    multiply_tf32<BM, TN>(acc, tiles.a[read] + a_read, tiles.b[read] + b_read);
    read = read == kTf32Stages - 1 ? 0 : read + 1;
    write = write == kTf32Stages - 1 ? 0 : write + 1;
  }

  // Row i = 2 mt + h, column j = 2 nt + c of the thread's 4 x 2 NT results (multiply_tf32).
  store_tile<Op, 4, 2 * NT>(
      args, partials, m0, q0, [&](int i) { return warp_row + (i / 2) * 16 + g + 8 * (i % 2); },
      [&](int j) { return warp_column + (j / 2) * 8 + 2 * lane_t + j % 2; },
      [&](int i, int j) { return acc[i / 2][j / 2][2 * (i % 2) + j % 2]; });
}

// out(m, q) = partials[0](m, q) + partials[1](m, q) + ... in split order, then + bias, then the
// epilogue, for m < M and q = n HW + p.
template <class Op>
__global__ void add_splits_kernel(float* out, const float* __restrict__ bias, int N, int Cin, int H, int W, int M,
                                  int R, const float4* __restrict__ bn_relu, const float* __restrict__ partials,
                                  int splits) {
  const GemmArgs args{out, nullptr, nullptr, bias, N, Cin, H, W, M, R, bn_relu};
  // Grid: y is the row m, z the image n, x strides over the image's pixels p: no division.
  const int m = blockIdx.y, n = blockIdx.z, HW = args.H * args.W;
  const int64_t Q = int64_t(args.N) * HW, elements = int64_t(args.M) * Q, row = int64_t(m) * Q + int64_t(n) * HW;
  const int channel = Op::bias_index(args, m);
  const float bias_m = args.bias ? args.bias[channel] : 0.f;
  for (int p = blockIdx.x * blockDim.x + threadIdx.x; p < HW; p += gridDim.x * blockDim.x) {
    float sum = 0.f;
    for (int z = 0; z < splits; ++z) sum += partials[z * elements + row + p];
    args.out[Op::out_index(args, n, p, m)] = epilogue<Op>(args, channel, sum + bias_m);
  }
}

// ---- Launch shape ------------------------------------------------------------------------------

// The tile and split of one GEMM, from its size and the multiprocessor count (launch.h):
//   rows     16 when M <= 16 (FP32; TF32 takes 32), 32 when M <= 32, else 64;
//   columns  128 (wide) when the wide tiles fill at least one wave, else 64 (narrow);
//   splits   when the tiles give less than two waves: the fewest that fill the last wave to 90%
//            (b blocks run in ceil(b / wave) rounds, so the fill is b / (wave ceil(b / wave))),
//            at most one per kMinSplitSteps reduction steps.
// A wave is every multiprocessor full (docs/GPU.md, "Registers and shared memory"), the FP32
// tiles (ThreadTile) by their registers: 64 x 128 (128 threads) 127-128 registers, 4 blocks;
// 64 x 64 (64 threads) 127-133, 7; 32 x 128 (128 threads) 76-89, 4 counted (5 would fit the
// lighter ones); 32 x 64 (64 threads) 79-95, 10; 16 x 128 (128 threads) 48-64, 8; 16 x 64 (64
// threads) 47-64, 16. The TF32 tiles tf32_blocks.
struct GemmPlan {
  int rows, columns, splits, r_chunk;
};

inline int64_t blocks_per_wave(int rows, int columns, bool tf32) {
  const int per_multiprocessor = tf32 ? (rows == 64 ? (columns == 128 ? tf32_blocks<64, 8>() : tf32_blocks<64, 4>())
                                                    : (columns == 128 ? tf32_blocks<32, 8>() : tf32_blocks<32, 4>()))
                                 : rows == 64 ? (columns == 128 ? 4 : 7)
                                 : rows == 32 ? (columns == 128 ? 4 : 10)
                                              : (columns == 128 ? 8 : 16);
  return int64_t(multiprocessor_count()) * per_multiprocessor;
}

inline GemmPlan gemm_plan(int64_t Q, int M, int R, bool tf32 = false) {
  const int rows = M <= 16 && !tf32 ? 16 : M <= 32 ? 32 : 64;
  const int64_t row_tiles = (M + rows - 1) / rows;
  const int columns = (Q + 127) / 128 * row_tiles >= blocks_per_wave(rows, 128, tf32) ? 128 : 64;
  const int64_t blocks = (Q + columns - 1) / columns * row_tiles, wave = blocks_per_wave(rows, columns, tf32);
  const int64_t steps = (R + BK - 1) / BK;
  int64_t splits = 1;
  if (blocks < 2 * wave) {
    const int64_t most = std::max<int64_t>(1, steps / kMinSplitSteps);
    auto filled = [&](int64_t b) { return 10 * b >= 9 * wave * ((b + wave - 1) / wave); };
    while (splits < most && !filled(blocks * splits)) ++splits;
  }
  const int64_t r_chunk = std::max<int64_t>(1, (steps + splits - 1) / splits) * BK;
  // Rounding may leave fewer splits; an empty reduction (R = 0) still runs one, to write the bias.
  return {rows, columns, int(std::max<int64_t>(1, (R + r_chunk - 1) / r_chunk)), int(r_chunk)};
}

template <class Op, int BM, int TN, bool TF32>
void launch_tile(const GemmArgs& args, const GemmPlan& plan, float* partials, cudaStream_t stream) {
  const int64_t Q = int64_t(args.N) * args.H * args.W;
  const dim3 grid(unsigned((Q + 16 * TN - 1) / (16 * TN)), unsigned((args.M + BM - 1) / BM), unsigned(plan.splits));
  if constexpr (TF32) {
    gemm_tf32_kernel<Op, BM, TN><<<grid, kTf32Threads, 0, stream>>>(args.out, args.in, args.w, args.bias, args.N,
                                                                   args.Cin, args.H, args.W, args.M, args.R,
                                                                   args.bn_relu, partials, plan.r_chunk);
  } else {
    constexpr int threads = ThreadTile<BM, TN>::threads;  // (hipify's launch pattern takes no template here)
    gemm_kernel<Op, BM, TN><<<grid, threads, 0, stream>>>(args.out, args.in, args.w, args.bias, args.N, args.Cin,
                                                          args.H, args.W, args.M, args.R, args.bn_relu, partials,
                                                          plan.r_chunk);
  }
  SEQNET_CUDA_CHECK_LAUNCH();
}

// Runs out = A * B for Op with the plan's tile and split. Q and M must be positive. With TF32 the
// caller gives A already rounded to TF32 (round_to_tf32; conv2d.cu rounds the weights once per
// call): the tile rounds only B, as it loads each fragment.
template <class Op, bool TF32>
void gemm(const GemmArgs& args, cudaStream_t stream) {
  const int64_t Q = int64_t(args.N) * args.H * args.W, elements = int64_t(args.M) * Q;
  const GemmPlan plan = gemm_plan(Q, args.M, args.R, TF32);
  // The splits' partial tiles live in stream-ordered memory of this call only.
  float* partials = nullptr;
  if (plan.splits > 1)
    SEQNET_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials), plan.splits * elements * sizeof(float),
                                      stream));
  if (plan.rows == 16) {
    if constexpr (!TF32) {  // (gemm_plan gives TF32 no 16-row tile)
      if (plan.columns == 128) launch_tile<Op, 16, 8, false>(args, plan, partials, stream);
      else launch_tile<Op, 16, 4, false>(args, plan, partials, stream);
    }
  } else if (plan.rows == 32) {
    if (plan.columns == 128) launch_tile<Op, 32, 8, TF32>(args, plan, partials, stream);
    else launch_tile<Op, 32, 4, TF32>(args, plan, partials, stream);
  } else {
    if (plan.columns == 128) launch_tile<Op, 64, 8, TF32>(args, plan, partials, stream);
    else launch_tile<Op, 64, 4, TF32>(args, plan, partials, stream);
  }
  if (plan.splits > 1) {
    const dim3 grid(unsigned(std::min<int64_t>(grid_stride_blocks(int64_t(args.H) * args.W), 64)), unsigned(args.M),
                    unsigned(args.N));
    add_splits_kernel<Op><<<grid, kBlockThreads, 0, stream>>>(
        args.out, args.bias, args.N, args.Cin, args.H, args.W, args.M, args.R, args.bn_relu, partials, plan.splits);
    SEQNET_CUDA_CHECK_LAUNCH();
    SEQNET_CUDA_CHECK(cudaFreeAsync(partials, stream));
  }
}


// ---- The weight-gradient GEMM ------------------------------------------------------------------
//
//   dw (M, R) += A (M, Q) * B (Q, R),   Q = N*H*W pixels
//
// A is a map (N, M, H, W) read at each pixel; B's column r at pixel (n, i, j) is gathered by a
// WgradOp:
//   struct WgradOp {
//     struct Tap;                                                          // column r, found once
//     static Tap tap(const WgradArgs&, int r);                             // r < R
//     struct Pixel;                                                        // what the taps share
//     static Pixel pixel(const WgradArgs&, int n, int i, int j);           // once a step
//     static float b(const WgradArgs&, const Tap&, const Pixel&);          // B(q, r) at that pixel
//   };
// (The Pixel is found once per step for all of a thread's columns: for the 3x3 taps the pixel's
// address and which of the 9 moved pixels are inside the image, so b is a bit test, an add and a
// load rather than four bounds tests and an address per column.)
// Its output is small and its reduction long, so the Q pixels are cut into chunks, one per grid
// z, each chunk's partial tile stored apart and then added into dw in chunk order (no atomics):
// two runs give the same bits. The tiles are gemm_kernel's FP32 ones (ThreadTile): 16 rows when
// M <= 16, 32 when M <= 32, else 64.
struct WgradArgs {
  const float* a;  // (N, M, H, W)
  const float* b;  // the map B is gathered from, Cb channels
  int N, Cb, H, W;
  int M, R;
};

// A WgradOp whose columns r and r + L (L a multiple of 4, the lanes of a slice) lie a fixed
// distance apart at every pixel: b_source(tap(r + L), p) = b_source(tap(r), p) + tap_stride(g, L).
// wgrad_kernel then keeps one Tap a thread and walks a pointer over its columns.
template <class Op, class = void>
struct HasStridedTaps : std::false_type {};
template <class Op>
struct HasStridedTaps<Op, std::void_t<decltype(Op::tap_stride(std::declval<const WgradArgs&>(), 0))>>
    : std::true_type {};
template <class Op>
constexpr bool kStridedTaps = HasStridedTaps<Op>::value;

// Over the pixel chunk [blockIdx.z * chunk, + chunk). With one chunk the tile is added into dw
// (M, R); with several, chunk z's tile is stored into partials[z] (M, R) for add_chunks_kernel.
// Grid: x over R / BN column tiles, y over M / BM, z over chunks. Every thread loads for one fixed
// pixel of each slice (t % 8), walked forward by a cursor (n, i, j) instead of dividing, and both
// its A values and its B values use it.
template <class Op, int BM, int TN>
__global__ void __launch_bounds__(ThreadTile<BM, TN>::threads)
    wgrad_kernel(float* __restrict__ dw, float* __restrict__ partials, const float* __restrict__ a_map,
                 const float* __restrict__ b_map, int N, int Cb, int H, int W, int M, int R, int64_t chunk) {
  using Tile = ThreadTile<BM, TN>;
  constexpr int TM = Tile::rows, TC = Tile::columns, CT = Tile::column_threads;
  constexpr int kThreads = Tile::threads, BN = Tile::BN;
  constexpr int kLanes = kThreads / BK;             // threads per reduction row of a slice
  constexpr int kAPerThread = BK * BM / kThreads;  // = BM / kLanes
  constexpr int kBPerThread = BK * BN / kThreads;  // = BN / kLanes
  __shared__ __align__(16) Tiles<BM, TN, kPad> tiles;
  const WgradArgs args{a_map, b_map, N, Cb, H, W, M, R};

  const int t = threadIdx.x, tx = t % CT, ty = t / CT;
  const int HW = H * W;
  const int64_t Q = int64_t(N) * HW;
  const int m0 = blockIdx.y * BM, r0 = blockIdx.x * BN;
  const int64_t q_begin = int64_t(blockIdx.z) * chunk, q_end = q_begin + chunk < Q ? q_begin + chunk : Q;

  // This thread's reduction row within a slice, and its columns: rows m0 + lane_col + kLanes s of
  // A, columns r0 + lane_col + kLanes s of B.
  const int kk = t % BK, lane_col = t / BK;
  // kStridedTaps: the first column's Tap, and the others kLanes columns on each (a pointer walk).
  constexpr int kTaps = kStridedTaps<Op> ? 1 : kBPerThread;
  static_assert(!kStridedTaps<Op> || kLanes % 4 == 0, "tap_stride is defined for multiples of 4 columns");
  typename Op::Tap taps[kTaps];
  bool tap_valid[kBPerThread];
#pragma unroll
  for (int s = 0; s < kBPerThread; ++s) {
    const int r = r0 + lane_col + kLanes * s;
    tap_valid[s] = r < R;
    if (s < kTaps) taps[s] = Op::tap(args, tap_valid[s] || kStridedTaps<Op> ? r : 0);
  }
  int64_t tap_step_bytes = 0;
  if constexpr (kStridedTaps<Op>) tap_step_bytes = int64_t(sizeof(float)) * Op::tap_stride(args, kLanes);

  // Pixel cursor for q = q_begin + kk + BK * step.
  int64_t q = q_begin + kk;
  int n, i, j;
  {
    const int64_t start = q < Q ? q : Q;  // a pixel past the end is never loaded
    n = int(start / HW);
    const int pix = int(start - int64_t(n) * HW);
    i = pix / W;
    j = pix - i * W;
  }
  auto advance = [&]() {
    q += BK;
    j += BK;
    while (j >= W) {
      j -= W;
      if (++i == H) {
        i = 0;
        ++n;
      }
    }
  };

  // A's rows m0 + lane_col + kLanes s: which exist, and the distance between them (a pointer walk).
  bool a_valid[kAPerThread];
#pragma unroll
  for (int s = 0; s < kAPerThread; ++s) a_valid[s] = m0 + lane_col + kLanes * s < M;
  const int64_t a_step = int64_t(kLanes) * HW;

  float a_reg[kAPerThread], b_reg[kBPerThread];
  auto fetch = [&]() {
    const bool valid = q < q_end;
    const float* a_source = a_map + (int64_t(n) * M + m0 + lane_col) * HW + i * W + j;  // a[n, m0 + lane_col, i, j]
#pragma unroll
    for (int s = 0; s < kAPerThread; ++s, a_source += a_step) a_reg[s] = valid && a_valid[s] ? __ldg(a_source) : 0.f;
    const typename Op::Pixel pixel = Op::pixel(args, n, i, j);
#pragma unroll
    if constexpr (kStridedTaps<Op>) {
      const char* source = reinterpret_cast<const char*>(Op::b_source(taps[0], pixel));
#pragma unroll
      for (int s = 0; s < kBPerThread; ++s, source += tap_step_bytes)
        b_reg[s] = valid && tap_valid[s] ? __ldg(reinterpret_cast<const float*>(source)) : 0.f;
    } else {
#pragma unroll
      for (int s = 0; s < kBPerThread; ++s) b_reg[s] = valid && tap_valid[s] ? Op::b(args, taps[s], pixel) : 0.f;
    }
  };
  auto store = [&](int buffer) {
#pragma unroll
    for (int s = 0; s < kAPerThread; ++s) tiles.a[buffer][kk][lane_col + kLanes * s] = a_reg[s];
#pragma unroll
    for (int s = 0; s < kBPerThread; ++s) tiles.b[buffer][kk][lane_col + kLanes * s] = b_reg[s];
  };

  float acc[TM][TC] = {};
  const int64_t steps = q_end > q_begin ? (q_end - q_begin + BK - 1) / BK : 0;
  fetch();
  store(0);
  __syncthreads();
  for (int64_t step = 0; step < steps; ++step) {
    const int current = int(step & 1);
    const bool more = step + 1 < steps;
    if (more) {
      advance();
      fetch();
    }
    multiply_slice<BM, BN, TM, TC>(acc, tiles.a[current], tiles.b[current], ty, tx);
    if (more) store(current ^ 1);
    __syncthreads();
  }

  // Each (m, r) belongs to one block of this chunk, so no two threads write one element.
  const bool split = gridDim.z > 1;
  float* out = split ? partials + int64_t(blockIdx.z) * M * R : dw;
#pragma unroll
  for (int a = 0; a < TM; ++a) {
    const int m = m0 + ty * TM + a;
    if (m >= M) continue;
#pragma unroll
    for (int b = 0; b < TC; ++b) {
      const int r = r0 + (b / 4) * 4 * CT + tx * 4 + b % 4;
      if (r >= R) continue;
      if (split) out[int64_t(m) * R + r] = acc[a][b];
      else out[int64_t(m) * R + r] += acc[a][b];
    }
  }
}

// dw[e] += partials[0][e] + partials[1][e] + ... in chunk order (elements = M * R). A template
// only so that each file including this header gets its own copy.
template <class Op>
__global__ void add_chunks_kernel(float* dw, const float* __restrict__ partials, int64_t elements, int64_t chunks) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < elements;
       e += int64_t(gridDim.x) * blockDim.x) {
    float sum = 0.f;
    for (int64_t z = 0; z < chunks; ++z) sum += partials[z * elements + e];
    dw[e] += sum;
  }
}

// The weight gradient's tile (16 rows when M <= 16, 32 when M <= 32, else 64; wide when the R
// columns fill it, on 64 rows only: the 32-row wide tile's 128 threads would each hold 8 gathered
// columns and their taps, 123-143 registers in ptxas, against 63-71 on the narrow one) and pixel
// chunks: enough blocks to fill every multiprocessor once (gemm_kernel's thread tiles: 64 x 128,
// 128 threads of 8 x 8 at 138-145 registers, 3 blocks; 64 x 64, 64 threads of 8 x 8 at 128-143,
// 6 counted (7 fit); 32 x 64, 64 threads of 8 x 4 at 103-113, 8; 16 x 64, 64 threads of 4 x 4 at
// 71-79, 10 counted (12 fit)), each chunk at least 512 pixels (so a chunk's partial tile stays a
// small fraction of its arithmetic).
struct WgradPlan {
  int rows, columns;
  int64_t chunk, chunks;  // pixels per chunk (a multiple of BK), and chunks = ceil(Q / chunk)
};

inline WgradPlan wgrad_plan(int64_t Q, int M, int R) {
  const int rows = M <= 16 ? 16 : M <= 32 ? 32 : 64, BN = rows == 64 && R >= 128 ? 128 : 64;
  const int64_t tiles = int64_t((R + BN - 1) / BN) * ((M + rows - 1) / rows);
  const int per_multiprocessor = rows == 16 ? 10 : rows == 32 ? 8 : BN == 128 ? 3 : 6;
  const int64_t wanted = std::max<int64_t>(1, int64_t(multiprocessor_count()) * per_multiprocessor / tiles);
  const int64_t splits = std::clamp<int64_t>(wanted, 1, std::max<int64_t>(1, Q / 512));
  const int64_t chunk = ((Q + splits - 1) / splits + BK - 1) / BK * BK;
  return {rows, BN, chunk, (Q + chunk - 1) / chunk};  // rounding the chunk up may leave fewer chunks
}

template <class Op, int BM, int TN>
void launch_wgrad_tile(float* dw, float* partials, const WgradArgs& args, const WgradPlan& plan,
                       cudaStream_t stream) {
  const dim3 grid(unsigned((args.R + 16 * TN - 1) / (16 * TN)), unsigned((args.M + BM - 1) / BM),
                  unsigned(plan.chunks));
  constexpr int threads = ThreadTile<BM, TN>::threads;  // (hipify's launch pattern takes no template here)
  wgrad_kernel<Op, BM, TN><<<grid, threads, 0, stream>>>(dw, partials, args.a, args.b, args.N, args.Cb, args.H,
                                                        args.W, args.M, args.R, plan.chunk);
  SEQNET_CUDA_CHECK_LAUNCH();
}

// Runs dw += A * B for Op. Q, M and R must be positive.
template <class Op>
void wgrad(float* dw, const WgradArgs& args, cudaStream_t stream) {
  const int64_t Q = int64_t(args.N) * args.H * args.W, elements = int64_t(args.M) * args.R;
  const WgradPlan plan = wgrad_plan(Q, args.M, args.R);
  // The chunks' partial tiles live in stream-ordered memory of this call only.
  float* partials = nullptr;
  if (plan.chunks > 1)
    SEQNET_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials), plan.chunks * elements * sizeof(float),
                                      stream));
  if (plan.rows == 16)
    launch_wgrad_tile<Op, 16, 4>(dw, partials, args, plan, stream);
  else if (plan.rows == 32)
    launch_wgrad_tile<Op, 32, 4>(dw, partials, args, plan, stream);
  else if (plan.columns == 128)
    launch_wgrad_tile<Op, 64, 8>(dw, partials, args, plan, stream);
  else
    launch_wgrad_tile<Op, 64, 4>(dw, partials, args, plan, stream);
  if (plan.chunks > 1) {
    add_chunks_kernel<Op><<<grid_stride_blocks(elements), kBlockThreads, 0, stream>>>(dw, partials, elements,
                                                                                      plan.chunks);
    SEQNET_CUDA_CHECK_LAUNCH();
    SEQNET_CUDA_CHECK(cudaFreeAsync(partials, stream));
  }
}

}  // namespace seqnet::cuda::implicit_gemm
