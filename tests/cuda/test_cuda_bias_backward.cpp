// test_cuda_bias_backward.cpp: the bias gradient over many blocks per channel (bias_backward.cu):
// channels long enough to be cut into several chunks, with float4 loads (HW % 4 == 0) and without,
// at the launch shapes of 132 and 1 multiprocessors, against the CPU twin, accumulating (+=) twice;
// and the same bits on a second run (chunk sums added in a fixed order, never with atomics).
// Skips without a usable GPU.
#include <gtest/gtest.h>

#include <string>

#include "kernels/cpu/conv2d.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/runtime.h"
#include "cuda/cuda_test_support.h"
#include "test_support.h"

namespace seqnet {
namespace {

using test::random_tensor;
using test::relative_error;

// A sum of ~2e4 float terms in double on both devices: the difference is the final rounding to
// float, ~6e-8 relative; 1e-6 leaves a margin and catches any lost or doubled chunk (error ~1e-1).
constexpr double kTolerance = 1e-6;

struct Case {
  int N, K;
  int64_t HW;
};

// 2 x 3 planes of 100x100 (float4) and 99x101 (scalar): 20,000 values per channel, 9 chunks at 132
// multiprocessors and 2 at 1; and 32 channels like SeqNet's level 0 (2 chunks at 132, 1 at 1).
const Case kCases[] = {{2, 3, 100 * 100}, {2, 3, 99 * 101}, {3, 32, 37 * 53}};

Tensor gpu_bias_gradient(const Case& s, const Tensor& dy, const Tensor& db0) {
  const Tensor dyg = dy.to(Device::cuda);
  Tensor db = db0.to(Device::cuda);
  for (int twice = 0; twice < 2; ++twice)
    cuda::bias_backward(db.f32(), dyg.f32(), s.N, s.K, s.HW, cuda::stream());
  return db.to(Device::cpu);
}

class CudaKernelBiasBackwardOn : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { cuda::set_multiprocessor_count(GetParam()); }
  void TearDown() override { cuda::set_multiprocessor_count(0); }
};

TEST_P(CudaKernelBiasBackwardOn, ManyChunksPerChannelMatchCpuAndAccumulate) {
  SEQNET_REQUIRE_GPU();
  for (const Case& s : kCases) {
    SCOPED_TRACE("N" + std::to_string(s.N) + " K" + std::to_string(s.K) + " HW" + std::to_string(s.HW));
    const cuda::ChannelSplit split = cuda::channel_split(s.N, s.K, s.HW);
    if (s.K == 3) EXPECT_GT(split.chunks, 1);
    EXPECT_EQ(split.vectorised, s.HW % 4 == 0);
    const Tensor dy = random_tensor({s.N, s.K, s.HW}, 301), db0 = random_tensor({s.K}, 302);
    Tensor want = db0.clone();
    for (int twice = 0; twice < 2; ++twice) cpu::bias_backward(want.f32(), dy.f32(), s.N, s.K, s.HW);
    EXPECT_LE(relative_error(gpu_bias_gradient(s, dy, db0), want), kTolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaKernelBiasBackwardOn, ::testing::Values(132, 1),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "_multiprocessors";
                         });

TEST(CudaKernelBiasBackward, SecondRunGivesTheSameBits) {
  SEQNET_REQUIRE_GPU();
  const Case s = kCases[0];
  const Tensor dy = random_tensor({s.N, s.K, s.HW}, 303), db0 = random_tensor({s.K}, 304);
  EXPECT_EQ(gpu_bias_gradient(s, dy, db0).to_floats(), gpu_bias_gradient(s, dy, db0).to_floats());
}

}  // namespace
}  // namespace seqnet
