// test_conv3x3_bf16.cpp: the bfloat16 3x3 convolution (kernels/cpu/conv3x3_bf16.h) against a
// float64 reference, held to the error bound its header derives, and against the same sums on
// the bfloat16-rounded operands in float64 (which catches a wrong pairing of channels or taps
// that the looser bound might let through); the rounding itself; the refusal on CPUs without
// AVX-512 BF16.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/conv3x3_bf16.h"
#include "kernels/cpu/reference.h"

namespace seqnet::cpu {
namespace {

TEST(RoundToBf16, RoundsToNearestTiesToEven) {
  EXPECT_EQ(round_to_bf16(1.0f), 1.0f);
  EXPECT_EQ(round_to_bf16(1.0f + 0x1p-8f), 1.0f);                 // a tie: to the even 1.0
  EXPECT_EQ(round_to_bf16(1.0f + 3 * 0x1p-8f), 1.0f + 0x1p-6f);   // a tie: to the even 1 + 2^-6
  EXPECT_EQ(round_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 1.0f + 0x1p-7f);  // above the tie: up
  EXPECT_EQ(round_to_bf16(-2.5f), -2.5f);                         // exact
  EXPECT_EQ(round_to_bf16(std::numeric_limits<float>::max()), std::numeric_limits<float>::infinity());
  EXPECT_EQ(round_to_bf16(-std::numeric_limits<float>::infinity()), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(round_to_bf16(std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload lies only in the low 16 bits must not become an infinity.
  const uint32_t low_payload_nan = 0x7f800001u;
  float nan;
  std::memcpy(&nan, &low_payload_nan, sizeof nan);
  EXPECT_TRUE(std::isnan(round_to_bf16(nan)));
}

struct Shape {
  int N, C, H, W, K;
  bool bias;
};

// Odd channel counts (a last pair with one channel), widths that are not a multiple of 16 and
// take each tile width (W 16 and 72: 1 vector, 20: 2, 37 and 144: 3, 64 and 70: 4), one- and
// two-row planes (taps outside above and below), channel blocks of 1 to 12 (K 25 on 1 vector:
// 9 + 9 + 7), and a SeqNet level (C16 > K32).
const Shape kShapes[] = {{2, 3, 9, 37, 7, true},  {1, 5, 1, 20, 2, false}, {1, 16, 24, 70, 32, true},
                         {1, 1, 2, 16, 1, true},  {3, 8, 5, 64, 13, false}, {1, 33, 11, 129, 6, true},
                         {1, 6, 7, 72, 25, true}, {1, 4, 3, 144, 20, false}};

TEST(Conv3x3Bf16, MatchesFloat64WithinItsErrorBound) {
  if (!conv3x3_bf16_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16 (avx512_bf16): the bf16 kernel is not used";
  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (const Shape& s : kShapes) {
    SCOPED_TRACE("N" + std::to_string(s.N) + " C" + std::to_string(s.C) + " " + std::to_string(s.H) + "x" +
                 std::to_string(s.W) + " K" + std::to_string(s.K));
    std::vector<float> x(size_t(s.N) * s.C * s.H * s.W), w(size_t(s.K) * s.C * 9), b(s.K);
    for (float& v : x) v = normal(rng);
    for (float& v : w) v = normal(rng);
    for (float& v : b) v = normal(rng);
    std::vector<float> y(size_t(s.N) * s.K * s.H * s.W, std::numeric_limits<float>::quiet_NaN());
    conv3x3_forward_bf16(y.data(), x.data(), w.data(), s.bias ? b.data() : nullptr, s.N, s.C, s.H, s.W, s.K);

    // Float64 references: the exact convolution, that of the rounded operands, and that of the
    // absolute values (S + |b| of the bound).
    std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()), bd(b.begin(), b.end());
    std::vector<double> xr(x.size()), wr(w.size()), xa(x.size()), wa(w.size()), ba(b.size());
    for (size_t i = 0; i < x.size(); ++i) xr[i] = round_to_bf16(x[i]), xa[i] = std::fabs(xd[i]);
    for (size_t i = 0; i < w.size(); ++i) wr[i] = round_to_bf16(w[i]), wa[i] = std::fabs(wd[i]);
    for (size_t i = 0; i < b.size(); ++i) ba[i] = std::fabs(bd[i]);
    const double* bias = s.bias ? bd.data() : nullptr;
    std::vector<double> exact(y.size()), rounded(y.size()), magnitude(y.size());
    reference::conv2d_forward(exact.data(), xd.data(), wd.data(), bias, s.N, s.C, s.H, s.W, s.K, 3);
    reference::conv2d_forward(rounded.data(), xr.data(), wr.data(), bias, s.N, s.C, s.H, s.W, s.K, 3);
    reference::conv2d_forward(magnitude.data(), xa.data(), wa.data(), s.bias ? ba.data() : nullptr, s.N, s.C, s.H,
                              s.W, s.K, 3);

    const double u = 0x1p-8, e = 0x1p-24, n = 9.0 * s.C + 1, g = n * e / (1 - n * e);
    double worst_fraction = 0, largest_error = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << "output " << i << " not written";
      // magnitude = S + |b|; the bound's first term needs S alone, and S <= S + |b|.
      const double bound = (2 * u + u * u) * magnitude[i] + g * (1 + 2 * u + u * u) * magnitude[i];
      const double error = std::fabs(y[i] - exact[i]);
      ASSERT_LE(error, bound) << "output " << i;
      // Against the rounded operands only the float32 sums differ.
      ASSERT_LE(std::fabs(y[i] - rounded[i]), g * (1 + 2 * u + u * u) * magnitude[i]) << "output " << i;
      if (bound > 0) worst_fraction = std::max(worst_fraction, error / bound);
      largest_error = std::max(largest_error, error);
    }
    // The operands really were rounded to bfloat16: float32 operands would be ~1e3 times closer.
    EXPECT_GT(largest_error, 1e-4);
    EXPECT_GT(worst_fraction, 0.01);
  }
}

// The epilogue (evaluation batch-norm, ReLU) applied in registers before the store gives exactly
// what the same float32 steps give applied to the stored convolution: y = max(0, fma(y - s, c, a)).
TEST(Conv3x3Bf16, EpilogueInRegistersEqualsItsStepsAfterTheStore) {
  if (!conv3x3_bf16_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16 (avx512_bf16): the bf16 kernel is not used";
  std::mt19937 rng(23);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (const Shape& s : kShapes) {
    SCOPED_TRACE("N" + std::to_string(s.N) + " C" + std::to_string(s.C) + " " + std::to_string(s.H) + "x" +
                 std::to_string(s.W) + " K" + std::to_string(s.K));
    std::vector<float> x(size_t(s.N) * s.C * s.H * s.W), w(size_t(s.K) * s.C * 9), b(s.K);
    std::vector<float> subtract(s.K), scale(s.K), add(s.K);
    for (float& v : x) v = normal(rng);
    for (float& v : w) v = normal(rng);
    for (float& v : b) v = normal(rng);
    for (int k = 0; k < s.K; ++k) subtract[k] = normal(rng), scale[k] = 0.5f + std::fabs(normal(rng)), add[k] = normal(rng);
    const float* bias = s.bias ? b.data() : nullptr;
    std::vector<float> plain(size_t(s.N) * s.K * s.H * s.W), fused(plain.size());
    conv3x3_forward_bf16(plain.data(), x.data(), w.data(), bias, s.N, s.C, s.H, s.W, s.K);
    for (bool relu : {false, true}) {
      conv3x3_forward_bf16(fused.data(), x.data(), w.data(), bias, s.N, s.C, s.H, s.W, s.K,
                           {subtract.data(), scale.data(), add.data(), relu});
      const int64_t HW = int64_t(s.H) * s.W;
      for (size_t i = 0; i < plain.size(); ++i) {
        const int k = int(int64_t(i) / HW % s.K);
        float expected = std::fma(plain[i] - subtract[k], scale[k], add[k]);
        if (relu) expected = std::max(expected, 0.0f);
        ASSERT_EQ(fused[i], expected) << "output " << i << (relu ? " with ReLU" : "");
      }
    }
  }
}

TEST(Conv3x3Bf16, RefusesOnACpuWithoutAvx512Bf16) {
  if (conv3x3_bf16_supported()) GTEST_SKIP() << "this CPU has AVX-512 BF16: nothing to refuse";
  float y = 0, x = 0, w[9] = {};
  try {
    conv3x3_forward_bf16(&y, &x, w, nullptr, 1, 1, 1, 1, 1);
    FAIL() << "no exception without AVX-512 BF16";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("avx512_bf16"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace seqnet::cpu
