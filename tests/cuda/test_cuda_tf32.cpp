// test_cuda_tf32.cpp: the tensor-core path (--conv-precision tf32). The one mma of mma.cuh against a
// scalar GEMM, and the TF32 convolutions against the CPU's float32 ones, with error bounds derived
// here rather than tuned. Skips without a usable GPU (the emulated build runs it, through the
// portable mma that follows the PTX fragment layout lane by lane).
//
// The bounds. u = 2^-24 (float32 rounding). TF32 keeps 10 explicit mantissa bits; rounding to
// nearest changes a value by at most 2^-11 of itself. A product of two TF32 values has at most
// 22 significant bits, so it is exact in float32; the only other errors are the float32 sums.
//   (1) A sum of L float32 terms, in any order, is within L u sum|terms| of the exact sum; two
//       such sums (the kernel's and the CPU's) differ by at most 2 L u sum|terms|.
//   (2) (x (1 + e1)) (w (1 + e2)) = x w (1 + e), |e| <= 2^-10 + 2^-22 for |e1|, |e2| <= 2^-11.
// With S = sum over the taps of |x| |w| (+ |bias|): the TF32 convolution of x and w is within
// 2 (L + 2) u S of the CPU's float32 convolution of round_to_tf32(x), round_to_tf32(w) (by (1);
// the bias is added in float32 on both sides), and within (2^-10 + 2^-22 + 2 (L + 2) u) S of the
// CPU's convolution of x and w themselves (by (1) and (2)).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/mma_check.h"
#include "kernels/cuda/runtime.h"
#include "cuda/cuda_test_support.h"
#include "test_support.h"

namespace seqnet {
namespace {

using test::random_tensor;
using test::relative_error;

constexpr double kU = 1.0 / (1 << 24);                             // float32's unit roundoff
constexpr double kTf32Product = 1.0 / (1 << 10) + 1.0 / (1 << 22);  // (2) above

// x rounded to 11 significant bits, halves away from zero (PTX cvt.rna.tf32.f32), written
// independently of mma.cuh: through frexp and round instead of bit masks.
float tf32(float x) {
  if (x == 0 || !std::isfinite(x)) return x;
  int exponent = 0;
  const double mantissa = std::frexp(double(x), &exponent);  // |mantissa| in [0.5, 1)
  return float(std::ldexp(std::round(std::ldexp(mantissa, 11)), exponent - 11));
}

Tensor rounded_to_tf32(const Tensor& t) {
  Tensor r = t.clone();
  for (int64_t i = 0; i < r.numel(); ++i) r.f32()[i] = tf32(r.f32()[i]);
  return r;
}

Tensor absolute(const Tensor& t) {
  Tensor r = t.clone();
  for (int64_t i = 0; i < r.numel(); ++i) r.f32()[i] = std::fabs(r.f32()[i]);
  return r;
}

TEST(CudaTf32, RoundingInTheTestMatchesThePtxRule) {
  // 1 + 2^-11 is halfway between two TF32 values: away from zero. 1 + 2^-12 rounds down.
  EXPECT_EQ(tf32(1.f + 0x1p-11f), 1.f + 0x1p-10f);
  EXPECT_EQ(tf32(-1.f - 0x1p-11f), -1.f - 0x1p-10f);
  EXPECT_EQ(tf32(1.f + 0x1p-12f), 1.f);
  EXPECT_EQ(tf32(3.f), 3.f);
}

// ---- The mma: one warp, D = C + A B ------------------------------------------------------------

TEST(CudaTf32, MmaMatchesScalarGemmOnTf32RoundedInputs) {
  SEQNET_REQUIRE_GPU();
  const Tensor a = random_tensor({16, 8}, 101), b = random_tensor({8, 8}, 102), c = random_tensor({16, 8}, 103);
  Tensor d = Tensor::empty({16, 8}, Device::cuda);
  d.fill(std::numeric_limits<double>::quiet_NaN());
  const Tensor a_gpu = a.to(Device::cuda), b_gpu = b.to(Device::cuda), c_gpu = c.to(Device::cuda);
  cuda::mma_m16n8k8_tf32_check(d.f32(), a_gpu.f32(), b_gpu.f32(), c_gpu.f32(), cuda::stream());
  const Tensor got = d.to(Device::cpu);

  double largest_rounding_effect = 0, largest_error_over_bound = 0;
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) {
      // The exact sum (double holds each product and this short sum exactly enough), its terms'
      // magnitude, and the same GEMM on unrounded inputs.
      double exact = c.f32()[i * 8 + j], magnitude = std::fabs(exact), unrounded = exact;
      for (int k = 0; k < 8; ++k) {
        const double product = double(tf32(a.f32()[i * 8 + k])) * tf32(b.f32()[k * 8 + j]);
        exact += product;
        magnitude += std::fabs(product);
        unrounded += double(a.f32()[i * 8 + k]) * b.f32()[k * 8 + j];
      }
      // (1) with L = 9 terms (c and 8 products), and a factor 2 of slack for a tensor core's own
      // internal order and precision of the sum.
      const double bound = 2 * 9 * kU * magnitude;
      const double error = std::fabs(got.f32()[i * 8 + j] - exact);
      EXPECT_LE(error, bound) << "D[" << i << "][" << j << "]";
      largest_error_over_bound = std::max(largest_error_over_bound, error / bound);
      largest_rounding_effect = std::max(largest_rounding_effect, std::fabs(unrounded - exact) / bound);
    }
  // The inputs were really rounded: the unrounded GEMM lies far outside the bound somewhere.
  EXPECT_GT(largest_rounding_effect, 10.0);
  RecordProperty("largest_error_over_bound", std::to_string(largest_error_over_bound));
}

// A NaN stays a NaN through the TF32 rounding, whatever its payload: one whose payload sits only
// in the 13 bits the rounding drops (0x7f800001) would become an infinity if those bits were
// simply cleared, and inf * 1 + ... is inf, not NaN. An infinity stays an infinity. (The emulated
// build runs the host rounding, which always kept NaNs; the case this holds is the GPU's cvt.rna.)
TEST(CudaTf32, NanStaysNanAndInfinityStaysInfinityThroughTheRounding) {
  SEQNET_REQUIRE_GPU();
  Tensor a = Tensor::zeros({16, 8}), b = Tensor::zeros({8, 8}), c = Tensor::zeros({16, 8});
  for (int k = 0; k < 8; ++k) b.f32()[k * 8 + k] = 1.0f;  // identity: D = A
  const uint32_t low_payload_nan = 0x7f800001u;
  std::memcpy(&a.f32()[0], &low_payload_nan, sizeof(float));
  a.f32()[8 + 1] = std::numeric_limits<float>::infinity();
  Tensor d = Tensor::empty({16, 8}, Device::cuda);
  const Tensor a_gpu = a.to(Device::cuda), b_gpu = b.to(Device::cuda), c_gpu = c.to(Device::cuda);
  cuda::mma_m16n8k8_tf32_check(d.f32(), a_gpu.f32(), b_gpu.f32(), c_gpu.f32(), cuda::stream());
  const Tensor got = d.to(Device::cpu);
  EXPECT_TRUE(std::isnan(got.f32()[0])) << got.f32()[0];
  EXPECT_TRUE(std::isinf(got.f32()[8 + 1])) << got.f32()[8 + 1];
}

// ---- The TF32 convolutions -----------------------------------------------------------------------

struct ConvShape {
  int N, C, H, W, K, ksize;
};

std::string name_of(const ConvShape& s) {
  return "N" + std::to_string(s.N) + "_C" + std::to_string(s.C) + "_" + std::to_string(s.H) + "x" +
         std::to_string(s.W) + "_K" + std::to_string(s.K) + "_k" + std::to_string(s.ksize);
}

// Odd sizes (a reduction of 45 = 5 x 9, not a multiple of the 8-step), a 1x1 kernel, SeqNet's 32
// channels (the 32-row tile, split-K in two at 132 multiprocessors), more than one 64-row tile
// (K = 130), and a 1x1 head (32 > 2 channels: the thin path, which rounds to TF32 too). On 132
// multiprocessors the tiled ones take the narrow tile, on 1 the wide one (the test checks that).
const std::vector<ConvShape> kShapes = {
    {3, 5, 37, 53, 7, 3},
    {2, 70, 9, 11, 130, 1},
    {1, 32, 24, 40, 32, 3},
    {2, 32, 23, 29, 2, 1},
};

// Elementwise: |got - want| <= factor * scale, for every element; returns max |got - want| / scale.
double expect_within(const Tensor& got_gpu, const Tensor& want, const Tensor& scale, double factor,
                     const char* what) {
  const Tensor got = got_gpu.to(Device::cpu);
  double worst = 0;
  int64_t failures = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double error = std::fabs(double(got.f32()[i]) - want.f32()[i]);
    const double allowed = factor * scale.f32()[i];
    if (!(error <= allowed) && ++failures <= 3)
      ADD_FAILURE() << what << ": element " << i << " got " << got.f32()[i] << ", want " << want.f32()[i]
                    << ", allowed error " << allowed;
    if (scale.f32()[i] > 0) worst = std::max(worst, error / scale.f32()[i]);
  }
  EXPECT_EQ(failures, 0) << what << ": elements outside the bound";
  return worst;
}

struct CpuConv {
  const ConvShape& s;
  std::vector<float> workspace;
  explicit CpuConv(const ConvShape& shape)
      : s(shape), workspace(cpu::conv2d_workspace_size(std::max(s.C, s.K), s.H, s.W, s.ksize)) {}
  Tensor forward(const Tensor& x, const Tensor& w, const Tensor& b) {
    Tensor y = Tensor::empty({s.N, s.K, s.H, s.W});
    cpu::conv2d_forward(y.f32(), x.f32(), w.f32(), b.f32(), workspace.data(), s.N, s.C, s.H, s.W, s.K, s.ksize);
    return y;
  }
  Tensor backward_input(const Tensor& dy, const Tensor& w) {
    Tensor dx = Tensor::empty({s.N, s.C, s.H, s.W});
    cpu::conv2d_backward_input(dx.f32(), dy.f32(), w.f32(), workspace.data(), s.N, s.C, s.H, s.W, s.K, s.ksize);
    return dx;
  }
};

// The launch shapes of a GPU with this many multiprocessors: 132 (H100/H200) or 1.
class CudaTf32On : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { cuda::set_multiprocessor_count(GetParam()); }
  void TearDown() override { cuda::set_multiprocessor_count(0); }
};

TEST_P(CudaTf32On, ConvolutionsRoundTheirInputsAndSumInFloat32) {
  SEQNET_REQUIRE_GPU();
  const int wanted_tile = GetParam() == 1 ? 128 : 64;
  for (const ConvShape& s : kShapes) {
    SCOPED_TRACE(name_of(s));
    for (const cuda::ConvLaunchShape& shape :
         {cuda::conv2d_forward_launch_shape(s.N, s.C, s.H, s.W, s.K, s.ksize, true),
          cuda::conv2d_backward_input_launch_shape(s.N, s.C, s.H, s.W, s.K, s.ksize, true)})
      EXPECT_EQ(shape.tile_columns, s.ksize == 1 && s.K == 2 ? 0 : wanted_tile);  // 0: the thin path
    CpuConv cpu_conv(s);
    const Tensor x = random_tensor({s.N, s.C, s.H, s.W}, 111), w = random_tensor({s.K, s.C, s.ksize, s.ksize}, 112);
    const Tensor b = random_tensor({s.K}, 113), dy = random_tensor({s.N, s.K, s.H, s.W}, 114);
    const Tensor x_gpu = x.to(Device::cuda), w_gpu = w.to(Device::cuda), b_gpu = b.to(Device::cuda);
    const Tensor dy_gpu = dy.to(Device::cuda);

    // Forward: L = C ks^2 products per output, plus the bias.
    const double L_forward = double(s.C) * s.ksize * s.ksize;
    const Tensor scale_forward = cpu_conv.forward(absolute(x), absolute(w), absolute(b));
    Tensor y = Tensor::empty({s.N, s.K, s.H, s.W}, Device::cuda);
    cuda::conv2d_forward_tf32(y.f32(), x_gpu.f32(), w_gpu.f32(), b_gpu.f32(), s.N, s.C, s.H, s.W, s.K, s.ksize,
                              cuda::stream());
    expect_within(y, cpu_conv.forward(rounded_to_tf32(x), rounded_to_tf32(w), b), scale_forward,
                  2 * (L_forward + 2) * kU, "forward against float32 on TF32-rounded inputs");
    const Tensor y_fp32 = cpu_conv.forward(x, w, b);
    const double worst_forward =
        expect_within(y, y_fp32, scale_forward, kTf32Product + 2 * (L_forward + 2) * kU, "forward against float32");
    RecordProperty("forward_worst_error_over_S_" + name_of(s), std::to_string(worst_forward));
    RecordProperty("forward_relative_error_" + name_of(s), std::to_string(relative_error(y.to(Device::cpu), y_fp32)));

    // Backward-input: L = K ks^2 products per input gradient, no bias.
    const double L_backward = double(s.K) * s.ksize * s.ksize;
    const Tensor scale_backward = cpu_conv.backward_input(absolute(dy), absolute(w));
    Tensor dx = Tensor::empty({s.N, s.C, s.H, s.W}, Device::cuda);
    cuda::conv2d_backward_input_tf32(dx.f32(), dy_gpu.f32(), w_gpu.f32(), s.N, s.C, s.H, s.W, s.K, s.ksize,
                                     cuda::stream());
    expect_within(dx, cpu_conv.backward_input(rounded_to_tf32(dy), rounded_to_tf32(w)), scale_backward,
                  2 * (L_backward + 2) * kU, "backward-input against float32 on TF32-rounded inputs");
    expect_within(dx, cpu_conv.backward_input(dy, w), scale_backward, kTf32Product + 2 * (L_backward + 2) * kU,
                  "backward-input against float32");
  }
}

INSTANTIATE_TEST_SUITE_P(Multiprocessors, CudaTf32On, ::testing::Values(132, 1));

}  // namespace
}  // namespace seqnet
