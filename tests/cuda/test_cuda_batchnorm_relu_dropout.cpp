// test_cuda_batchnorm_relu_dropout.cpp: the fused batch-norm + ReLU + dropout of training
// (batchnorm.cu) against its CPU twin (kernels/cpu/batchnorm.h): the output, statistics and
// running statistics, the same dropout mask (an element is zero on the GPU where it is on the
// CPU, except where the ReLU's input is within rounding of 0), and the backward given the same y
// (dx written over dy, dgamma and dbeta accumulated). Odd planes (scalar loads) and planes of a
// multiple of 4 (float4), one chunk and several per channel (132 and 1 multiprocessors), with and
// without dropout. Outputs are poisoned with NaN first. Skips without a usable GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/batchnorm.h"
#include "kernels/cuda/batchnorm.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/runtime.h"
#include "kernels/dropout_hash.h"
#include "cuda/cuda_test_support.h"
#include "test_support.h"

namespace seqnet {
namespace {

using test::random_tensor;
using test::relative_error;

constexpr double kEps = 1e-5, kMomentum = 0.1;
// As tests/cuda/test_cuda_kernels.cpp: float32 sums of up to ~2e4 terms in another order.
constexpr double kTolerance = 1e-5;

struct Case {
  int N, C;
  int64_t HW;
  float p;
};

std::string name_of(const Case& s) {
  return "N" + std::to_string(s.N) + " C" + std::to_string(s.C) + " HW" + std::to_string(s.HW) + " p " +
         std::to_string(s.p);
}

// An odd plane in one chunk (scalar loads), a 100x100 plane (float4; 9 chunks per channel at 132
// multiprocessors, 2 at 1), an odd plane over several chunks, and no dropout.
const Case kCases[] = {{3, 5, 17 * 23, 0.3f}, {2, 3, 100 * 100, 0.5f}, {2, 3, 99 * 101, 0.2f}, {2, 3, 100 * 100, 0.f}};

Tensor on_gpu(const Tensor& t) { return t.to(Device::cuda); }

Tensor poisoned(const Shape& shape) {
  Tensor t = Tensor::empty(shape, Device::cuda);
  t.fill(std::numeric_limits<double>::quiet_NaN());
  return t;
}

class CudaKernelBatchNormReluDropoutOn : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { cuda::set_multiprocessor_count(GetParam()); }
  void TearDown() override { cuda::set_multiprocessor_count(0); }
};

TEST_P(CudaKernelBatchNormReluDropoutOn, MatchesCpuTwin) {
  SEQNET_REQUIRE_GPU();
  const uint64_t seed = 0x0123456789abcdefull;
  for (const Case& s : kCases) {
    SCOPED_TRACE(name_of(s));
    const Shape shape{s.N, s.C, s.HW};
    Tensor x = random_tensor(shape, 401);
    for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = x.f32()[i] * 2 + 1;
    const Tensor gamma = random_tensor({s.C}, 402), beta = random_tensor({s.C}, 403), dy = random_tensor(shape, 404);
    Tensor rm_cpu = random_tensor({s.C}, 405), rv_cpu = random_tensor({s.C}, 406);
    for (int c = 0; c < s.C; ++c) rv_cpu.f32()[c] = std::fabs(rv_cpu.f32()[c]) + 0.5f;
    const Tensor dgamma0 = random_tensor({s.C}, 407), dbeta0 = random_tensor({s.C}, 408);

    Tensor y_cpu = Tensor::empty(shape), mean_cpu = Tensor::empty({s.C}), rstd_cpu = Tensor::empty({s.C});
    Tensor rm = on_gpu(rm_cpu), rv = on_gpu(rv_cpu);
    cpu::batchnorm_relu_dropout_forward_train(y_cpu.f32(), mean_cpu.f32(), rstd_cpu.f32(), rm_cpu.f32(),
                                              rv_cpu.f32(), x.f32(), gamma.f32(), beta.f32(), s.N, s.C, s.HW, kEps,
                                              kMomentum, s.p, seed);
    Tensor y = poisoned(shape), mean = poisoned({s.C}), rstd = poisoned({s.C});
    const Tensor xg = on_gpu(x), gg = on_gpu(gamma);
    cuda::batchnorm_relu_dropout_forward_train(y.f32(), mean.f32(), rstd.f32(), rm.f32(), rv.f32(), xg.f32(),
                                               gg.f32(), on_gpu(beta).f32(), s.N, s.C, s.HW, kEps, kMomentum, s.p,
                                               seed, cuda::stream());
    EXPECT_LE(relative_error(y, y_cpu), kTolerance) << "y";
    EXPECT_LE(relative_error(mean, mean_cpu), kTolerance) << "mean";
    EXPECT_LE(relative_error(rstd, rstd_cpu), kTolerance) << "rstd";
    EXPECT_LE(relative_error(rm, rm_cpu), kTolerance) << "running mean";
    EXPECT_LE(relative_error(rv, rv_cpu), kTolerance) << "running var";

    // The mask: zero in the same places, but for ReLU inputs within rounding of 0 (the GPU may
    // contract the affine step into an FMA); and zero wherever dropout drops the element.
    const std::vector<float> got = y.to_floats(), want = y_cpu.to_floats();
    int64_t differing = 0, kept_where_dropped = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if ((got[i] == 0.f) != (want[i] == 0.f) && std::fabs(got[i] - want[i]) > 1e-5f) ++differing;
      if (!dropout_keep(seed, i, s.p) && got[i] != 0.f) ++kept_where_dropped;
    }
    EXPECT_EQ(differing, 0) << "elements zero on one device only, away from the ReLU's kink";
    EXPECT_EQ(kept_where_dropped, 0) << "elements dropout drops";

    // The backward from the same y on both devices (the CPU's), dx written over dy.
    Tensor dx_cpu = dy.clone(), dgamma_cpu = dgamma0.clone(), dbeta_cpu = dbeta0.clone();
    cpu::batchnorm_relu_dropout_backward(dx_cpu.f32(), dgamma_cpu.f32(), dbeta_cpu.f32(), dx_cpu.f32(), x.f32(),
                                         y_cpu.f32(), gamma.f32(), mean_cpu.f32(), rstd_cpu.f32(), s.N, s.C, s.HW,
                                         s.p);
    Tensor d = on_gpu(dy), dgamma = on_gpu(dgamma0), dbeta = on_gpu(dbeta0);
    cuda::batchnorm_relu_dropout_backward(d.f32(), dgamma.f32(), dbeta.f32(), d.f32(), xg.f32(), on_gpu(y_cpu).f32(),
                                          gg.f32(), on_gpu(mean_cpu).f32(), on_gpu(rstd_cpu).f32(), s.N, s.C, s.HW,
                                          s.p, cuda::stream());
    EXPECT_LE(relative_error(d, dx_cpu), kTolerance) << "dx";
    EXPECT_LE(relative_error(dgamma, dgamma_cpu), kTolerance) << "dgamma (+=)";
    EXPECT_LE(relative_error(dbeta, dbeta_cpu), kTolerance) << "dbeta (+=)";
  }
}

TEST(CudaKernelBatchNormReluDropout, TestCasesReachOneAndSeveralChunks) {
  SEQNET_REQUIRE_GPU();
  cuda::set_multiprocessor_count(132);
  EXPECT_EQ(cuda::batchnorm_blocks_per_channel(kCases[0].N, kCases[0].C, kCases[0].HW), 1);
  EXPECT_GT(cuda::batchnorm_blocks_per_channel(kCases[1].N, kCases[1].C, kCases[1].HW), 1);
  EXPECT_GT(cuda::batchnorm_blocks_per_channel(kCases[2].N, kCases[2].C, kCases[2].HW), 1);
  cuda::set_multiprocessor_count(0);
}

INSTANTIATE_TEST_SUITE_P(Multiprocessors, CudaKernelBatchNormReluDropoutOn, ::testing::Values(132, 1));

}  // namespace
}  // namespace seqnet
