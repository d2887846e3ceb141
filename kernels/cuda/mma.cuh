// mma.cuh: the one tensor-core instruction the kernels use, D (16x8) += A (16x8) * B (8x8) in TF32
// with FP32 accumulation (PTX `mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32`, sm_80 and
// newer), and the rounding of its inputs. Every lane of a warp calls it together.
//
// Fragments (PTX ISA, "Matrix Fragments for mma.m16n8k8" with .tf32): lane = 4 g + t, g = lane / 4
// (the group, 0..7), t = lane % 4 (0..3):
//   a[0] = A[g][t]    a[1] = A[g+8][t]    a[2] = A[g][t+4]    a[3] = A[g+8][t+4]
//   b[0] = B[t][g]    b[1] = B[t+4][g]
//   d[0] = D[g][2t]   d[1] = D[g][2t+1]   d[2] = D[g+8][2t]   d[3] = D[g+8][2t+1]
// The inputs are floats already rounded to TF32 (round_to_tf32), so both versions below see the
// same values; the accumulation is FP32.
//
// Where there is no PTX (the emulated build, docs/CUDA-EMULATION.md; nvcc's host pass) the same
// product is computed lane by lane from that layout: each lane fetches the A row and B column
// elements it needs from the lanes that hold them with 32-lane shuffles, and accumulates in k
// order with fmaf. A tensor core adds the 8 products in an order (and with internal precision)
// of its own, so the two agree to FP32 rounding of a sum of 8 exact products, not bit for bit.
#pragma once

#include <cstdint>

namespace seqnet::cuda {

// x rounded to the nearest TF32 value (10 explicit mantissa bits), ties away from zero, as PTX
// `cvt.rna.tf32.f32` does; the result is a float whose low 13 mantissa bits are zero.
// Infinities pass through. A NaN becomes the quiet NaN 0x7fc00000 on both paths: dropping the low
// 13 bits of a NaN whose payload sits only there would otherwise leave an infinity.
__host__ __device__ inline float round_to_tf32(float x) {
  constexpr uint32_t kQuietNan = 0x7fc00000u;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  // One block, so the NaN test is a select and not a branch around the conversion.
  uint32_t bits;
  asm("{\n\t.reg .pred nan;\n\t.reg .b32 rounded;\n\tcvt.rna.tf32.f32 rounded, %1;\n\t"
      "setp.nan.f32 nan, %1, %1;\n\tselp.b32 %0, %2, rounded, nan;\n\t}"
      : "=r"(bits)
      : "f"(x), "n"(kQuietNan));
  return __uint_as_float(bits);
#else
  uint32_t bits;
  __builtin_memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7f800000u) != 0x7f800000u) {  // finite: add half of the dropped unit, then drop
    bits += 0x1000u;                          // a carry into the exponent rounds up a binade
    bits &= 0xffffe000u;
  } else if (bits & 0x007fffffu) {            // NaN
    bits = kQuietNan;
  }
  float rounded;
  __builtin_memcpy(&rounded, &bits, sizeof rounded);
  return rounded;
#endif
}

// d += A * B for one warp; a, b hold TF32-rounded floats in the layout above.
__device__ inline void mma_m16n8k8_tf32(float (&d)[4], const float (&a)[4], const float (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(__float_as_uint(a[0])), "r"(__float_as_uint(a[1])), "r"(__float_as_uint(a[2])),
        "r"(__float_as_uint(a[3])), "r"(__float_as_uint(b[0])), "r"(__float_as_uint(b[1])));
#else
  const int lane = int(threadIdx.x) & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    const int high = k >> 2;  // k >= 4: the second register of the pair
    // A[g][k] and A[g+8][k] sit in lane 4 g + k % 4, registers a[2 high] and a[2 high + 1];
    // B[k][2t] and B[k][2t+1] in lanes 4 (2t) + k % 4 and 4 (2t+1) + k % 4, register b[high].
    const float a_top = __shfl_sync(0xffffffffu, a[2 * high], 4 * g + (k & 3));
    const float a_bottom = __shfl_sync(0xffffffffu, a[2 * high + 1], 4 * g + (k & 3));
    const float b_left = __shfl_sync(0xffffffffu, b[high], 4 * (2 * t) + (k & 3));
    const float b_right = __shfl_sync(0xffffffffu, b[high], 4 * (2 * t + 1) + (k & 3));
    d[0] = fmaf(a_top, b_left, d[0]);
    d[1] = fmaf(a_top, b_right, d[1]);
    d[2] = fmaf(a_bottom, b_left, d[2]);
    d[3] = fmaf(a_bottom, b_right, d[3]);
  }
#endif
}

}  // namespace seqnet::cuda
