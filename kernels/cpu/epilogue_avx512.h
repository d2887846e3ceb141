// epilogue_avx512.h: the evaluation epilogue of a 3x3 convolution (Conv3x3Epilogue,
// conv3x3_direct.h) on a tile of AVX-512 sums still in registers, before the store:
//     y = max(0, (y - subtract[k]) * scale[k] + add[k])     (the affine step and the ReLU each optional)
// with one rounding for the multiply-add. The float32 direct kernel and the bfloat16 one share it,
// so both round the epilogue the same way.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

namespace seqnet::cpu {

// acc[k][t]: vector t of the tile's channel k; subtract, scale and add start at the tile's first
// channel (subtract null: no affine step).
template <int KB, int XV>
__attribute__((target("avx512f"), always_inline)) inline void apply_epilogue_avx512(__m512 (&acc)[KB][XV],
                                                                                     const float* subtract,
                                                                                     const float* scale,
                                                                                     const float* add, bool relu) {
  if (subtract)
#pragma GCC unroll 24
    for (int k = 0; k < KB; ++k) {
      const __m512 s = _mm512_set1_ps(subtract[k]), c = _mm512_set1_ps(scale[k]), a = _mm512_set1_ps(add[k]);
#pragma GCC unroll 24
      for (int t = 0; t < XV; ++t) acc[k][t] = _mm512_fmadd_ps(_mm512_sub_ps(acc[k][t], s), c, a);
    }
  if (relu)  // (the masked form: GCC 12 warns about the unmasked one's undefined operand)
#pragma GCC unroll 24
    for (int k = 0; k < KB; ++k)
#pragma GCC unroll 24
      for (int t = 0; t < XV; ++t) acc[k][t] = _mm512_maskz_max_ps(0xFFFF, acc[k][t], _mm512_setzero_ps());
}

}  // namespace seqnet::cpu
#endif
