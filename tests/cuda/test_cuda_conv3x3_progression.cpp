// test_cuda_conv3x3_progression.cpp: each step of the 3x3 convolution's progression
// (kernels/cuda/conv3x3_progression.h, docs/KERNELS.md) against the plain-loop CPU reference
// (kernels/cpu/reference.h, in double), at shapes with a remainder in every dimension of every
// step's tiles: K past the 16- and 64-row tiles, R = 9C past the 8- and 16-steps, Q = N*H*W past
// the 16- and 64-column tiles with tiles spanning two images, a 1x1 plane (every tap but the
// centre is padding) and a one-pixel-wide one. Outputs start as NaN, so an element a step never
// writes fails. Skips without a usable GPU; the emulated build runs it (docs/CUDA-EMULATION.md).
//
// The bound, per element, derived rather than tuned (the derivation of test_cuda_tf32.cpp): with
// u = 2^-24 and S = sum over the taps of |x| |w|, plus |b|, a float32 sum of the L = 9C products
// and the bias, in any order, with or without fused multiply-adds, is within 2 (L + 2) u S of the
// exact sum. The TF32 step rounds x and w to 10-bit mantissas first: each product moves by at most
// (2^-10 + 2^-22) of itself, so its bound adds that times S. A wrong index or a lost term is off
// by about one product, S / L on average: about 100 times the float32 bound (2 (L + 2) u S) or more at
// every shape here, and at least 3 times the TF32 one.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/reference.h"
#include "kernels/cuda/conv3x3_progression.h"
#include "kernels/cuda/runtime.h"
#include "cuda/cuda_test_support.h"
#include "test_support.h"

namespace seqnet {
namespace {

using test::random_tensor;

constexpr double kU = 1.0 / (1 << 24);                             // float32's unit roundoff
constexpr double kTf32Product = 1.0 / (1 << 10) + 1.0 / (1 << 22);  // a product of TF32-rounded values

struct Shape3x3 {
  int N, C, H, W, K;
};

std::string name_of(const Shape3x3& s) {
  return "N" + std::to_string(s.N) + "_C" + std::to_string(s.C) + "_" + std::to_string(s.H) + "x" +
         std::to_string(s.W) + "_K" + std::to_string(s.K);
}

// R = 45 and K = 7 (a part of one tile), Q = 429 (tiles across the three images); K = 70 (two
// 64-row tiles, five 16-row ones, each with a remainder) at R = 144 (whole steps); a 1x1 plane with
// K = 65; a 5x1 plane with one channel (R = 9, shorter than one 16-step); SeqNet's 32 channels
// (Q = 960 = 15 whole 64-column tiles; the program's TF32 kernel takes its 32-row tile).
const std::vector<Shape3x3> kShapes = {
    {3, 5, 13, 11, 7}, {2, 16, 19, 23, 70}, {1, 3, 1, 1, 65}, {2, 1, 5, 1, 17}, {1, 32, 24, 40, 32},
};

std::vector<double> doubles(const Tensor& t) { return t.to_doubles(); }

std::vector<double> absolute(std::vector<double> v) {
  for (double& e : v) e = std::fabs(e);
  return v;
}

// Steps by index, named like the benchmarks (1_naive ...).
class CudaKernelConv3x3Progression : public ::testing::TestWithParam<int> {
 protected:
  const cuda::progression::Step& step() const { return cuda::progression::steps()[size_t(GetParam())]; }

  // Runs the step on (x, w, b; b may be empty: no bias) and checks every element against the
  // reference within the bound above.
  void expect_matches_reference(const Shape3x3& s, uint32_t seed, bool with_bias) {
    const Tensor x = random_tensor({s.N, s.C, s.H, s.W}, seed);
    const Tensor w = random_tensor({s.K, s.C, 3, 3}, seed + 1, DType::f32, 0.1);
    const Tensor b = random_tensor({s.K}, seed + 2);
    const std::vector<double> xd = doubles(x), wd = doubles(w);
    const std::vector<double> bd = with_bias ? doubles(b) : std::vector<double>(size_t(s.K), 0.0);
    const size_t outputs = size_t(s.N) * s.K * s.H * s.W;
    std::vector<double> want(outputs), scale(outputs);
    cpu::reference::conv2d_forward(want.data(), xd.data(), wd.data(), bd.data(), s.N, s.C, s.H, s.W, s.K, 3);
    cpu::reference::conv2d_forward(scale.data(), absolute(xd).data(), absolute(wd).data(), absolute(bd).data(), s.N,
                                   s.C, s.H, s.W, s.K, 3);

    const Tensor x_gpu = x.to(Device::cuda), w_gpu = w.to(Device::cuda), b_gpu = b.to(Device::cuda);
    Tensor y = Tensor::empty({s.N, s.K, s.H, s.W}, Device::cuda);
    y.fill(std::numeric_limits<double>::quiet_NaN());
    step().forward(y.f32(), x_gpu.f32(), w_gpu.f32(), with_bias ? b_gpu.f32() : nullptr, s.N, s.C, s.H, s.W, s.K,
                   cuda::stream());
    const std::vector<double> got = y.to(Device::cpu).to_doubles();

    const double terms = 9.0 * s.C + 2;
    const double factor = 2 * terms * kU + (step().tf32 ? kTf32Product : 0.0);
    int64_t failures = 0;
    double worst = 0;
    for (size_t e = 0; e < outputs; ++e) {
      const double error = std::fabs(got[e] - want[e]), allowed = factor * scale[e];
      if (!(error <= allowed) && ++failures <= 3)
        ADD_FAILURE() << "element " << e << ": got " << got[e] << ", want " << want[e] << ", allowed error "
                      << allowed;
      if (scale[e] > 0) worst = std::max(worst, error / (factor * scale[e]));
    }
    EXPECT_EQ(failures, 0) << step().name << ": elements outside the bound";
    RecordProperty("largest_error_over_bound_" + name_of(s), std::to_string(worst));
  }
};

TEST_P(CudaKernelConv3x3Progression, MatchesTheCpuReferenceAtAwkwardShapes) {
  SEQNET_REQUIRE_GPU();
  for (const Shape3x3& s : kShapes) {
    SCOPED_TRACE(name_of(s));
    expect_matches_reference(s, 41, true);
  }
}

TEST_P(CudaKernelConv3x3Progression, WithoutBiasIsTheBareConvolution) {
  SEQNET_REQUIRE_GPU();
  expect_matches_reference({2, 5, 9, 11, 7}, 43, false);
}

INSTANTIATE_TEST_SUITE_P(Steps, CudaKernelConv3x3Progression, ::testing::Range(0, 5),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(cuda::progression::steps()[size_t(info.param)].name);
                         });

}  // namespace
}  // namespace seqnet
