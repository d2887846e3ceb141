// test_cuda_kernels.cpp: every CUDA kernel against its CPU twin (float32) on random inputs of
// odd sizes, including the accumulate rule (parameter gradients +=, activation gradients =), the
// max-pool winners, the dropout mask, the grid-stride loops under set_max_blocks(2), and the
// cuDNN comparison engine. Outputs that are overwritten are poisoned with NaN first, so an element
// the kernel never writes fails the comparison. The convolutions run with the launch shapes of a
// 132-multiprocessor GPU (H100/H200: split weight-gradient reductions) and of a 1-multiprocessor
// one (the wide tile on small maps). Skips without a usable GPU; in a SEQNET_CUDA_EMULATION build
// every test runs, on the CPU (docs/CUDA-EMULATION.md).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cpu/adam.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/channels.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv_transpose2x2.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/maxpool2x2.h"
#include "kernels/cuda/adam.h"
#include "kernels/cuda/batchnorm.h"
#include "kernels/cuda/channels.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv2d_naive.h"
#include "kernels/cuda/conv_transpose2x2.h"
#include "kernels/cuda/cudnn_conv.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/maxpool2x2.h"
#include "kernels/cuda/runtime.h"
#include "kernels/ops.h"
#include "cuda/cuda_test_support.h"
#include "test_support.h"

namespace seqnet {
namespace {

using test::random_tensor;
using test::relative_error;

// float32 rounds each operation by up to 2^-24 ~ 6e-8; a sum of L terms in a different order on
// the two devices differs by about that times sqrt(L) in relative terms. The longest reductions
// here are ~5e4 terms (sqrt ~ 220), so 1e-5 leaves a margin of almost 1000x over
// 6e-8 * 220 while still catching any wrong index, which gives errors of order 1.
constexpr double kTolerance = 1e-5;
// The norm-wise bound can hide one wrong element in a large output, so each element must also
// satisfy |got - want| <= kElementTolerance * (|want| + rms(want)). Rounding differences of a sum of
// L terms relative to the output's rms are about 6e-8 * sqrt(L) ~ 1.3e-5 for the longest sums
// here; 2e-4 leaves a 15x margin, and a wrong element is off by about the rms itself (error ~1).
constexpr double kElementTolerance = 2e-4;

// Passes when `got` is within kTolerance norm-wise and kElementTolerance element-wise of `want`;
// otherwise says which bound failed and where.
::testing::AssertionResult matches(const Tensor& got, const Tensor& want) {
  const std::vector<double> g = got.to_doubles(), w = want.to_doubles();
  if (g.size() != w.size()) return ::testing::AssertionFailure() << "sizes differ: " << g.size() << " vs " << w.size();
  const double norm_error = relative_error(g, w);
  if (!(norm_error <= kTolerance))
    return ::testing::AssertionFailure() << "relative error " << norm_error << " > " << kTolerance;
  double square_sum = 0;
  for (double v : w) square_sum += v * v;
  const double rms = w.empty() ? 0.0 : std::sqrt(square_sum / double(w.size()));
  for (size_t i = 0; i < g.size(); ++i)
    if (!(std::fabs(g[i] - w[i]) <= kElementTolerance * (std::fabs(w[i]) + rms)))
      return ::testing::AssertionFailure() << "element " << i << ": got " << g[i] << ", want " << w[i]
                                           << " (rms " << rms << ", norm-wise error " << norm_error << ")";
  return ::testing::AssertionSuccess();
}

Tensor on_gpu(const Tensor& t) { return t.to(Device::cuda); }

// A device tensor whose every element is NaN: any element a kernel fails to write shows up.
Tensor poisoned(const Shape& shape, DType dtype = DType::f32) {
  Tensor t = Tensor::empty(shape, Device::cuda, dtype);
  t.fill(dtype == DType::i32 ? -1.0 : std::numeric_limits<double>::quiet_NaN());
  return t;
}

// ---- Convolutions ------------------------------------------------------------------------------

struct ConvShape {
  int N, C, H, W, K, ksize;
};

std::string name_of(const ConvShape& s) {
  return "N" + std::to_string(s.N) + "_C" + std::to_string(s.C) + "_" + std::to_string(s.H) + "x" +
         std::to_string(s.W) + "_K" + std::to_string(s.K) + "_k" + std::to_string(s.ksize);
}

// Odd sizes, 1x1 and 3x3 kernels, a 1x1 plane (every tap but the centre is padding), the
// SeqNet-like 64-channel 36x36 plane, one large enough for the wide tile and a split
// weight-gradient reduction, a SeqNet head (1x1, 32 > 2 channels: the thin path both ways), and
// SeqNet's 32 > 32 channels (the 32-row tiles over several column tiles, split-K); then 1x1
// convolutions with 1 output channel and with 2 input channels on 8,192 pixels (the thin weight
// gradient in 4 pixel chunks, 33 channels: a short last group of 8).
// Which tile, split and path each takes: TestShapesReachEveryTileTheSplitsAndTheThinPath.
const std::vector<ConvShape> kConvShapes = {
    {3, 5, 37, 53, 7, 3},   {3, 5, 37, 53, 7, 1},   {2, 5, 1, 1, 7, 3},     {1, 64, 36, 36, 64, 3},
    {2, 16, 96, 96, 96, 3}, {2, 70, 9, 11, 130, 1}, {2, 32, 23, 29, 2, 1}, {1, 32, 24, 40, 32, 3},
    {2, 33, 64, 64, 1, 1},  {2, 2, 64, 64, 33, 1},  {1, 40, 28, 32, 20, 3},
};

// The CPU twin's results for one shape: y, dx, and dw/db after accumulating twice onto dw0/db0.
struct ConvReference {
  Tensor x, w, b, dy, dw0, db0;
  Tensor y, dx, dw, db;
};

ConvReference conv_reference(const ConvShape& s, uint32_t seed) {
  ConvReference r;
  r.x = random_tensor({s.N, s.C, s.H, s.W}, seed);
  r.w = random_tensor({s.K, s.C, s.ksize, s.ksize}, seed + 1, DType::f32, 0.1);
  r.b = random_tensor({s.K}, seed + 2);
  r.dy = random_tensor({s.N, s.K, s.H, s.W}, seed + 3);
  r.dw0 = random_tensor(r.w.shape(), seed + 4);
  r.db0 = random_tensor({s.K}, seed + 5);
  std::vector<float> workspace(cpu::conv2d_workspace_size(std::max(s.C, s.K), s.H, s.W, s.ksize));
  r.y = Tensor::empty({s.N, s.K, s.H, s.W});
  cpu::conv2d_forward(r.y.f32(), r.x.f32(), r.w.f32(), r.b.f32(), workspace.data(), s.N, s.C, s.H, s.W, s.K,
                      s.ksize);
  r.dx = Tensor::empty(r.x.shape());
  cpu::conv2d_backward_input(r.dx.f32(), r.dy.f32(), r.w.f32(), workspace.data(), s.N, s.C, s.H, s.W, s.K, s.ksize);
  r.dw = r.dw0.clone();
  r.db = r.db0.clone();
  for (int twice = 0; twice < 2; ++twice) {
    cpu::conv2d_backward_weight(r.dw.f32(), r.dy.f32(), r.x.f32(), workspace.data(), s.N, s.C, s.H, s.W, s.K,
                                s.ksize);
    cpu::bias_backward(r.db.f32(), r.dy.f32(), s.N, s.K, int64_t(s.H) * s.W);
  }
  return r;
}

// The three passes of one engine (custom or cuDNN) share their signatures.
struct ConvEngine {
  decltype(&cuda::conv2d_forward) forward;
  decltype(&cuda::conv2d_backward_input) backward_input;
  decltype(&cuda::conv2d_backward_weight) backward_weight;
};

void expect_engine_matches_cpu(const ConvEngine& engine, uint32_t seed) {
  for (const ConvShape& s : kConvShapes) {
    SCOPED_TRACE(name_of(s));
    const ConvReference r = conv_reference(s, seed);
    const Tensor x = on_gpu(r.x), w = on_gpu(r.w), b = on_gpu(r.b), dy = on_gpu(r.dy);

    Tensor y = poisoned(r.y.shape());
    engine.forward(y.f32(), x.f32(), w.f32(), b.f32(), s.N, s.C, s.H, s.W, s.K, s.ksize, cuda::stream());
    EXPECT_TRUE(matches(y, r.y)) << "forward";

    Tensor dx = poisoned(r.dx.shape());
    engine.backward_input(dx.f32(), dy.f32(), w.f32(), s.N, s.C, s.H, s.W, s.K, s.ksize, cuda::stream());
    EXPECT_TRUE(matches(dx, r.dx)) << "backward-input";

    Tensor dw = on_gpu(r.dw0);
    for (int twice = 0; twice < 2; ++twice)
      engine.backward_weight(dw.f32(), dy.f32(), x.f32(), s.N, s.C, s.H, s.W, s.K, s.ksize, cuda::stream());
    EXPECT_TRUE(matches(dw, r.dw)) << "backward-weight (+= twice)";
  }
}

// The convolution tests run with the launch shapes of a GPU with GetParam() multiprocessors.
class CudaKernelConv2dOn : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { cuda::set_multiprocessor_count(GetParam()); }
  void TearDown() override { cuda::set_multiprocessor_count(0); }
};

TEST_P(CudaKernelConv2dOn, MatchesCpuForwardBackwardAndAccumulates) {
  SEQNET_REQUIRE_GPU();
  expect_engine_matches_cpu({cuda::conv2d_forward, cuda::conv2d_backward_input, cuda::conv2d_backward_weight}, 11);
}

// Kernel 1 of the progression (docs/KERNELS.md): one thread per output, checked the same way.
TEST(CudaKernelConv2dNaive, MatchesCpuForwardBackwardAndAccumulates) {
  SEQNET_REQUIRE_GPU();
  expect_engine_matches_cpu(
      {cuda::naive::conv2d_forward, cuda::naive::conv2d_backward_input, cuda::naive::conv2d_backward_weight}, 13);
}

TEST(CudaKernelConv2dNaive, ForwardWithoutBiasAndBadKernelSize) {
  SEQNET_REQUIRE_GPU();
  const ConvShape s{2, 5, 9, 11, 7, 3};
  const ConvReference r = conv_reference(s, 23);
  Tensor zero_bias = Tensor::zeros({s.K});
  std::vector<float> workspace(cpu::conv2d_workspace_size(s.C, s.H, s.W, s.ksize));
  Tensor expected = Tensor::empty(r.y.shape());
  cpu::conv2d_forward(expected.f32(), r.x.f32(), r.w.f32(), zero_bias.f32(), workspace.data(), s.N, s.C, s.H, s.W,
                      s.K, s.ksize);
  const Tensor x = on_gpu(r.x), w = on_gpu(r.w);
  Tensor y = poisoned(r.y.shape());
  cuda::naive::conv2d_forward(y.f32(), x.f32(), w.f32(), nullptr, s.N, s.C, s.H, s.W, s.K, s.ksize, cuda::stream());
  EXPECT_TRUE(matches(y, expected));
  EXPECT_THROW(cuda::naive::conv2d_forward(nullptr, nullptr, nullptr, nullptr, 1, 1, 4, 4, 1, 5, cuda::stream()),
               std::invalid_argument);
}

TEST_P(CudaKernelConv2dOn, BiasBackwardAccumulates) {
  SEQNET_REQUIRE_GPU();
  for (const ConvShape& s : kConvShapes) {
    SCOPED_TRACE(name_of(s));
    const ConvReference r = conv_reference(s, 31);
    const Tensor dy = on_gpu(r.dy);
    Tensor db = on_gpu(r.db0);
    for (int twice = 0; twice < 2; ++twice)
      cuda::bias_backward(db.f32(), dy.f32(), s.N, s.K, int64_t(s.H) * s.W, cuda::stream());
    EXPECT_TRUE(matches(db, r.db));
  }
}

// The split reduction adds its chunks in a fixed order (no atomics), so a second run gives the
// same bits: training is reproducible on one GPU as on the CPU.
TEST_P(CudaKernelConv2dOn, WeightGradientIsBitIdenticalRunToRun) {
  SEQNET_REQUIRE_GPU();
  const ConvShape s{1, 64, 36, 36, 64, 3};
  const Tensor x = on_gpu(random_tensor({s.N, s.C, s.H, s.W}, 35)), dy = on_gpu(random_tensor({s.N, s.K, s.H, s.W}, 36));
  const Tensor dw0 = random_tensor({s.K, s.C, 3, 3}, 37);
  std::vector<std::vector<float>> runs;
  for (int run = 0; run < 2; ++run) {
    Tensor dw = on_gpu(dw0);
    cuda::conv2d_backward_weight(dw.f32(), dy.f32(), x.f32(), s.N, s.C, s.H, s.W, s.K, s.ksize, cuda::stream());
    runs.push_back(dw.to_floats());
  }
  EXPECT_EQ(runs[0], runs[1]);
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaKernelConv2dOn, ::testing::Values(132, 1),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "_multiprocessors";
                         });

// The shapes above reach every launch choice under the two multiprocessor counts: both tile
// heights and widths, split-K (forward and backward-input), the split weight gradient, the thin
// 1x1 path. The expected splits follow from implicit_gemm.cuh's plan (worked out in the comments).
TEST(CudaKernelConv2d, TestShapesReachEveryTileTheSplitsAndTheThinPath) {
  SEQNET_REQUIRE_GPU();
  const ConvShape small = kConvShapes[0], deep = kConvShapes[3], big = kConvShapes[4], head = kConvShapes[6];
  auto forward = [](const ConvShape& s) { return cuda::conv2d_forward_launch_shape(s.N, s.C, s.H, s.W, s.K, s.ksize); };
  auto backward_input = [](const ConvShape& s) {
    return cuda::conv2d_backward_input_launch_shape(s.N, s.C, s.H, s.W, s.K, s.ksize);
  };
  auto backward_weight = [](const ConvShape& s) {
    return cuda::conv2d_backward_weight_launch_shape(s.N, s.C, s.H, s.W, s.K, s.ksize);
  };
  auto expect_tile = [](const cuda::ConvLaunchShape& got, int rows, int columns, int64_t splits) {
    EXPECT_FALSE(got.thin);
    EXPECT_EQ(got.tile_rows, rows);
    EXPECT_EQ(got.tile_columns, columns);
    EXPECT_EQ(got.splits, splits);
  };

  cuda::set_multiprocessor_count(132);
  // 7 output channels: the 16-row tile; 92 narrow blocks, but 9 reduction steps are too few to split.
  expect_tile(forward(small), 16, 64, 1);
  // 96 output channels: 64-row tiles. 288 wide blocks are less than one wave of the FP32 wide
  // tile (4 of 128 threads per multiprocessor: 528), so narrow: 576 blocks; 18 steps: no split.
  // (The FP32 64x128 tile is reached below, on one multiprocessor.)
  expect_tile(forward(big), 64, 64, 1);
  // Backward-input to 16 channels: 288 narrow 16-row blocks of 2,112 a wave (16 of 64 threads per
  // multiprocessor); 108 steps: at most 6 splits, and 6 do not fill 90% of a wave.
  expect_tile(backward_input(big), 16, 64, 6);
  // 21 narrow blocks of 660 a wave (5 of 128 threads per multiprocessor); 72 steps: 4 splits of 18.
  expect_tile(forward(deep), 64, 64, 4);
  expect_tile(backward_input(deep), 64, 64, 4);
  EXPECT_TRUE(forward(head).thin);
  EXPECT_TRUE(backward_input(head).thin);
  EXPECT_GT(backward_weight(big).splits, 8);
  EXPECT_EQ(backward_weight(big).tile_rows, 64);
  EXPECT_EQ(backward_weight(big).tile_columns, 128);
  EXPECT_EQ(backward_weight(small).tile_rows, 16);  // 7 output channels
  EXPECT_EQ(backward_weight(small).tile_columns, 64);
  EXPECT_TRUE(backward_weight(head).thin);
  // The thin weight gradient: 8,192 pixels in chunks of at least 2,048, 5 groups of channels.
  const ConvShape wide_head = kConvShapes[8], thin_input = kConvShapes[9];
  EXPECT_TRUE(backward_weight(wide_head).thin);
  EXPECT_EQ(backward_weight(wide_head).splits, 4);
  EXPECT_TRUE(backward_weight(thin_input).thin);
  EXPECT_EQ(backward_weight(thin_input).splits, 4);
  // 32 channels: the 32-row tiles; the weight gradient's 288 columns take 5 narrow tiles.
  const ConvShape level0 = kConvShapes[7];
  expect_tile(forward(level0), 32, 64, 2);
  EXPECT_EQ(backward_weight(level0).tile_rows, 32);
  EXPECT_EQ(backward_weight(level0).tile_columns, 64);

  // 20 output channels, 45 slices of 8 reduction rows: the 32-row tiles split in 2 (at most 45 / 16),
  // chunks of 23 and 22 slices; on 32 x 128 (one multiprocessor, below) a step takes 2 slices, so
  // the first chunk's last step has a second slice past its end.
  const ConvShape odd = kConvShapes[10];
  expect_tile(forward(odd), 32, 64, 2);

  cuda::set_multiprocessor_count(1);
  expect_tile(forward(odd), 32, 128, 2);         // 7 wide blocks, 4 a wave
  expect_tile(forward(small), 16, 128, 1);      // 46 wide blocks, 8 a wave
  expect_tile(backward_input(big), 16, 128, 1);  // 144 wide blocks
  expect_tile(forward(level0), 32, 128, 1);      // 8 wide blocks, 4 a wave
  expect_tile(forward(deep), 64, 128, 1);
  EXPECT_TRUE(forward(head).thin);
  EXPECT_EQ(backward_weight(big).splits, 1);
  EXPECT_EQ(backward_weight(wide_head).splits, 1);
  cuda::set_multiprocessor_count(0);
}

TEST(CudaKernelConv2d, ForwardWithoutBiasIsTheBareConvolution) {
  SEQNET_REQUIRE_GPU();
  const ConvShape s{3, 5, 37, 53, 7, 3};
  const ConvReference r = conv_reference(s, 21);
  Tensor zero_bias = Tensor::zeros({s.K});
  std::vector<float> workspace(cpu::conv2d_workspace_size(s.C, s.H, s.W, s.ksize));
  Tensor expected = Tensor::empty(r.y.shape());
  cpu::conv2d_forward(expected.f32(), r.x.f32(), r.w.f32(), zero_bias.f32(), workspace.data(), s.N, s.C, s.H, s.W,
                      s.K, s.ksize);
  const Tensor x = on_gpu(r.x), w = on_gpu(r.w);
  Tensor y = poisoned(r.y.shape());
  cuda::conv2d_forward(y.f32(), x.f32(), w.f32(), nullptr, s.N, s.C, s.H, s.W, s.K, s.ksize, cuda::stream());
  EXPECT_TRUE(matches(y, expected));
}

TEST(CudaKernelConv2d, RejectsKernelSizeOtherThanOneOrThree) {
  SEQNET_REQUIRE_GPU();
  EXPECT_THROW(cuda::conv2d_forward(nullptr, nullptr, nullptr, nullptr, 1, 1, 4, 4, 1, 5, cuda::stream()),
               std::invalid_argument);
}

#ifndef SEQNET_CUDA_EMULATION  // no cuDNN without a GPU: the emulated build leaves it out
TEST(CudaKernelCudnn, MatchesCpuForwardBackwardAndAccumulates) {
  SEQNET_REQUIRE_GPU();
  std::string why_not;
  if (!cudnn::available(&why_not)) GTEST_SKIP() << "no cuDNN: " << why_not;
  expect_engine_matches_cpu({cudnn::conv2d_forward, cudnn::conv2d_backward_input, cudnn::conv2d_backward_weight},
                            41);
}
#endif

// ---- Transposed convolution ----------------------------------------------------------------------

// The three GEMMs (conv_transpose2x2.cu) at the launch shapes of 132 and 1 multiprocessors: odd
// sizes with a map long enough for a chunked weight gradient (and 5 and 28 rows: the 16- and
// 32-row tiles), a 1x1 plane, SeqNet's 64 > 32 channel upsampling, 256 input channels (split-K in two on
// both).
struct ConvTransposeShape {
  int N, C, H, W, K;
};
const ConvTransposeShape kConvTransposeShapes[] = {
    {3, 5, 37, 53, 7}, {2, 5, 1, 1, 7}, {1, 64, 18, 18, 32}, {1, 256, 6, 10, 16}};

class CudaKernelConvTranspose2x2On : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { cuda::set_multiprocessor_count(GetParam()); }
  void TearDown() override { cuda::set_multiprocessor_count(0); }
};

TEST_P(CudaKernelConvTranspose2x2On, MatchesCpuForwardBackwardAndAccumulates) {
  SEQNET_REQUIRE_GPU();
  for (const ConvTransposeShape& s : kConvTransposeShapes) {
    SCOPED_TRACE("N" + std::to_string(s.N) + " C" + std::to_string(s.C) + " " + std::to_string(s.H) + "x" +
                 std::to_string(s.W) + " K" + std::to_string(s.K));
    const Tensor x = random_tensor({s.N, s.C, s.H, s.W}, 51), w = random_tensor({s.C, s.K, 2, 2}, 52);
    const Tensor b = random_tensor({s.K}, 53), dy = random_tensor({s.N, s.K, 2 * s.H, 2 * s.W}, 54);
    const Tensor dw0 = random_tensor(w.shape(), 55);
    std::vector<float> workspace(cpu::conv_transpose2x2_workspace_size(std::max(s.C, s.K), s.H, s.W));

    Tensor y_cpu = Tensor::empty(dy.shape()), dx_cpu = Tensor::empty(x.shape()), dw_cpu = dw0.clone();
    cpu::conv_transpose2x2_forward(y_cpu.f32(), x.f32(), w.f32(), b.f32(), workspace.data(), s.N, s.C, s.H, s.W,
                                   s.K);
    cpu::conv_transpose2x2_backward_input(dx_cpu.f32(), dy.f32(), w.f32(), workspace.data(), s.N, s.C, s.H, s.W,
                                          s.K);
    for (int twice = 0; twice < 2; ++twice)
      cpu::conv_transpose2x2_backward_weight(dw_cpu.f32(), dy.f32(), x.f32(), workspace.data(), s.N, s.C, s.H, s.W,
                                             s.K);

    const Tensor xg = on_gpu(x), wg = on_gpu(w), bg = on_gpu(b), dyg = on_gpu(dy);
    Tensor y = poisoned(dy.shape()), dx = poisoned(x.shape()), dw = on_gpu(dw0);
    cuda::conv_transpose2x2_forward(y.f32(), xg.f32(), wg.f32(), bg.f32(), s.N, s.C, s.H, s.W, s.K, cuda::stream());
    cuda::conv_transpose2x2_backward_input(dx.f32(), dyg.f32(), wg.f32(), s.N, s.C, s.H, s.W, s.K, cuda::stream());
    for (int twice = 0; twice < 2; ++twice)
      cuda::conv_transpose2x2_backward_weight(dw.f32(), dyg.f32(), xg.f32(), s.N, s.C, s.H, s.W, s.K,
                                              cuda::stream());
    EXPECT_TRUE(matches(y, y_cpu)) << "forward";
    EXPECT_TRUE(matches(dx, dx_cpu)) << "backward-input";
    EXPECT_TRUE(matches(dw, dw_cpu)) << "backward-weight (+= twice)";
  }
}

// The chunked weight gradient adds its chunks in a fixed order: a second run gives the same bits.
TEST_P(CudaKernelConvTranspose2x2On, WeightGradientIsBitIdenticalRunToRun) {
  SEQNET_REQUIRE_GPU();
  const ConvTransposeShape s = kConvTransposeShapes[0];
  EXPECT_GT(cuda::conv_transpose2x2_backward_weight_launch_shape(s.N, s.C, s.H, s.W, s.K).splits, 1);
  const Tensor x = on_gpu(random_tensor({s.N, s.C, s.H, s.W}, 56));
  const Tensor dy = on_gpu(random_tensor({s.N, s.K, 2 * s.H, 2 * s.W}, 57));
  const Tensor dw0 = random_tensor({s.C, s.K, 2, 2}, 58);
  std::vector<std::vector<float>> runs;
  for (int run = 0; run < 2; ++run) {
    Tensor dw = on_gpu(dw0);
    cuda::conv_transpose2x2_backward_weight(dw.f32(), dy.f32(), x.f32(), s.N, s.C, s.H, s.W, s.K, cuda::stream());
    runs.push_back(dw.to_floats());
  }
  EXPECT_EQ(runs[0], runs[1]);
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaKernelConvTranspose2x2On, ::testing::Values(132, 1),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "_multiprocessors";
                         });

// The shapes above reach the 32- and 64-row tiles, both widths, split-K and the chunked weight
// gradient (implicit_gemm.cuh's plans).
// Offsets within one image of dy are 32-bit in the backward passes' gathers (UpsampleTaps,
// UpsampleBackwardInput, whose channels count padded to a whole step): an image of 2^31 values or
// more is refused, naming the sizes, before anything is launched.
TEST(CudaKernelConvTranspose2x2, BackwardInputRefusesImagesOf2To31PaddedValues) {
  SEQNET_REQUIRE_GPU();
  try {  // 1 channel of 16384x32768 is 2^29 values, 2^32 with the channel padded to 8
    cuda::conv_transpose2x2_backward_input(nullptr, nullptr, nullptr, 1, 1, 8192, 16384, 1, cuda::stream());
    FAIL() << "no exception for 1 channel (8 padded) of 16384x32768";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("16384x32768"), std::string::npos) << e.what();
  }
}

TEST(CudaKernelConvTranspose2x2, WeightGradientRefusesImagesOf2To31Values) {
  SEQNET_REQUIRE_GPU();
  try {
    cuda::conv_transpose2x2_backward_weight(nullptr, nullptr, nullptr, 1, 1, 32768, 16384, 1, cuda::stream());
    FAIL() << "no exception for 1 channel of 65536x32768 (2^31 values)";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("65536x32768"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(cuda::conv_transpose2x2_backward_weight(nullptr, nullptr, nullptr, 0, 1, 32768, 16384, 1,
                                                          cuda::stream()));  // no pixels: nothing to do
}

TEST(CudaKernelConvTranspose2x2, TestShapesReachTheTilesAndSplits) {
  SEQNET_REQUIRE_GPU();
  const ConvTransposeShape odd = kConvTransposeShapes[0], deep = kConvTransposeShapes[3];
  auto forward = [](const ConvTransposeShape& s) {
    return cuda::conv_transpose2x2_forward_launch_shape(s.N, s.C, s.H, s.W, s.K);
  };
  auto backward_weight = [](const ConvTransposeShape& s) {
    return cuda::conv_transpose2x2_backward_weight_launch_shape(s.N, s.C, s.H, s.W, s.K);
  };
  cuda::set_multiprocessor_count(132);
  EXPECT_EQ(forward(odd).tile_rows, 32);  // 4K = 28 rows
  EXPECT_EQ(forward(odd).tile_columns, 64);
  EXPECT_EQ(cuda::conv_transpose2x2_backward_input_launch_shape(odd.N, odd.C, odd.H, odd.W, odd.K).tile_rows,
            16);  // C = 5 rows
  EXPECT_EQ(forward(deep).tile_rows, 64);  // 4K = 64 rows
  EXPECT_EQ(forward(deep).splits, 2);      // one block; 32 reduction steps allow 2 splits
  EXPECT_EQ(backward_weight(odd).tile_rows, 16);  // C = 5 rows
  EXPECT_EQ(backward_weight(odd).splits, 11);     // 5,883 pixels: at most one chunk per 512
  cuda::set_multiprocessor_count(1);
  EXPECT_EQ(forward(odd).tile_columns, 128);
  EXPECT_EQ(forward(deep).splits, 2);
  EXPECT_EQ(backward_weight(odd).splits, 10);  // 10 blocks of 16 rows per multiprocessor
  cuda::set_multiprocessor_count(0);
}

// ---- Max-pool ------------------------------------------------------------------------------------

TEST(CudaKernelMaxPool2x2, SameWinnersAndGradientsAsCpuIncludingTiesAndOddSizes) {
  SEQNET_REQUIRE_GPU();
  const int N = 3, C = 5, H = 37, W = 53, Ho = H / 2, Wo = W / 2;
  Tensor x = random_tensor({N, C, H, W}, 61);
  // Rounded to a coarse grid so many windows hold ties: the first maximum must win on both.
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = std::round(x.f32()[i] * 2.0f) / 2.0f;
  const Tensor dy = random_tensor({N, C, Ho, Wo}, 62);

  Tensor y_cpu = Tensor::empty({N, C, Ho, Wo}), dx_cpu = Tensor::empty(x.shape());
  Tensor arg_cpu = Tensor::empty({N, C, Ho, Wo}, Device::cpu, DType::i32);
  cpu::maxpool2x2_forward(y_cpu.f32(), arg_cpu.i32(), x.f32(), N, C, H, W);
  cpu::maxpool2x2_backward(dx_cpu.f32(), dy.f32(), arg_cpu.i32(), N, C, H, W);

  for (int max_blocks : {0, 2}) {
    SCOPED_TRACE("max_blocks " + std::to_string(max_blocks));
    cuda::set_max_blocks(max_blocks);
    const Tensor xg = on_gpu(x), dyg = on_gpu(dy);
    Tensor y = poisoned(y_cpu.shape()), arg = poisoned(arg_cpu.shape(), DType::i32), dx = poisoned(x.shape());
    cuda::maxpool2x2_forward(y.f32(), arg.i32(), xg.f32(), N, C, H, W, cuda::stream());
    cuda::maxpool2x2_backward(dx.f32(), dyg.f32(), arg.i32(), N, C, H, W, cuda::stream());
    cuda::set_max_blocks(0);
    EXPECT_EQ(y.to_floats(), y_cpu.to_floats());
    EXPECT_EQ(arg.to_doubles(), arg_cpu.to_doubles());
    EXPECT_EQ(dx.to_floats(), dx_cpu.to_floats());
  }
}

// ---- Batch normalisation ------------------------------------------------------------------------

TEST(CudaKernelBatchNorm, TrainEvalAndBackwardMatchCpu) {
  SEQNET_REQUIRE_GPU();
  const double eps = 1e-5, momentum = 0.1;
  struct Case {
    int N, C;
    int64_t HW;
  };
  for (const Case& s : {Case{3, 5, 37 * 53}, Case{3, 5, 1}, Case{1, 64, 36 * 36}}) {
    SCOPED_TRACE("N" + std::to_string(s.N) + " C" + std::to_string(s.C) + " HW" + std::to_string(s.HW));
    const Shape shape{s.N, s.C, s.HW};
    // An offset mean of 3 checks the two-pass variance.
    Tensor x = random_tensor(shape, 71);
    for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] += 3.0f;
    const Tensor gamma = random_tensor({s.C}, 72), beta = random_tensor({s.C}, 73), dy = random_tensor(shape, 74);
    Tensor rm_cpu = random_tensor({s.C}, 75), rv_cpu = random_tensor({s.C}, 76);
    for (int c = 0; c < s.C; ++c) rv_cpu.f32()[c] = std::fabs(rv_cpu.f32()[c]) + 0.5f;
    const Tensor dgamma0 = random_tensor({s.C}, 77), dbeta0 = random_tensor({s.C}, 78);

    const Tensor xg = on_gpu(x), gg = on_gpu(gamma), bg = on_gpu(beta), dyg = on_gpu(dy);
    Tensor rm = on_gpu(rm_cpu), rv = on_gpu(rv_cpu);
    Tensor y_cpu = Tensor::empty(shape), mean_cpu = Tensor::empty({s.C}), rstd_cpu = Tensor::empty({s.C});
    cpu::batchnorm_forward_train(y_cpu.f32(), mean_cpu.f32(), rstd_cpu.f32(), rm_cpu.f32(), rv_cpu.f32(), x.f32(),
                                 gamma.f32(), beta.f32(), s.N, s.C, s.HW, eps, momentum);
    Tensor y = poisoned(shape), mean = poisoned({s.C}), rstd = poisoned({s.C});
    cuda::batchnorm_forward_train(y.f32(), mean.f32(), rstd.f32(), rm.f32(), rv.f32(), xg.f32(), gg.f32(), bg.f32(),
                                  s.N, s.C, s.HW, eps, momentum, cuda::stream());
    EXPECT_TRUE(matches(y, y_cpu)) << "train y";
    EXPECT_TRUE(matches(mean, mean_cpu)) << "mean";
    EXPECT_TRUE(matches(rstd, rstd_cpu)) << "rstd";
    EXPECT_TRUE(matches(rm, rm_cpu)) << "running mean";
    EXPECT_TRUE(matches(rv, rv_cpu)) << "running var (unbiased)";

    Tensor ye_cpu = Tensor::empty(shape), ye = poisoned(shape);
    cpu::batchnorm_forward_eval(ye_cpu.f32(), x.f32(), gamma.f32(), beta.f32(), rm_cpu.f32(), rv_cpu.f32(), s.N, s.C,
                                s.HW, eps);
    cuda::batchnorm_forward_eval(ye.f32(), xg.f32(), gg.f32(), bg.f32(), rm.f32(), rv.f32(), s.N, s.C, s.HW, eps,
                                 cuda::stream());
    EXPECT_TRUE(matches(ye, ye_cpu)) << "eval y";

    Tensor dx_cpu = Tensor::empty(shape), dgamma_cpu = dgamma0.clone(), dbeta_cpu = dbeta0.clone();
    Tensor dx = poisoned(shape), dgamma = on_gpu(dgamma0), dbeta = on_gpu(dbeta0);
    for (int twice = 0; twice < 2; ++twice) {
      cpu::batchnorm_backward(dx_cpu.f32(), dgamma_cpu.f32(), dbeta_cpu.f32(), dy.f32(), x.f32(), gamma.f32(),
                              mean_cpu.f32(), rstd_cpu.f32(), s.N, s.C, s.HW);
      cuda::batchnorm_backward(dx.f32(), dgamma.f32(), dbeta.f32(), dyg.f32(), xg.f32(), gg.f32(), mean.f32(),
                               rstd.f32(), s.N, s.C, s.HW, cuda::stream());
    }
    EXPECT_TRUE(matches(dx, dx_cpu)) << "dx";
    EXPECT_TRUE(matches(dgamma, dgamma_cpu)) << "dgamma (+= twice)";
    EXPECT_TRUE(matches(dbeta, dbeta_cpu)) << "dbeta (+= twice)";
  }
}

// BatchNorm2d's backward passes dy as dx (in place): the kernel's sums must be over before any
// dx is written, on the GPU as on the CPU.
TEST(CudaKernelBatchNorm, BackwardInPlaceMatchesCpu) {
  SEQNET_REQUIRE_GPU();
  const int N = 3, C = 4;
  const int64_t HW = 37 * 53;
  const Shape shape{N, C, HW};
  const Tensor x = random_tensor(shape, 81), gamma = random_tensor({C}, 82), dy = random_tensor(shape, 83);
  Tensor mean = random_tensor({C}, 84), rstd = random_tensor({C}, 85);
  for (int c = 0; c < C; ++c) rstd.f32()[c] = std::fabs(rstd.f32()[c]) + 0.5f;
  Tensor dx_cpu = Tensor::empty(shape), dgamma_cpu = Tensor::zeros({C}), dbeta_cpu = Tensor::zeros({C});
  cpu::batchnorm_backward(dx_cpu.f32(), dgamma_cpu.f32(), dbeta_cpu.f32(), dy.f32(), x.f32(), gamma.f32(), mean.f32(),
                          rstd.f32(), N, C, HW);
  Tensor d = on_gpu(dy), dgamma = on_gpu(Tensor::zeros({C})), dbeta = on_gpu(Tensor::zeros({C}));
  const Tensor xg = on_gpu(x), gg = on_gpu(gamma), mg = on_gpu(mean), rg = on_gpu(rstd);
  cuda::batchnorm_backward(d.f32(), dgamma.f32(), dbeta.f32(), d.f32(), xg.f32(), gg.f32(), mg.f32(), rg.f32(), N, C,
                           HW, cuda::stream());
  EXPECT_TRUE(matches(d, dx_cpu)) << "dx written over dy";
  EXPECT_TRUE(matches(dgamma, dgamma_cpu));
  EXPECT_TRUE(matches(dbeta, dbeta_cpu));
}

// The evaluation op conv + batch-norm + ReLU (ops.h) on the GPU against the same op on the CPU
// (where a plane this wide takes the direct kernel's fused epilogue).
TEST(CudaKernelConv2d, FusedBatchNormReluEvalMatchesCpu) {
  SEQNET_REQUIRE_GPU();
  const int N = 2, C = 5, H = 7, W = 70, K = 11;
  const Tensor x = random_tensor({N, C, H, W}, 91), w = random_tensor({K, C, 3, 3}, 92), b = random_tensor({K}, 93);
  const Tensor gamma = random_tensor({K}, 94), beta = random_tensor({K}, 95), mean = random_tensor({K}, 96);
  Tensor var = random_tensor({K}, 97);
  for (int k = 0; k < K; ++k) var.f32()[k] = std::fabs(var.f32()[k]) + 0.1f;
  Tensor y_cpu = Tensor::empty({N, K, H, W});
  ops::conv2d_batchnorm_relu_eval(y_cpu, x, w, &b, gamma, beta, mean, var, 1e-5);
  Tensor y = poisoned({N, K, H, W});
  const Tensor bg = on_gpu(b);
  ops::conv2d_batchnorm_relu_eval(y, on_gpu(x), on_gpu(w), &bg, on_gpu(gamma), on_gpu(beta), on_gpu(mean),
                                  on_gpu(var), 1e-5);
  EXPECT_TRUE(matches(y, y_cpu));
}

// The same op's epilogue (batch-norm and ReLU on the GEMM's sums, implicit_gemm.cuh) against the
// convolution followed by the separate batch-norm and ReLU kernels, on the GPU, FP32 and TF32 (the
// same sums either way), with the launch shapes of 132 multiprocessors and of 1, on shapes that
// take the 16- (FP32), 32- and 64-row tiles, split-K (at 132: the epilogue after the splits are added; a
// 64-channel 12x12 map, 4 splits) or not, and the thin 1x1 path.
class CudaKernelConvBatchNormReluOn : public ::testing::TestWithParam<std::tuple<int, ops::ConvPrecision>> {
 protected:
  void SetUp() override { cuda::set_multiprocessor_count(std::get<0>(GetParam())); }
  void TearDown() override { cuda::set_multiprocessor_count(0); }
};

TEST_P(CudaKernelConvBatchNormReluOn, EpilogueIsTheSeparatePasses) {
  SEQNET_REQUIRE_GPU();
  const bool tf32 = std::get<1>(GetParam()) == ops::ConvPrecision::tf32;
  bool split = false, whole = false, thin = false, rows16 = false, rows32 = false, rows64 = false;
  for (const ConvShape& s : {kConvShapes[0], ConvShape{1, 64, 12, 12, 64, 3}, kConvShapes[6], kConvShapes[7]}) {
    SCOPED_TRACE(name_of(s));
    const cuda::ConvLaunchShape launch = cuda::conv2d_forward_launch_shape(s.N, s.C, s.H, s.W, s.K, s.ksize, tf32);
    split = split || launch.splits > 1;
    whole = whole || (!launch.thin && launch.splits == 1);
    thin = thin || launch.thin;
    rows16 = rows16 || launch.tile_rows == 16;
    if (tf32) EXPECT_NE(launch.tile_rows, 16) << "TF32 has no 16-row tile";
    rows32 = rows32 || launch.tile_rows == 32;
    rows64 = rows64 || launch.tile_rows == 64;
    const Tensor x = on_gpu(random_tensor({s.N, s.C, s.H, s.W}, 101));
    const Tensor w = on_gpu(random_tensor({s.K, s.C, s.ksize, s.ksize}, 102, DType::f32, 0.1));
    const Tensor b = on_gpu(random_tensor({s.K}, 103)), gamma = on_gpu(random_tensor({s.K}, 104));
    const Tensor beta = on_gpu(random_tensor({s.K}, 105)), mean = on_gpu(random_tensor({s.K}, 106));
    Tensor var = random_tensor({s.K}, 107);
    for (int k = 0; k < s.K; ++k) var.f32()[k] = std::fabs(var.f32()[k]) + 0.1f;
    var = on_gpu(var);
    const double eps = 1e-5;

    Tensor want = poisoned({s.N, s.K, s.H, s.W});
    (tf32 ? cuda::conv2d_forward_tf32 : cuda::conv2d_forward)(want.f32(), x.f32(), w.f32(), b.f32(), s.N, s.C, s.H,
                                                              s.W, s.K, s.ksize, cuda::stream());
    const int64_t HW = int64_t(s.H) * s.W;
    cuda::batchnorm_forward_eval(want.f32(), want.f32(), gamma.f32(), beta.f32(), mean.f32(), var.f32(), s.N, s.K, HW,
                                 eps, cuda::stream());
    cuda::relu_forward(want.f32(), want.f32(), want.numel(), cuda::stream());

    Tensor got = poisoned(want.shape());
    (tf32 ? cuda::conv2d_batchnorm_relu_eval_tf32 : cuda::conv2d_batchnorm_relu_eval)(
        got.f32(), x.f32(), w.f32(), b.f32(), gamma.f32(), beta.f32(), mean.f32(), var.f32(), eps, s.N, s.C, s.H, s.W,
        s.K, s.ksize, cuda::stream());
    EXPECT_TRUE(matches(got, want));
  }
  EXPECT_TRUE(thin && (rows16 || tf32) && rows32 && rows64 && whole)
      << "the shapes reach the thin path, every tile height of the precision, one split";
  if (std::get<0>(GetParam()) == 132) EXPECT_TRUE(split) << "a shape is split (split-K) on 132 multiprocessors";
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaKernelConvBatchNormReluOn,
                         ::testing::Combine(::testing::Values(132, 1),
                                            ::testing::Values(ops::ConvPrecision::fp32, ops::ConvPrecision::tf32)),
                         [](const auto& info) {
                           return std::to_string(std::get<0>(info.param)) + "_multiprocessors_" +
                                  (std::get<1>(info.param) == ops::ConvPrecision::tf32 ? "tf32" : "fp32");
                         });

TEST(CudaKernelBatchNorm, TrainingRejectsASingleValuePerChannel) {
  SEQNET_REQUIRE_GPU();
  EXPECT_THROW(cuda::batchnorm_forward_train(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                             1, 4, 1, 1e-5, 0.1, cuda::stream()),
               std::invalid_argument);
}

// ---- Elementwise, channels, loss, Adam ---------------------------------------------------------

// Each check runs with the natural grid and with the grid capped at 2 blocks (so every thread
// strides over many elements).
class CudaKernelGridStride : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { cuda::set_max_blocks(GetParam()); }
  void TearDown() override { cuda::set_max_blocks(0); }
};

constexpr int64_t kElements = 3 * 5 * 37 * 53;  // odd, not a multiple of the block size

TEST_P(CudaKernelGridStride, ReluSigmoidAddMatchCpu) {
  SEQNET_REQUIRE_GPU();
  const Tensor x = random_tensor({kElements}, 81, DType::f32, 4.0), dy = random_tensor({kElements}, 82);
  const Tensor xg = on_gpu(x), dyg = on_gpu(dy);
  Tensor ref = Tensor::empty({kElements}), ref_d = Tensor::empty({kElements});
  Tensor out = poisoned({kElements}), out_d = poisoned({kElements});

  cpu::relu_forward(ref.f32(), x.f32(), kElements);
  cpu::relu_backward(ref_d.f32(), dy.f32(), ref.f32(), kElements);
  cuda::relu_forward(out.f32(), xg.f32(), kElements, cuda::stream());
  cuda::relu_backward(out_d.f32(), dyg.f32(), out.f32(), kElements, cuda::stream());
  EXPECT_EQ(out.to_floats(), ref.to_floats()) << "relu forward";
  EXPECT_EQ(out_d.to_floats(), ref_d.to_floats()) << "relu backward";

  cpu::sigmoid_forward(ref.f32(), x.f32(), kElements);
  cpu::sigmoid_backward(ref_d.f32(), dy.f32(), ref.f32(), kElements);
  cuda::sigmoid_forward(out.f32(), xg.f32(), kElements, cuda::stream());
  cuda::sigmoid_backward(out_d.f32(), dyg.f32(), out.f32(), kElements, cuda::stream());
  EXPECT_TRUE(matches(out, ref)) << "sigmoid forward";
  EXPECT_TRUE(matches(out_d, ref_d)) << "sigmoid backward";

  Tensor sum_cpu = x.clone(), sum = on_gpu(x);
  cpu::add_inplace(sum_cpu.f32(), dy.f32(), kElements);
  cuda::add_inplace(sum.f32(), dyg.f32(), kElements, cuda::stream());
  EXPECT_EQ(sum.to_floats(), sum_cpu.to_floats()) << "add_inplace";
}

TEST_P(CudaKernelGridStride, DropoutDrawsTheCpuMask) {
  SEQNET_REQUIRE_GPU();
  const float p = 0.3f;
  const uint64_t seed = 0x5eed;
  const Tensor x = random_tensor({kElements}, 91), dy = random_tensor({kElements}, 92);
  Tensor y_cpu = Tensor::empty({kElements}), dx_cpu = Tensor::empty({kElements});
  cpu::dropout_forward(y_cpu.f32(), x.f32(), kElements, p, seed);
  cpu::dropout_backward(dx_cpu.f32(), dy.f32(), kElements, p, seed);
  const Tensor xg = on_gpu(x), dyg = on_gpu(dy);
  Tensor y = poisoned({kElements}), dx = poisoned({kElements});
  cuda::dropout_forward(y.f32(), xg.f32(), kElements, p, seed, cuda::stream());
  cuda::dropout_backward(dx.f32(), dyg.f32(), kElements, p, seed, cuda::stream());
  const std::vector<float> yv = y.to_floats(), yc = y_cpu.to_floats();
  int64_t dropped = 0;
  for (int64_t i = 0; i < kElements; ++i) {
    ASSERT_EQ(yv[i] == 0.0f, yc[i] == 0.0f) << "mask differs at element " << i;
    dropped += yc[i] == 0.0f;
  }
  EXPECT_NEAR(double(dropped) / kElements, p, 0.02);
  EXPECT_TRUE(matches(y, y_cpu));
  EXPECT_TRUE(matches(dx, dx_cpu));
}

TEST_P(CudaKernelGridStride, ChannelCopiesAndBroadcastMultiplyMatchCpu) {
  SEQNET_REQUIRE_GPU();
  const int N = 3, Cdst = 12, Csrc = 5, offset = 4;
  const int64_t HW = 37 * 53;
  const Tensor part = random_tensor({N, Csrc, HW}, 101), whole = random_tensor({N, Cdst, HW}, 102);
  const Tensor grad = random_tensor({N, Csrc, HW}, 103), map = random_tensor({N, 1, HW}, 104);

  Tensor into_cpu = whole.clone(), into = on_gpu(whole);
  cpu::copy_into_channels(into_cpu.f32(), part.f32(), N, Cdst, offset, Csrc, HW);
  cuda::copy_into_channels(into.f32(), on_gpu(part).f32(), N, Cdst, offset, Csrc, HW, cuda::stream());
  EXPECT_EQ(into.to_floats(), into_cpu.to_floats()) << "copy_into_channels";

  Tensor from_cpu = Tensor::empty({N, Csrc, HW}), from = poisoned({N, Csrc, HW});
  cpu::copy_from_channels(from_cpu.f32(), whole.f32(), N, Cdst, offset, Csrc, HW);
  cuda::copy_from_channels(from.f32(), on_gpu(whole).f32(), N, Cdst, offset, Csrc, HW, cuda::stream());
  EXPECT_EQ(from.to_floats(), from_cpu.to_floats()) << "copy_from_channels";

  Tensor add_cpu = grad.clone(), add = on_gpu(grad);
  cpu::add_from_channels(add_cpu.f32(), whole.f32(), N, Cdst, offset, Csrc, HW);
  cuda::add_from_channels(add.f32(), on_gpu(whole).f32(), N, Cdst, offset, Csrc, HW, cuda::stream());
  EXPECT_EQ(add.to_floats(), add_cpu.to_floats()) << "add_from_channels";

  Tensor mul_cpu = Tensor::empty(whole.shape()), mul = poisoned(whole.shape());
  cpu::broadcast_mul(mul_cpu.f32(), whole.f32(), map.f32(), N, Cdst, HW);
  cuda::broadcast_mul(mul.f32(), on_gpu(whole).f32(), on_gpu(map).f32(), N, Cdst, HW, cuda::stream());
  EXPECT_EQ(mul.to_floats(), mul_cpu.to_floats()) << "broadcast_mul";
}

TEST_P(CudaKernelGridStride, BceWithLogitsMatchesCpuAndAddsToTheSum) {
  SEQNET_REQUIRE_GPU();
  const Tensor logits = random_tensor({kElements}, 111, DType::f32, 5.0);
  Tensor target = Tensor::empty({kElements});
  for (int64_t i = 0; i < kElements; ++i) target.f32()[i] = float(i % 3 == 0);
  Tensor dx_cpu = Tensor::empty({kElements});
  const double loss_cpu = cpu::bce_with_logits(dx_cpu.f32(), logits.f32(), target.f32(), kElements);

  const Tensor lg = on_gpu(logits), tg = on_gpu(target);
  Tensor loss_sum = on_gpu(Tensor::from_vector({1}, {0.25f})), dx = poisoned({kElements});
  cuda::bce_with_logits(loss_sum.f32(), dx.f32(), lg.f32(), tg.f32(), kElements, cuda::stream());
  cuda::bce_with_logits(loss_sum.f32(), nullptr, lg.f32(), tg.f32(), kElements, cuda::stream());  // value only
  EXPECT_NEAR(loss_sum.to_doubles()[0], 0.25 + 2 * loss_cpu, kTolerance * (0.25 + 2 * loss_cpu));
  EXPECT_TRUE(matches(dx, dx_cpu));
  // The blocks' partial sums are added in a fixed order: a second run gives the same bits.
  Tensor again = on_gpu(Tensor::from_vector({1}, {0.25f}));
  cuda::bce_with_logits(again.f32(), nullptr, lg.f32(), tg.f32(), kElements, cuda::stream());
  cuda::bce_with_logits(again.f32(), nullptr, lg.f32(), tg.f32(), kElements, cuda::stream());
  EXPECT_EQ(again.to_floats(), loss_sum.to_floats());
}

TEST_P(CudaKernelGridStride, WeightedBceWithLogitsMatchesCpu) {
  SEQNET_REQUIRE_GPU();
  const Tensor logits = random_tensor({kElements}, 113, DType::f32, 5.0);
  Tensor target = Tensor::empty({kElements}), weight = Tensor::empty({kElements});
  double weight_sum = 0;
  for (int64_t i = 0; i < kElements; ++i) {
    target.f32()[i] = float(i % 3 == 0);
    weight.f32()[i] = float(i % 5 < 2);  // a 0/1 mask, as the vessel-only artery/vein loss uses
    weight_sum += weight.f32()[i];
  }
  Tensor dx_cpu = Tensor::empty({kElements});
  const double loss_cpu = cpu::bce_with_logits_weighted(dx_cpu.f32(), logits.f32(), target.f32(), weight.f32(),
                                                        weight_sum, kElements);
  Tensor loss_sum = on_gpu(Tensor::from_vector({1}, {0.5f})), dx = poisoned({kElements});
  cuda::bce_with_logits_weighted(loss_sum.f32(), dx.f32(), on_gpu(logits).f32(), on_gpu(target).f32(),
                                 on_gpu(weight).f32(), weight_sum, kElements, cuda::stream());
  EXPECT_NEAR(loss_sum.to_doubles()[0], 0.5 + loss_cpu, kTolerance * (0.5 + loss_cpu));
  EXPECT_TRUE(matches(dx, dx_cpu));
}

TEST_P(CudaKernelGridStride, AdamStepsMatchCpu) {
  SEQNET_REQUIRE_GPU();
  const cpu::AdamSettings settings{2e-3, 0.9, 0.999, 1e-8};
  Tensor p_cpu = random_tensor({kElements}, 121), m_cpu = Tensor::zeros({kElements}), v_cpu = Tensor::zeros({kElements});
  Tensor p = on_gpu(p_cpu), m = on_gpu(m_cpu), v = on_gpu(v_cpu);
  for (int64_t step = 1; step <= 3; ++step) {
    const Tensor g = random_tensor({kElements}, 122 + uint32_t(step));
    cpu::adam_update(p_cpu.f32(), m_cpu.f32(), v_cpu.f32(), g.f32(), kElements, settings, step);
    cuda::adam_update(p.f32(), m.f32(), v.f32(), on_gpu(g).f32(), kElements, settings, step, cuda::stream());
  }
  EXPECT_TRUE(matches(p, p_cpu)) << "param";
  EXPECT_TRUE(matches(m, m_cpu)) << "first moment";
  EXPECT_TRUE(matches(v, v_cpu)) << "second moment";
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaKernelGridStride, ::testing::Values(0, 2),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == 0 ? std::string("natural_grid") : std::string("two_blocks");
                         });

// ops.h refuses a call that mixes host and device tensors, naming the op, instead of handing a host
// pointer to a kernel.
TEST(CudaOps, MixedDevicesAreAClearError) {
  SEQNET_REQUIRE_GPU();
  const Tensor x = random_tensor({1, 2, 4, 4}, 141);
  Tensor y = poisoned({1, 2, 2, 2}), argmax = poisoned({1, 2, 2, 2}, DType::i32);
  auto message = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message([&] { ops::maxpool2x2_forward(y, argmax, x); }).find("max-pool"), std::string::npos);
  Tensor argmax_cpu = Tensor::empty({1, 2, 2, 2}, Device::cpu, DType::i32);
  EXPECT_NE(message([&] { ops::maxpool2x2_forward(y, argmax_cpu, on_gpu(x)); }).find("argmax must be int32 on cuda"),
            std::string::npos);
  Tensor dx = poisoned(x.shape());
  const Tensor dy_cpu = random_tensor({1, 2, 2, 2}, 142);
  EXPECT_NE(message([&] { ops::maxpool2x2_backward(dx, dy_cpu, argmax); }).find("max-pool backward"),
            std::string::npos);
  const Tensor gamma = on_gpu(random_tensor({2}, 143)), mean = on_gpu(random_tensor({2}, 144));
  Tensor dgamma = on_gpu(Tensor::zeros({2})), dbeta = on_gpu(Tensor::zeros({2}));
  const Tensor rstd_cpu = random_tensor({2}, 145);
  EXPECT_NE(message([&] { ops::batchnorm_backward(dx, dgamma, dbeta, on_gpu(x), on_gpu(x), gamma, mean, rstd_cpu); })
                .find("batch-norm backward"),
            std::string::npos);
}

TEST(CudaKernelEmpty, ZeroSizesLaunchNothing) {
  SEQNET_REQUIRE_GPU();
  // No 0-block launch may happen: each would be a CUDA configuration error.
  cuda::relu_forward(nullptr, nullptr, 0, cuda::stream());
  cuda::add_inplace(nullptr, nullptr, 0, cuda::stream());
  cuda::adam_update(nullptr, nullptr, nullptr, nullptr, 0, {}, 1, cuda::stream());
  cuda::bce_with_logits(nullptr, nullptr, nullptr, nullptr, 0, cuda::stream());
  cuda::maxpool2x2_forward(nullptr, nullptr, nullptr, 2, 3, 1, 1, cuda::stream());
  cuda::conv2d_forward(nullptr, nullptr, nullptr, nullptr, 0, 3, 5, 5, 4, 3, cuda::stream());
  cuda::conv2d_backward_weight(nullptr, nullptr, nullptr, 2, 3, 0, 5, 4, 3, cuda::stream());
  cuda::conv_transpose2x2_forward(nullptr, nullptr, nullptr, nullptr, 0, 3, 4, 4, 2, cuda::stream());
  EXPECT_NO_THROW(cuda::synchronize());
}

}  // namespace
}  // namespace seqnet
