// test_cpu_kernels.cpp: the CPU kernels against their plain-loop references and hand results.
//
// The fast convolutions (im2col + BLAS) are compared with kernels/cpu/reference.h evaluated in
// double on the same inputs: in double they must agree to rounding (1e-12), in float to float
// rounding over the reduction (1e-5).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cpu/adam.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/channels.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv3x3_algorithm.h"
#include "kernels/cpu/conv3x3_direct.h"
#include "kernels/cpu/conv3x3_weight_direct.h"
#include "kernels/cpu/conv3x3_winograd.h"
#include "kernels/cpu/conv_transpose2x2.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/maxpool2x2.h"
#include "kernels/cpu/reference.h"
#include "kernels/dropout_hash.h"
#include "kernels/ops.h"
#include "test_support.h"

namespace seqnet {
namespace {

constexpr double kDoubleTolerance = 1e-12;
constexpr double kFloatTolerance = 1e-5;

template <typename T>
double tolerance() {
  return sizeof(T) == sizeof(double) ? kDoubleTolerance : kFloatTolerance;
}

// n normal random numbers, rounded to T (so the double reference sees exactly T's inputs).
template <typename T>
std::vector<T> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

template <typename T>
std::vector<double> as_doubles(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

struct ConvShape {
  int N, C, H, W, K;
};

// conv2d forward, input grad and weight grad (T) against the double reference.
template <typename T>
void check_conv2d(const ConvShape& s, int ksize) {
  SCOPED_TRACE("N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) + " H=" + std::to_string(s.H) +
               " W=" + std::to_string(s.W) + " K=" + std::to_string(s.K) + " ksize=" + std::to_string(ksize));
  const int64_t HW = int64_t(s.H) * s.W;
  auto x = random_values<T>(s.N * s.C * HW, 1);
  auto w = random_values<T>(int64_t(s.K) * s.C * ksize * ksize, 2);
  auto b = random_values<T>(s.K, 3);
  auto dy = random_values<T>(s.N * s.K * HW, 4);
  std::vector<T> workspace(cpu::conv2d_workspace_size(s.C, s.H, s.W, ksize));

  std::vector<T> y(s.N * s.K * HW), dx(x.size(), T(7)), dw(w.size(), T(0));
  cpu::conv2d_forward(y.data(), x.data(), w.data(), b.data(), workspace.data(), s.N, s.C, s.H, s.W, s.K, ksize);
  cpu::conv2d_backward_input(dx.data(), dy.data(), w.data(), workspace.data(), s.N, s.C, s.H, s.W, s.K, ksize);
  cpu::conv2d_backward_weight(dw.data(), dy.data(), x.data(), workspace.data(), s.N, s.C, s.H, s.W, s.K, ksize);

  auto xd = as_doubles(x), wd = as_doubles(w), bd = as_doubles(b), dyd = as_doubles(dy);
  std::vector<double> y_ref(y.size()), dx_ref(dx.size()), dw_ref(dw.size(), 0.0);
  cpu::reference::conv2d_forward(y_ref.data(), xd.data(), wd.data(), bd.data(), s.N, s.C, s.H, s.W, s.K, ksize);
  cpu::reference::conv2d_backward_input(dx_ref.data(), dyd.data(), wd.data(), s.N, s.C, s.H, s.W, s.K, ksize);
  cpu::reference::conv2d_backward_weight(dw_ref.data(), dyd.data(), xd.data(), s.N, s.C, s.H, s.W, s.K, ksize);

  EXPECT_LE(test::relative_error(as_doubles(y), y_ref), tolerance<T>()) << "forward";
  EXPECT_LE(test::relative_error(as_doubles(dx), dx_ref), tolerance<T>()) << "input gradient";
  EXPECT_LE(test::relative_error(as_doubles(dw), dw_ref), tolerance<T>()) << "weight gradient";

  // Without a bias the output is the biased one minus b.
  std::vector<T> y_nobias(y.size());
  cpu::conv2d_forward(y_nobias.data(), x.data(), w.data(), static_cast<const T*>(nullptr), workspace.data(), s.N,
                      s.C, s.H, s.W, s.K, ksize);
  for (int64_t i = 0; i < int64_t(y.size()); ++i) y_ref[i] -= bd[(i / HW) % s.K];
  EXPECT_LE(test::relative_error(as_doubles(y_nobias), y_ref), tolerance<T>()) << "forward without bias";
}

template <typename T>
void check_conv_transpose(const ConvShape& s) {
  SCOPED_TRACE("N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) + " H=" + std::to_string(s.H) +
               " W=" + std::to_string(s.W) + " K=" + std::to_string(s.K));
  const int64_t HW = int64_t(s.H) * s.W;
  auto x = random_values<T>(s.N * s.C * HW, 11);
  auto w = random_values<T>(int64_t(s.C) * s.K * 4, 12);
  auto b = random_values<T>(s.K, 13);
  auto dy = random_values<T>(s.N * s.K * 4 * HW, 14);
  std::vector<T> workspace(cpu::conv_transpose2x2_workspace_size(s.K, s.H, s.W));

  std::vector<T> y(dy.size()), dx(x.size(), T(7)), dw(w.size(), T(0));
  cpu::conv_transpose2x2_forward(y.data(), x.data(), w.data(), b.data(), workspace.data(), s.N, s.C, s.H, s.W, s.K);
  cpu::conv_transpose2x2_backward_input(dx.data(), dy.data(), w.data(), workspace.data(), s.N, s.C, s.H, s.W, s.K);
  cpu::conv_transpose2x2_backward_weight(dw.data(), dy.data(), x.data(), workspace.data(), s.N, s.C, s.H, s.W,
                                         s.K);

  auto xd = as_doubles(x), wd = as_doubles(w), bd = as_doubles(b), dyd = as_doubles(dy);
  std::vector<double> y_ref(y.size()), dx_ref(dx.size()), dw_ref(dw.size(), 0.0);
  cpu::reference::conv_transpose2x2_forward(y_ref.data(), xd.data(), wd.data(), bd.data(), s.N, s.C, s.H, s.W, s.K);
  cpu::reference::conv_transpose2x2_backward_input(dx_ref.data(), dyd.data(), wd.data(), s.N, s.C, s.H, s.W, s.K);
  cpu::reference::conv_transpose2x2_backward_weight(dw_ref.data(), dyd.data(), xd.data(), s.N, s.C, s.H, s.W, s.K);

  EXPECT_LE(test::relative_error(as_doubles(y), y_ref), tolerance<T>()) << "forward";
  EXPECT_LE(test::relative_error(as_doubles(dx), dx_ref), tolerance<T>()) << "input gradient";
  EXPECT_LE(test::relative_error(as_doubles(dw), dw_ref), tolerance<T>()) << "weight gradient";
}

const ConvShape kOddShape{3, 5, 37, 53, 7};
const ConvShape kEdgeShapes[] = {{2, 3, 1, 1, 4}, {2, 3, 1, 9, 4}, {2, 3, 8, 1, 4}, {1, 1, 2, 2, 1}};

TEST(CpuKernelConv2d, Fast3x3MatchesReferenceDouble) {
  check_conv2d<double>(kOddShape, 3);
  for (const auto& s : kEdgeShapes) check_conv2d<double>(s, 3);
}

TEST(CpuKernelConv2d, Fast3x3MatchesReferenceFloat) {
  check_conv2d<float>(kOddShape, 3);
  for (const auto& s : kEdgeShapes) check_conv2d<float>(s, 3);
}

// The float 3x3 layers through conv2d.h with each algorithm the CPU can run forced in turn
// (forward, and input gradient with the flipped weights), then with the measured choice.
TEST(CpuKernelConv2d, Fast3x3MatchesReferenceFloatWithEveryAlgorithm) {
  std::vector<std::optional<cpu::Conv3x3Algorithm>> settings;
  for (cpu::Conv3x3Algorithm a : cpu::conv3x3_algorithms_available()) settings.push_back(a);
  settings.push_back(std::nullopt);
  for (const auto& setting : settings) {
    SCOPED_TRACE(setting ? cpu::conv3x3_algorithm_name(*setting) : "measured");
    cpu::force_conv3x3_algorithm(setting);
    check_conv2d<float>(kOddShape, 3);
    for (const auto& s : kEdgeShapes) check_conv2d<float>(s, 3);
    check_conv2d<float>({2, 16, 9, 64, 24}, 3);
    check_conv2d<float>({1, 3, 5, 100, 8}, 3);
  }
  cpu::force_conv3x3_algorithm(std::nullopt);
}

// The chooser times every candidate once per (pass, shape), keeps the fastest, and asks nothing the
// next time; a forced algorithm is used without timing.
TEST(CpuKernelConv2d, AlgorithmIsMeasuredOncePerShapeAndPass) {
  cpu::force_conv3x3_algorithm(std::nullopt);
  const auto available = cpu::conv3x3_algorithms_available();
  // A shape no other test uses, so this process has not measured it yet, and large enough to be
  // timed (the fake run below computes nothing).
  const cpu::Conv3x3Shape shape{cpu::Conv3x3Pass::input_gradient, 3, 33, 70, 110, 5};
  std::vector<int> runs(3, 0);
  // winograd made slowest on purpose (a sleep), so the fastest is one of the others.
  const auto run = [&](cpu::Conv3x3Algorithm a) {
    ++runs[int(a)];
    if (a == cpu::Conv3x3Algorithm::winograd) std::this_thread::sleep_for(std::chrono::milliseconds(30));
  };
  const cpu::Conv3x3Algorithm chosen = cpu::conv3x3_algorithm(shape, run);
  EXPECT_NE(chosen, cpu::Conv3x3Algorithm::winograd);
  for (cpu::Conv3x3Algorithm a : available) EXPECT_GE(runs[int(a)], 2) << cpu::conv3x3_algorithm_name(a);
  const std::vector<int> runs_after_choice = runs;
  EXPECT_EQ(cpu::conv3x3_algorithm(shape, run), chosen);
  EXPECT_EQ(runs, runs_after_choice) << "a shape met before is not timed again";
  const auto choices = cpu::conv3x3_choices();
  const auto recorded = std::find_if(choices.begin(), choices.end(), [&](const auto& c) { return c.shape == shape; });
  ASSERT_NE(recorded, choices.end());
  EXPECT_EQ(recorded->algorithm, chosen);
  EXPECT_EQ(recorded->seconds.size(), available.size());

  cpu::force_conv3x3_algorithm(cpu::Conv3x3Algorithm::gemm);
  const cpu::Conv3x3Shape other{cpu::Conv3x3Pass::forward, 1, 3, 7, 11, 5};
  EXPECT_EQ(cpu::conv3x3_algorithm(other, run), cpu::Conv3x3Algorithm::gemm);
  EXPECT_EQ(runs, runs_after_choice) << "a forced algorithm is not timed";
  cpu::force_conv3x3_algorithm(std::nullopt);
}

// Tiny shapes are not timed (their timings are noise): the direct kernel where the CPU has it,
// else im2col + GEMM, the same in every run.
TEST(CpuKernelConv2d, TinyShapesAreNotTimed) {
  cpu::force_conv3x3_algorithm(std::nullopt);
  const cpu::Conv3x3Shape tiny{cpu::Conv3x3Pass::forward, 1, 2, 8, 8, 2};
  int runs = 0;
  const cpu::Conv3x3Algorithm chosen = cpu::conv3x3_algorithm(tiny, [&](cpu::Conv3x3Algorithm) { ++runs; });
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(chosen, cpu::conv3x3_direct_available() ? cpu::Conv3x3Algorithm::direct : cpu::Conv3x3Algorithm::gemm);
}

TEST(CpuKernelConv2d, Fast1x1MatchesReference) {
  check_conv2d<double>(kOddShape, 1);
  check_conv2d<float>(kOddShape, 1);
  for (const auto& s : kEdgeShapes) {
    check_conv2d<double>(s, 1);
    check_conv2d<float>(s, 1);
  }
}

// The heads (1x1 with K <= 4: conv1x1_thin.h's loops, not a GEMM): planes of one block, several
// blocks with a remainder, one pixel; on 1, 2 and 3 threads (pieces split differently).
TEST(CpuKernelConv2d, Thin1x1HeadsMatchReferenceOnAnyThreadCount) {
  const ConvShape shapes[] = {{2, 32, 130, 129, 2}, {1, 16, 3, 5, 1}, {3, 7, 33, 65, 3}, {1, 1, 1, 1, 4}};
  const int threads_before = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    omp_set_num_threads(threads);
    for (const ConvShape& s : shapes) {
      check_conv2d<double>(s, 1);
      check_conv2d<float>(s, 1);
    }
  }
  omp_set_num_threads(threads_before);
}

// The heads' weight gradient sums N*HW products per weight: in blocks of at most 1024 in float,
// the blocks in double. Any order of a block's sum errs by at most 1023 u sum|terms| (u = 2^-24),
// the double sums and the last rounding add about u |dw|. A float sum over the whole 2 x 256x256
// plane would only be bound by 131071 u sum|terms|. Element by element, against the double sum.
TEST(CpuKernelConv2d, Thin1x1WeightGradientErrsOnlyByBlockLength) {
  const int N = 2, C = 16, K = 2;
  const int64_t HW = 256 * 256;
  const auto x = random_values<float>(N * C * HW, 21), dy = random_values<float>(N * K * HW, 22);
  std::vector<float> dw(K * C, 0.0f);
  cpu::conv2d_backward_weight(dw.data(), dy.data(), x.data(), static_cast<float*>(nullptr), N, C, 256, 256, K, 1);
  const double u = std::ldexp(1.0, -24);
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < C; ++c) {
      double sum = 0, sum_abs = 0;
      for (int n = 0; n < N; ++n)
        for (int64_t p = 0; p < HW; ++p) {
          const double term = double(dy[(n * K + k) * HW + p]) * x[(n * C + c) * HW + p];
          sum += term;
          sum_abs += std::abs(term);
        }
      EXPECT_LE(std::abs(dw[k * C + c] - sum), 1023 * u * sum_abs + 2 * u * std::abs(sum)) << "k " << k << " c " << c;
    }
  // Gradients accumulate (+=): a second call adds the same sums again.
  std::vector<float> twice = dw;
  cpu::conv2d_backward_weight(twice.data(), dy.data(), x.data(), static_cast<float*>(nullptr), N, C, 256, 256, K, 1);
  for (int e = 0; e < K * C; ++e) EXPECT_NEAR(twice[e], 2.0f * dw[e], 4 * u * std::abs(dw[e])) << e;
}

TEST(CpuKernelConv2d, LargeImageGoesInBands) {
  // 64 channels x 256 columns x 9 taps per row: the workspace holds a band of rows, not the image.
  const ConvShape s{2, 64, 61, 256, 3};
  ASSERT_LT(cpu::conv2d_workspace_size(s.C, s.H, s.W, 3), int64_t(s.C) * 9 * s.H * s.W);
  check_conv2d<double>(s, 3);
}

TEST(CpuKernelConv2d, SmallPlanesGoInGroupsOfImages) {
  // (1152 + 40) * 49 elements per image: 71 images fit the workspace, so 73 images make a full
  // group and a group of 2.
  check_conv2d<double>({73, 128, 7, 7, 40}, 3);
}

// A float 3x3 forward kernel y = conv3x3(x, w) + b, then an epilogue, against the double reference
// at widths and heights that leave every tile remainder (the direct kernel's 48- or 24-pixel tiles
// and partial vectors, Winograd's 2x2 tiles on odd sizes) and channel counts that leave every
// block remainder (8, 4, 2, 1), including planes one row or one pixel high or wide; once plain,
// once with the batch-norm + ReLU epilogue. NaN where the kernel must write: a skipped pixel shows.
using Conv3x3Kernel = std::function<void(float* y, const float* x, const float* w, const float* b, int N, int C,
                                         int H, int W, int K, const cpu::Conv3x3Epilogue& epilogue)>;
const std::vector<ConvShape> kRemainderShapes = {
    {1, 1, 1, 1, 1},   {2, 3, 5, 17, 15}, {1, 4, 3, 32, 8},   {3, 5, 4, 47, 7}, {1, 16, 6, 48, 16},
    {2, 2, 1, 49, 11}, {1, 7, 9, 97, 3},  {1, 3, 2, 130, 21}, {2, 9, 1, 8, 9},  {1, 24, 7, 64, 13},
    {1, 2, 3, 23, 6},  {1, 2, 2, 25, 5},  {1, 3, 8, 1, 2},    {2, 6, 11, 13, 4},
    // large enough to run on several threads, whose runs of rows start inside an image
    {3, 5, 37, 29, 7}, {2, 17, 19, 33, 18}};
void check_conv3x3_kernel(const std::string& name, const Conv3x3Kernel& kernel,
                          const std::vector<ConvShape>& shapes = kRemainderShapes) {
  for (const ConvShape& s : shapes)
    for (bool with_epilogue : {false, true}) {
      SCOPED_TRACE(name + " N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) + " H=" + std::to_string(s.H) +
                   " W=" + std::to_string(s.W) + " K=" + std::to_string(s.K) + (with_epilogue ? " with epilogue" : ""));
      const int64_t HW = int64_t(s.H) * s.W;
      auto x = random_values<float>(s.N * s.C * HW, 21);
      auto w = random_values<float>(int64_t(s.K) * s.C * 9, 22);
      auto b = random_values<float>(s.K, 23), mean = random_values<float>(s.K, 24);
      auto scale = random_values<float>(s.K, 25), add = random_values<float>(s.K, 26);
      cpu::Conv3x3Epilogue epilogue;
      if (with_epilogue) epilogue = {mean.data(), scale.data(), add.data(), true};
      std::vector<float> y(s.N * s.K * HW, std::nanf(""));
      kernel(y.data(), x.data(), w.data(), b.data(), s.N, s.C, s.H, s.W, s.K, epilogue);
      auto xd = as_doubles(x), wd = as_doubles(w), bd = as_doubles(b);
      std::vector<double> y_ref(y.size());
      cpu::reference::conv2d_forward(y_ref.data(), xd.data(), wd.data(), bd.data(), s.N, s.C, s.H, s.W, s.K, 3);
      if (with_epilogue)
        for (int64_t i = 0; i < int64_t(y_ref.size()); ++i) {
          const int64_t k = (i / HW) % s.K;
          y_ref[i] = std::max(0.0, (y_ref[i] - mean[k]) * scale[k] + add[k]);
        }
      EXPECT_LE(test::relative_error(as_doubles(y), y_ref), kFloatTolerance);
    }
}

// The direct kernel on its own, for each instruction set this CPU has.
TEST(CpuKernelConv2d, Direct3x3MatchesReferenceAtEveryRemainder) {
  int checked = 0;
  for (cpu::Conv3x3Isa isa : cpu::kConv3x3Isas) {
    if (!cpu::conv3x3_isa_supported(isa)) {
      std::printf("[ SKIPPED  ] the direct 3x3 kernel's %s version: this CPU lacks it\n", cpu::conv3x3_isa_name(isa));
      continue;
    }
    // Each thread keeps its own ring of input rows (conv3x3_direct.cpp): 1, 2 and 3 threads split
    // the rows differently.
    const int threads_before = omp_get_max_threads();
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      check_conv3x3_kernel(std::string(cpu::conv3x3_isa_name(isa)) + " on " + std::to_string(threads) + " threads",
                           [isa](float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                                 int K, const cpu::Conv3x3Epilogue& ep) {
                             cpu::conv3x3_forward_direct_with(isa, y, x, w, b, N, C, H, W, K, ep);
                           });
    }
    omp_set_num_threads(threads_before);
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "this CPU has none of AVX2+FMA, AVX-512F, NEON: the direct 3x3 kernel is not used";
}

// The input gradient through the direct kernel (conv2d.cpp: a forward convolution of dy with the
// flipped, transposed weights, so K and C trade places) in the instruction set this CPU uses (NEON
// on aarch64), at every remainder shape and on 1, 2 and 3 threads, against the double reference.
// dx starts as NaN: the kernel must write every element.
TEST(CpuKernelConv2d, DirectInputGradientMatchesReferenceAtEveryRemainder) {
  if (!cpu::conv3x3_direct_available())
    GTEST_SKIP() << "this CPU has none of AVX2+FMA, AVX-512F, NEON: the direct 3x3 kernel is not used";
  cpu::force_conv3x3_algorithm(cpu::Conv3x3Algorithm::direct);
  const int threads_before = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    for (const ConvShape& s : kRemainderShapes) {
      SCOPED_TRACE(std::string(cpu::conv3x3_isa_name(*cpu::conv3x3_direct_isa())) + " on " +
                   std::to_string(threads) + " threads N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) +
                   " H=" + std::to_string(s.H) + " W=" + std::to_string(s.W) + " K=" + std::to_string(s.K));
      const int64_t HW = int64_t(s.H) * s.W;
      auto dy = random_values<float>(s.N * s.K * HW, 61), w = random_values<float>(int64_t(s.K) * s.C * 9, 62);
      std::vector<float> dx(s.N * s.C * HW, std::nanf("")), workspace(cpu::conv2d_workspace_size(s.C, s.H, s.W, 3));
      cpu::conv2d_backward_input(dx.data(), dy.data(), w.data(), workspace.data(), s.N, s.C, s.H, s.W, s.K, 3);
      auto dyd = as_doubles(dy), wd = as_doubles(w);
      std::vector<double> dx_ref(dx.size());
      cpu::reference::conv2d_backward_input(dx_ref.data(), dyd.data(), wd.data(), s.N, s.C, s.H, s.W, s.K, 3);
      EXPECT_LE(test::relative_error(as_doubles(dx), dx_ref), kFloatTolerance);
    }
  }
  omp_set_num_threads(threads_before);
  cpu::force_conv3x3_algorithm(std::nullopt);
}

// The direct weight gradient on its own, for each instruction set this CPU has: every remainder
// shape, and shapes cut into many pieces (several bands of rows per image, shared over threads,
// a short last band). It adds to dw (here starting from 0.5), and gives the same bits twice.
TEST(CpuKernelConv2d, DirectWeightGradientMatchesReferenceAtEveryRemainder) {
  std::vector<ConvShape> shapes = kRemainderShapes;
  shapes.insert(shapes.end(), {{4, 16, 41, 130, 16}, {1, 5, 300, 7, 3}, {3, 32, 9, 64, 17}});
  int checked = 0;
  for (cpu::Conv3x3Isa isa : cpu::kConv3x3Isas) {
    if (!cpu::conv3x3_isa_supported(isa)) {
      std::printf("[ SKIPPED  ] the direct weight gradient's %s version: this CPU lacks it\n",
                  cpu::conv3x3_isa_name(isa));
      continue;
    }
    for (const ConvShape& s : shapes) {
      SCOPED_TRACE(std::string(cpu::conv3x3_isa_name(isa)) + " N=" + std::to_string(s.N) + " C=" +
                   std::to_string(s.C) + " H=" + std::to_string(s.H) + " W=" + std::to_string(s.W) +
                   " K=" + std::to_string(s.K));
      const int64_t HW = int64_t(s.H) * s.W;
      auto x = random_values<float>(s.N * s.C * HW, 51), dy = random_values<float>(s.N * s.K * HW, 52);
      std::vector<float> dw(int64_t(s.K) * s.C * 9, 0.5f);
      cpu::conv3x3_weight_gradient_direct_with(isa, dw.data(), dy.data(), x.data(), s.N, s.C, s.H, s.W, s.K);
      auto xd = as_doubles(x), dyd = as_doubles(dy);
      std::vector<double> dw_ref(dw.size(), 0.5);
      cpu::reference::conv2d_backward_weight(dw_ref.data(), dyd.data(), xd.data(), s.N, s.C, s.H, s.W, s.K, 3);
      EXPECT_LE(test::relative_error(as_doubles(dw), dw_ref), kFloatTolerance);
      std::vector<float> again(dw.size(), 0.5f);
      cpu::conv3x3_weight_gradient_direct_with(isa, again.data(), dy.data(), x.data(), s.N, s.C, s.H, s.W, s.K);
      EXPECT_EQ(again, dw) << "not deterministic";
      // On 3 threads: two per-thread copies of dw added in order (thread_sums.h).
      const int threads_before = omp_get_max_threads();
      omp_set_num_threads(3);
      std::vector<float> three(dw.size(), 0.5f);
      cpu::conv3x3_weight_gradient_direct_with(isa, three.data(), dy.data(), x.data(), s.N, s.C, s.H, s.W, s.K);
      omp_set_num_threads(threads_before);
      EXPECT_LE(test::relative_error(as_doubles(three), dw_ref), kFloatTolerance) << "on 3 threads";
    }
    ++checked;
  }
  if (checked == 0)
    GTEST_SKIP() << "this CPU has none of AVX2+FMA, AVX-512F, NEON: the direct weight gradient is not used";
}

// Winograd with its transforms in each instruction set this CPU has (and the base one).
TEST(CpuKernelConv2d, Winograd3x3MatchesReferenceAtEveryRemainder) {
  std::vector<std::optional<cpu::Conv3x3Isa>> isas{std::nullopt};
  isas.insert(isas.end(), std::begin(cpu::kConv3x3Isas), std::end(cpu::kConv3x3Isas));
  for (std::optional<cpu::Conv3x3Isa> isa : isas) {
    const std::string name =
        std::string("Winograd, transforms in ") + (isa ? cpu::conv3x3_isa_name(*isa) : "the base instruction set");
    if (isa && !cpu::conv3x3_isa_supported(*isa)) {
      std::printf("[ SKIPPED  ] %s: this CPU lacks it\n", name.c_str());
      continue;
    }
    const auto kernel = [isa](float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                              int K, const cpu::Conv3x3Epilogue& ep) {
      cpu::conv3x3_forward_winograd_with(isa, y, x, w, b, N, C, H, W, K, ep);
    };
    check_conv3x3_kernel(name, kernel);
    // Enough blocks for each thread to run whole ones: 9 small images, and 2 planes 600 wide with
    // 48 channels (one tile row per block, 5 blocks per image); and 4 such blocks of one image.
    check_conv3x3_kernel(name + ", many blocks", kernel,
                         {{9, 3, 5, 7, 4}, {2, 48, 9, 600, 48}, {1, 40, 7, 600, 24}});
  }
}

// The rounding error of each 3x3 algorithm at SeqNet's channel counts (C = K = 16 .. 256, the
// reduction over 9C products), against the double reference on the same float inputs, printed as
// max |y - y_ref| / max |y_ref| and as the L2 relative error. Winograd F(2x2,3x3) rounds in its
// transforms too; it must stay within the float tolerance of the other two.
TEST(CpuKernelConv2d, RoundingErrorOfEachAlgorithmAtSeqNetChannelCounts) {
  for (int channels : {16, 32, 64, 128, 256}) {
    const ConvShape s{1, channels, 20, 20, channels};
    const int64_t HW = int64_t(s.H) * s.W;
    auto x = random_values<float>(s.C * HW, 41), w = random_values<float>(int64_t(s.K) * s.C * 9, 42);
    auto xd = as_doubles(x), wd = as_doubles(w);
    std::vector<double> y_ref(s.K * HW);
    cpu::reference::conv2d_forward(y_ref.data(), xd.data(), wd.data(), static_cast<const double*>(nullptr), s.N, s.C,
                                   s.H, s.W, s.K, 3);
    double max_ref = 0;
    for (double v : y_ref) max_ref = std::max(max_ref, std::abs(v));
    std::string line = "C=K=" + std::to_string(channels) + ":";
    for (cpu::Conv3x3Algorithm a : cpu::conv3x3_algorithms_available()) {
      cpu::force_conv3x3_algorithm(a);
      std::vector<float> y(y_ref.size()), workspace(cpu::conv2d_workspace_size(s.C, s.H, s.W, 3));
      cpu::conv2d_forward(y.data(), x.data(), w.data(), static_cast<const float*>(nullptr), workspace.data(), s.N, s.C,
                          s.H, s.W, s.K, 3);
      double max_error = 0;
      for (size_t i = 0; i < y.size(); ++i) max_error = std::max(max_error, std::abs(y[i] - y_ref[i]));
      const double l2 = test::relative_error(as_doubles(y), y_ref);
      char text[96];
      std::snprintf(text, sizeof text, "  %s max %.2e L2 %.2e", cpu::conv3x3_algorithm_name(a), max_error / max_ref, l2);
      line += text;
      EXPECT_LE(l2, kFloatTolerance) << cpu::conv3x3_algorithm_name(a) << " C=K=" << channels;
    }
    std::printf("%s\n", line.c_str());
  }
  cpu::force_conv3x3_algorithm(std::nullopt);
}

// The evaluation-time Conv2d -> BatchNorm2d -> ReLU op against the three ops one after the
// other, with each 3x3 algorithm (the epilogue in the direct and Winograd kernels' registers, or
// its own pass after im2col + GEMM), on a wide and a narrow plane, with and without a conv bias.
TEST(CpuKernelConv2d, FusedBatchNormReluMatchesSeparateOps) {
  for (cpu::Conv3x3Algorithm algorithm : cpu::conv3x3_algorithms_available()) {
    for (const ConvShape& s : {ConvShape{2, 5, 6, 70, 11}, ConvShape{1, 4, 5, 9, 6}})
      for (bool with_bias : {true, false}) {
        cpu::force_conv3x3_algorithm(algorithm);
        SCOPED_TRACE(std::string(cpu::conv3x3_algorithm_name(algorithm)) + " W=" + std::to_string(s.W) +
                     (with_bias ? " with bias" : " without bias"));
        Tensor x = test::random_tensor({s.N, s.C, s.H, s.W}, 31), w = test::random_tensor({s.K, s.C, 3, 3}, 32);
        Tensor b = test::random_tensor({s.K}, 33), gamma = test::random_tensor({s.K}, 34);
        Tensor beta = test::random_tensor({s.K}, 35), mean = test::random_tensor({s.K}, 36);
        Tensor var = test::random_tensor({s.K}, 37);
        for (float* v = var.f32(); v < var.f32() + s.K; ++v) *v = std::abs(*v) + 0.1f;  // a variance
        const Tensor* bias = with_bias ? &b : nullptr;

        Tensor expected = Tensor::empty({s.N, s.K, s.H, s.W}), fused = Tensor::empty({s.N, s.K, s.H, s.W});
        ops::conv2d_forward(expected, x, w, bias);
        ops::batchnorm_forward_eval(expected, expected, gamma, beta, mean, var, 1e-5);
        ops::relu_forward(expected, expected);
        ops::conv2d_batchnorm_relu_eval(fused, x, w, bias, gamma, beta, mean, var, 1e-5);
        EXPECT_LE(test::relative_error(fused, expected), kFloatTolerance);
        int zeros = 0;
        for (int64_t i = 0; i < fused.numel(); ++i) zeros += fused.f32()[i] == 0.0f;
        EXPECT_GT(zeros, 0) << "the ReLU should have cut some outputs to zero";
      }
  }
  cpu::force_conv3x3_algorithm(std::nullopt);
}

TEST(CpuKernelConv2d, ReferenceMatchesHandResult) {
  // x = [[1,2],[3,4]], all-ones 3x3 kernel, bias 10: every output sees the whole 2x2 image.
  std::vector<double> x{1, 2, 3, 4}, w(9, 1.0), b{10}, y(4);
  cpu::reference::conv2d_forward(y.data(), x.data(), w.data(), b.data(), 1, 1, 2, 2, 1, 3);
  for (double v : y) EXPECT_DOUBLE_EQ(v, 20.0);
  // A centre-only kernel is the identity.
  std::vector<double> centre(9, 0.0);
  centre[4] = 1;
  cpu::reference::conv2d_forward(y.data(), x.data(), centre.data(), static_cast<const double*>(nullptr), 1, 1, 2,
                                 2, 1, 3);
  EXPECT_EQ(y, x);
}

TEST(CpuKernelConv2d, WeightAndBiasGradientsAccumulate) {
  const ConvShape s{2, 3, 6, 5, 4};
  const int64_t HW = int64_t(s.H) * s.W;
  auto x = random_values<double>(s.N * s.C * HW, 21);
  auto dy = random_values<double>(s.N * s.K * HW, 22);
  std::vector<double> workspace(cpu::conv2d_workspace_size(s.C, s.H, s.W, 3));
  std::vector<double> once(s.K * s.C * 9, 0.0), twice(once.size(), 0.0);
  cpu::conv2d_backward_weight(once.data(), dy.data(), x.data(), workspace.data(), s.N, s.C, s.H, s.W, s.K, 3);
  for (int r = 0; r < 2; ++r)
    cpu::conv2d_backward_weight(twice.data(), dy.data(), x.data(), workspace.data(), s.N, s.C, s.H, s.W, s.K, 3);
  for (size_t i = 0; i < once.size(); ++i) EXPECT_NEAR(twice[i], 2 * once[i], 1e-12 * (1 + std::fabs(once[i])));

  std::vector<double> db(s.K, 1.0);
  cpu::bias_backward(db.data(), dy.data(), s.N, s.K, HW);
  cpu::bias_backward(db.data(), dy.data(), s.N, s.K, HW);
  for (int k = 0; k < s.K; ++k) {
    double sum = 0;
    for (int n = 0; n < s.N; ++n)
      for (int64_t i = 0; i < HW; ++i) sum += dy[(n * s.K + k) * HW + i];
    EXPECT_NEAR(db[k], 1.0 + 2 * sum, 1e-12);
  }

  auto w = random_values<double>(s.C * s.K * 4, 23);
  auto dy_up = random_values<double>(s.N * s.K * 4 * HW, 24);
  std::vector<double> ws(cpu::conv_transpose2x2_workspace_size(s.K, s.H, s.W));
  std::vector<double> up_once(w.size(), 0.0), up_twice(w.size(), 0.0);
  cpu::conv_transpose2x2_backward_weight(up_once.data(), dy_up.data(), x.data(), ws.data(), s.N, s.C, s.H, s.W, s.K);
  for (int r = 0; r < 2; ++r)
    cpu::conv_transpose2x2_backward_weight(up_twice.data(), dy_up.data(), x.data(), ws.data(), s.N, s.C, s.H, s.W,
                                           s.K);
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(up_twice[i], 2 * up_once[i], 1e-12 * (1 + std::fabs(up_once[i])));
}

TEST(CpuKernelConvTranspose, FastMatchesReference) {
  check_conv_transpose<double>(kOddShape);
  check_conv_transpose<float>(kOddShape);
  for (const auto& s : kEdgeShapes) {
    check_conv_transpose<double>(s);
    check_conv_transpose<float>(s);
  }
}

TEST(CpuKernelConvTranspose, BandsOfRowsAndOneRowBands) {
  // K = 64 on 64-wide rows: 4 rows of taps fill a band, so 30 rows make 8 bands, the last one of
  // 2 rows; 3 images give 24 pieces over the threads.
  check_conv_transpose<double>({3, 16, 30, 64, 64});
  check_conv_transpose<float>({3, 16, 30, 64, 64});
  // K = 1024: not even one 34-wide row of taps fits the band size, so every band is one row.
  ASSERT_LT(cpu::conv_transpose2x2_workspace_size(1024, 5, 34), int64_t(64) * 4 * 1024 * 34);
  check_conv_transpose<double>({2, 3, 5, 34, 1024});
}

TEST(CpuKernelConvTranspose, ReferencePaintsDisjointBlocks) {
  // One input pixel of value 2, one channel in and out, w = [[1,2],[3,4]], b = 1.
  std::vector<double> x{2}, w{1, 2, 3, 4}, b{1}, y(4);
  cpu::reference::conv_transpose2x2_forward(y.data(), x.data(), w.data(), b.data(), 1, 1, 1, 1, 1);
  EXPECT_EQ(y, (std::vector<double>{3, 5, 7, 9}));
}

TEST(CpuKernelMaxPool, OddSizesFloorAndMatchBruteForce) {
  const int N = 2, C = 3, H = 7, W = 9, Ho = 3, Wo = 4;
  auto x = random_values<double>(N * C * H * W, 31);
  std::vector<double> y(N * C * Ho * Wo);
  std::vector<int32_t> argmax(y.size());
  cpu::maxpool2x2_forward(y.data(), argmax.data(), x.data(), N, C, H, W);
  for (int p = 0; p < N * C; ++p)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j) {
        double best = -INFINITY;
        int where = -1;
        for (int u = 0; u < 2; ++u)
          for (int v = 0; v < 2; ++v) {
            const int at = (2 * i + u) * W + 2 * j + v;
            if (x[p * H * W + at] > best) best = x[p * H * W + at], where = at;
          }
        EXPECT_EQ(y[(p * Ho + i) * Wo + j], best);
        EXPECT_EQ(argmax[(p * Ho + i) * Wo + j], where);
      }

  auto dy = random_values<double>(y.size(), 32);
  std::vector<double> dx(x.size(), 5.0);
  cpu::maxpool2x2_backward(dx.data(), dy.data(), argmax.data(), N, C, H, W);
  double dx_sum = 0, dy_sum = 0;
  for (double v : dx) dx_sum += v;
  for (double v : dy) dy_sum += v;
  EXPECT_NEAR(dx_sum, dy_sum, 1e-12);  // every other pixel, the dropped row and column included, is 0
  for (int p = 0; p < N * C; ++p)
    for (int o = 0; o < Ho * Wo; ++o) EXPECT_EQ(dx[p * H * W + argmax[p * Ho * Wo + o]], dy[p * Ho * Wo + o]);
  for (int j = 0; j < W; ++j) EXPECT_EQ(dx[(H - 1) * W + j], 0.0);
}

TEST(CpuKernelMaxPool, FirstMaximumWinsTies) {
  // Windows of a 2x6 plane: all equal -> top-left; max at (0,1) and (1,0) -> (0,1);
  // max at (1,0) and (1,1) -> (1,0).
  const std::vector<float> x{1, 1, 0, 3, 0, 0,  //
                             1, 1, 3, 2, 4, 4};
  std::vector<float> y(3);
  std::vector<int32_t> argmax(3);
  cpu::maxpool2x2_forward(y.data(), argmax.data(), x.data(), 1, 1, 2, 6);
  EXPECT_EQ(y, (std::vector<float>{1, 3, 4}));
  EXPECT_EQ(argmax, (std::vector<int32_t>{0, 3, 10}));
}

// Sum of y * r for the batchnorm output y(x, gamma, beta): the scalar the gradient check uses.
double batchnorm_objective(const std::vector<double>& x, const std::vector<double>& gamma,
                           const std::vector<double>& beta, const std::vector<double>& r, int N, int C, int HW) {
  std::vector<double> y(x.size()), mean(C), rstd(C), run_mean(C, 0.0), run_var(C, 1.0);
  cpu::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), run_mean.data(), run_var.data(), x.data(),
                               gamma.data(), beta.data(), N, C, HW, 1e-5, 0.1);
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) sum += y[i] * r[i];
  return sum;
}

TEST(CpuKernelBatchNorm, BackwardMatchesCentralDifferences) {
  const int N = 2, C = 3, HW = 5;
  auto x = random_values<double>(N * C * HW, 41);
  auto gamma = random_values<double>(C, 42);
  auto beta = random_values<double>(C, 43);
  auto r = random_values<double>(N * C * HW, 44);  // dy

  std::vector<double> y(x.size()), mean(C), rstd(C), run_mean(C, 0.0), run_var(C, 1.0);
  cpu::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), run_mean.data(), run_var.data(), x.data(),
                               gamma.data(), beta.data(), N, C, HW, 1e-5, 0.1);
  std::vector<double> dx(x.size(), 9.0), dgamma(C, 0.0), dbeta(C, 0.0);
  cpu::batchnorm_backward(dx.data(), dgamma.data(), dbeta.data(), r.data(), x.data(), gamma.data(), mean.data(),
                          rstd.data(), N, C, HW);

  const double h = 1e-6;
  auto numeric = [&](std::vector<double>& param) {
    std::vector<double> grad(param.size());
    for (size_t i = 0; i < param.size(); ++i) {
      const double saved = param[i];
      param[i] = saved + h;
      const double up = batchnorm_objective(x, gamma, beta, r, N, C, HW);
      param[i] = saved - h;
      const double down = batchnorm_objective(x, gamma, beta, r, N, C, HW);
      param[i] = saved;
      grad[i] = (up - down) / (2 * h);
    }
    return grad;
  };
  EXPECT_LE(test::relative_error(dx, numeric(x)), 1e-7);
  EXPECT_LE(test::relative_error(dgamma, numeric(gamma)), 1e-7);
  EXPECT_LE(test::relative_error(dbeta, numeric(beta)), 1e-7);

  // Parameter gradients accumulate.
  std::vector<double> dgamma2 = dgamma, dbeta2 = dbeta;
  cpu::batchnorm_backward(dx.data(), dgamma2.data(), dbeta2.data(), r.data(), x.data(), gamma.data(), mean.data(),
                          rstd.data(), N, C, HW);
  for (int c = 0; c < C; ++c) {
    EXPECT_NEAR(dgamma2[c], 2 * dgamma[c], 1e-12);
    EXPECT_NEAR(dbeta2[c], 2 * dbeta[c], 1e-12);
  }
}

TEST(CpuKernelBatchNorm, StatisticsAndRunningUpdate) {
  const int N = 3, C = 2, HW = 7, M = N * HW;
  auto x = random_values<float>(N * C * HW, 51);
  for (auto& v : x) v = v * 3 + 100;  // a large offset: the two-pass variance must not cancel
  std::vector<float> gamma{1, 2}, beta{0, -1}, y(x.size()), mean(C), rstd(C), run_mean{1, 2}, run_var{3, 4};
  const double eps = 1e-5, momentum = 0.1;
  cpu::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), run_mean.data(), run_var.data(), x.data(),
                               gamma.data(), beta.data(), N, C, HW, eps, momentum);
  for (int c = 0; c < C; ++c) {
    double mu = 0, var = 0;
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < HW; ++i) mu += x[(n * C + c) * HW + i];
    mu /= M;
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < HW; ++i) var += std::pow(x[(n * C + c) * HW + i] - mu, 2);
    var /= M;
    EXPECT_NEAR(mean[c], mu, 1e-4);
    EXPECT_NEAR(rstd[c], 1 / std::sqrt(var + eps), 1e-5 / std::sqrt(var));
    EXPECT_NEAR(run_mean[c], 0.9 * (c + 1) + 0.1 * mu, 1e-4);
    EXPECT_NEAR(run_var[c], 0.9 * (c + 3) + 0.1 * var * M / (M - 1), 1e-4);
    // The normalised output has mean beta and standard deviation |gamma| (up to eps).
    double y_mean = 0, y_var = 0;
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < HW; ++i) y_mean += y[(n * C + c) * HW + i];
    y_mean /= M;
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < HW; ++i) y_var += std::pow(y[(n * C + c) * HW + i] - y_mean, 2);
    EXPECT_NEAR(y_mean, beta[c], 1e-4);
    EXPECT_NEAR(std::sqrt(y_var / M), gamma[c], 1e-3);
  }

  // Eval with the running statistics is the same affine map written out.
  std::vector<float> y_eval(x.size());
  cpu::batchnorm_forward_eval(y_eval.data(), x.data(), gamma.data(), beta.data(), run_mean.data(), run_var.data(), N,
                              C, HW, eps);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < HW; ++i) {
        const int at = (n * C + c) * HW + i;
        const double expect = gamma[c] * (x[at] - double(run_mean[c])) / std::sqrt(double(run_var[c]) + eps) + beta[c];
        EXPECT_NEAR(y_eval[at], expect, 1e-4 * (1 + std::fabs(expect)));
      }
}

TEST(CpuKernelBatchNorm, OneValuePerChannelIsAnError) {
  std::vector<float> x{1, 2}, y(2), mean(2), rstd(2), rm(2), rv(2), gamma{1, 1}, beta{0, 0};
  EXPECT_THROW(cpu::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), rm.data(), rv.data(), x.data(),
                                            gamma.data(), beta.data(), 1, 2, 1, 1e-5, 0.1),
               std::invalid_argument);
}

TEST(CpuKernelLoss, BceMatchesDirectFormulaAndStaysFinite) {
  const std::vector<double> x{-3.0, -0.5, 0.0, 0.25, 2.0, 7.0}, t{0, 1, 1, 0, 1, 0.3};
  const int64_t n = int64_t(x.size());
  std::vector<double> dx(x.size());
  const double loss = cpu::bce_with_logits(dx.data(), x.data(), t.data(), n);
  double expect = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double s = 1 / (1 + std::exp(-x[i]));
    expect += -t[i] * std::log(s) - (1 - t[i]) * std::log(1 - s);
    EXPECT_NEAR(dx[i], (s - t[i]) / n, 1e-15);
  }
  EXPECT_NEAR(loss, expect / n, 1e-13);

  // |x| = 50: the naive form takes log(0); the stable one gives |x| for the wrong label, ~0 for
  // the right one. Float input, no gradient requested.
  const std::vector<float> big{50, -50, 50, -50}, label{0, 1, 1, 0};
  const double big_loss = cpu::bce_with_logits(static_cast<float*>(nullptr), big.data(), label.data(), 4);
  EXPECT_TRUE(std::isfinite(big_loss));
  EXPECT_NEAR(big_loss, (50 + 50) / 4.0, 1e-12);
  std::vector<float> big_dx(4);
  cpu::bce_with_logits(big_dx.data(), big.data(), label.data(), 4);
  EXPECT_FLOAT_EQ(big_dx[0], 0.25f);
  EXPECT_FLOAT_EQ(big_dx[1], -0.25f);
  EXPECT_NEAR(big_dx[2], 0.0f, 1e-20);
}

// The weighted mean with 0/1 weights is the plain mean over the chosen elements, and the
// gradient is zero elsewhere; general weights follow (1/W) sum w_i l_i; W = 0 gives nothing.
TEST(CpuKernelLoss, WeightedBceIsTheMeanOverTheWeightedElements) {
  const std::vector<double> x{-3.0, -0.5, 0.0, 0.25, 2.0, 7.0}, t{0, 1, 1, 0, 1, 0.3};
  const std::vector<double> mask{1, 0, 1, 1, 0, 1};
  std::vector<double> subset_x, subset_t;
  for (size_t i = 0; i < x.size(); ++i)
    if (mask[i] > 0) subset_x.push_back(x[i]), subset_t.push_back(t[i]);
  std::vector<double> subset_dx(subset_x.size()), dx(x.size());
  const double subset_loss =
      cpu::bce_with_logits(subset_dx.data(), subset_x.data(), subset_t.data(), int64_t(subset_x.size()));
  const double loss = cpu::bce_with_logits_weighted(dx.data(), x.data(), t.data(), mask.data(), 4.0, 6);
  EXPECT_NEAR(loss, subset_loss, 1e-14);
  for (size_t i = 0, k = 0; i < x.size(); ++i) {
    if (mask[i] > 0)
      EXPECT_NEAR(dx[i], subset_dx[k++], 1e-15) << i;
    else
      EXPECT_EQ(dx[i], 0.0) << i;
  }

  const std::vector<double> w{0.5, 2, 1, 0, 3, 1.5};
  double wsum = 0, expect = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double s = 1 / (1 + std::exp(-x[i]));
    expect += w[i] * (-t[i] * std::log(s) - (1 - t[i]) * std::log(1 - s));
    wsum += w[i];
  }
  EXPECT_NEAR(cpu::bce_with_logits_weighted(dx.data(), x.data(), t.data(), w.data(), wsum, 6), expect / wsum, 1e-13);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(dx[i], w[i] * (1 / (1 + std::exp(-x[i])) - t[i]) / wsum, 1e-15);

  const std::vector<double> zero(6, 0.0);
  EXPECT_EQ(cpu::bce_with_logits_weighted(dx.data(), x.data(), t.data(), zero.data(), 0.0, 6), 0.0);
  for (double g : dx) EXPECT_EQ(g, 0.0);
}

TEST(CpuKernelAdam, TwoStepsMatchHandComputation) {
  // One parameter p0 = 1, gradients 0.5 then -0.25, lr 0.1, default betas and eps.
  std::vector<double> p{1.0}, m{0.0}, v{0.0};
  cpu::AdamSettings s;
  s.lr = 0.1;
  const std::vector<double> g1{0.5}, g2{-0.25};
  cpu::adam_update(p.data(), m.data(), v.data(), g1.data(), 1, s, 1);
  // m1 = 0.05, v1 = 0.00025; m^ = 0.5, v^ = 0.25.
  const double p1 = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8);
  EXPECT_NEAR(m[0], 0.05, 1e-15);
  EXPECT_NEAR(v[0], 0.00025, 1e-18);
  EXPECT_NEAR(p[0], p1, 1e-12);
  cpu::adam_update(p.data(), m.data(), v.data(), g2.data(), 1, s, 2);
  // m2 = 0.9*0.05 - 0.1*0.25 = 0.02, v2 = 0.999*0.00025 + 0.001*0.0625 = 0.00031225.
  const double m_hat = 0.02 / (1 - 0.81), v_hat = 0.00031225 / (1 - 0.998001);
  EXPECT_NEAR(m[0], 0.02, 1e-15);
  EXPECT_NEAR(v[0], 0.00031225, 1e-18);
  EXPECT_NEAR(p[0], p1 - 0.1 * m_hat / (std::sqrt(v_hat) + 1e-8), 1e-12);
}

TEST(CpuKernelChannels, ConcatSplitRoundTrip) {
  const int N = 2, Ca = 3, Cb = 2, C = Ca + Cb, HW = 6;
  auto a = random_values<float>(N * Ca * HW, 61);
  auto b = random_values<float>(N * Cb * HW, 62);
  std::vector<float> cat(N * C * HW, -1.0f);
  cpu::copy_into_channels(cat.data(), a.data(), N, C, 0, Ca, HW);
  cpu::copy_into_channels(cat.data(), b.data(), N, C, Ca, Cb, HW);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < HW; ++i) {
        const float expect = c < Ca ? a[(n * Ca + c) * HW + i] : b[(n * Cb + c - Ca) * HW + i];
        EXPECT_EQ(cat[(n * C + c) * HW + i], expect);
      }
  std::vector<float> a_back(a.size()), b_back(b.size());
  cpu::copy_from_channels(a_back.data(), cat.data(), N, C, 0, Ca, HW);
  cpu::copy_from_channels(b_back.data(), cat.data(), N, C, Ca, Cb, HW);
  EXPECT_EQ(a_back, a);
  EXPECT_EQ(b_back, b);

  std::vector<float> b_sum = b;
  cpu::add_from_channels(b_sum.data(), cat.data(), N, C, Ca, Cb, HW);
  for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(b_sum[i], 2 * b[i]);
}

TEST(CpuKernelChannels, BroadcastMultiplyScalesEveryChannel) {
  const int N = 2, C = 3, HW = 4;
  auto x = random_values<double>(N * C * HW, 63);
  auto m = random_values<double>(N * HW, 64);
  std::vector<double> y(x.size());
  cpu::broadcast_mul(y.data(), x.data(), m.data(), N, C, HW);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < HW; ++i) EXPECT_EQ(y[(n * C + c) * HW + i], x[(n * C + c) * HW + i] * m[n * HW + i]);
}

TEST(CpuKernelElementwise, DropoutMaskIsSeededRateAndReusedByBackward) {
  const int64_t n = 100000;
  const float p = 0.3f;
  std::vector<float> x(n, 2.0f), y(n), y_again(n), y_other(n);
  cpu::dropout_forward(y.data(), x.data(), n, p, 1234);
  cpu::dropout_forward(y_again.data(), x.data(), n, p, 1234);
  cpu::dropout_forward(y_other.data(), x.data(), n, p, 99);
  EXPECT_EQ(y, y_again);
  EXPECT_NE(y, y_other);

  int64_t dropped = 0;
  const float survivor = static_cast<float>(2.0 / (1.0 - p));
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(y[i] == 0.0f, !dropout_keep(1234, uint64_t(i), p));
    if (y[i] == 0.0f) ++dropped;
    else EXPECT_FLOAT_EQ(y[i], survivor);
  }
  EXPECT_NEAR(double(dropped) / n, p, 0.02);

  auto dy = random_values<float>(n, 71);
  std::vector<float> dx(n);
  cpu::dropout_backward(dx.data(), dy.data(), n, p, 1234);
  for (int64_t i = 0; i < n; ++i) {
    if (y[i] == 0.0f) EXPECT_EQ(dx[i], 0.0f);
    else EXPECT_FLOAT_EQ(dx[i], dy[i] / (1 - p));
  }

  std::vector<float> copied(n);
  cpu::dropout_forward(copied.data(), dy.data(), n, 0.0f, 1234);
  EXPECT_EQ(copied, dy);
}

TEST(CpuKernelElementwise, ReluSigmoidAndAdd) {
  const std::vector<double> x{-2, -0.0, 0.5, 3, -800, 800};
  const int64_t n = int64_t(x.size());
  std::vector<double> y(n), dx(n), dy(n, 2.0);
  cpu::relu_forward(y.data(), x.data(), n);
  EXPECT_EQ(y, (std::vector<double>{0, 0, 0.5, 3, 0, 800}));
  cpu::relu_backward(dx.data(), dy.data(), y.data(), n);
  EXPECT_EQ(dx, (std::vector<double>{0, 0, 2, 2, 0, 2}));

  cpu::sigmoid_forward(y.data(), x.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(std::isfinite(y[i]));
    EXPECT_NEAR(y[i], 1 / (1 + std::exp(-x[i])), 1e-15);
  }
  cpu::sigmoid_backward(dx.data(), dy.data(), y.data(), n);
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(dx[i], 2 * y[i] * (1 - y[i]), 1e-15);

  std::vector<double> acc(n, 1.0);
  cpu::add_inplace(acc.data(), x.data(), n);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(acc[i], 1.0 + x[i]);
}

}  // namespace
}  // namespace seqnet
