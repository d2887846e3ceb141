// test_cuda_batchnorm_split.cpp: batch-norm over many blocks per channel (batchnorm.cu). Channels
// long enough to be cut into several chunks, with float4 loads (HW % 4 == 0) and without, a mean
// far from zero (the shifted one-pass sums), against the CPU twin; and the same bits on a second
// run (the chunk sums are added in a fixed order, never with atomics). Skips without a usable GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "kernels/cpu/batchnorm.h"
#include "kernels/cuda/batchnorm.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/runtime.h"
#include "cuda/cuda_test_support.h"
#include "test_support.h"

namespace seqnet {
namespace {

using test::random_tensor;
using test::relative_error;

constexpr double kTolerance = 1e-5;  // as tests/cuda/test_cuda_kernels.cpp: float32 sums of ~1e4 terms
constexpr double kEps = 1e-5, kMomentum = 0.1;

struct Case {
  int N, C;
  int64_t HW;
  float offset;  // added to x: the channel means
};

// Every output of the three kernels on the GPU, from the same inputs.
struct GpuResults {
  Tensor y, mean, rstd, running_mean, running_var, y_eval, dx, dgamma, dbeta;
};

struct Inputs {
  Tensor x, gamma, beta, dy, running_mean, running_var;
};

Inputs inputs_for(const Case& s) {
  const Shape shape{s.N, s.C, s.HW};
  Inputs in{random_tensor(shape, 201), random_tensor({s.C}, 202), random_tensor({s.C}, 203),
            random_tensor(shape, 204), random_tensor({s.C}, 205), random_tensor({s.C}, 206)};
  for (int64_t i = 0; i < in.x.numel(); ++i) in.x.f32()[i] = in.x.f32()[i] * 2 + s.offset;
  for (int c = 0; c < s.C; ++c) in.running_var.f32()[c] = std::fabs(in.running_var.f32()[c]) + 0.5f;
  return in;
}

GpuResults run_on_gpu(const Case& s, const Inputs& in) {
  const Shape shape{s.N, s.C, s.HW};
  const Tensor x = in.x.to(Device::cuda), gamma = in.gamma.to(Device::cuda), beta = in.beta.to(Device::cuda);
  const Tensor dy = in.dy.to(Device::cuda);
  GpuResults r{Tensor::empty(shape, Device::cuda), Tensor::empty({s.C}, Device::cuda),
               Tensor::empty({s.C}, Device::cuda), in.running_mean.to(Device::cuda),
               in.running_var.to(Device::cuda), Tensor::empty(shape, Device::cuda),
               Tensor::empty(shape, Device::cuda), Tensor::zeros({s.C}).to(Device::cuda),
               Tensor::zeros({s.C}).to(Device::cuda)};
  cuda::batchnorm_forward_train(r.y.f32(), r.mean.f32(), r.rstd.f32(), r.running_mean.f32(), r.running_var.f32(),
                                x.f32(), gamma.f32(), beta.f32(), s.N, s.C, s.HW, kEps, kMomentum, cuda::stream());
  cuda::batchnorm_forward_eval(r.y_eval.f32(), x.f32(), gamma.f32(), beta.f32(), r.running_mean.f32(),
                               r.running_var.f32(), s.N, s.C, s.HW, kEps, cuda::stream());
  cuda::batchnorm_backward(r.dx.f32(), r.dgamma.f32(), r.dbeta.f32(), dy.f32(), x.f32(), gamma.f32(), r.mean.f32(),
                           r.rstd.f32(), s.N, s.C, s.HW, cuda::stream());
  for (Tensor* t : {&r.y, &r.mean, &r.rstd, &r.running_mean, &r.running_var, &r.y_eval, &r.dx, &r.dgamma, &r.dbeta})
    *t = t->to(Device::cpu);
  return r;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() && std::memcmp(a.f32(), b.f32(), size_t(a.numel()) * sizeof(float)) == 0;
}

// 2 x 3 planes of 100x100 (float4) and 99x101 (scalar): 20,000 values per channel, several chunks.
const Case kCases[] = {{2, 3, 100 * 100, 0.f}, {2, 3, 99 * 101, 0.f}, {2, 3, 100 * 100, 1000.f}};

// The split of a GPU with this many multiprocessors: 132 (H100/H200: 9 chunks per channel here) or
// 1 (2 chunks).
class CudaKernelBatchNormSplitOn : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { cuda::set_multiprocessor_count(GetParam()); }
  void TearDown() override { cuda::set_multiprocessor_count(0); }
};

TEST_P(CudaKernelBatchNormSplitOn, ManyChunksPerChannelMatchCpu) {
  SEQNET_REQUIRE_GPU();
  for (const Case& s : kCases) {
    SCOPED_TRACE("N" + std::to_string(s.N) + " C" + std::to_string(s.C) + " HW" + std::to_string(s.HW) +
                 " offset " + std::to_string(s.offset));
    EXPECT_GT(cuda::batchnorm_blocks_per_channel(s.N, s.C, s.HW), 1);
    const Inputs in = inputs_for(s);
    const GpuResults got = run_on_gpu(s, in);

    const Shape shape{s.N, s.C, s.HW};
    Tensor y = Tensor::empty(shape), mean = Tensor::empty({s.C}), rstd = Tensor::empty({s.C});
    Tensor running_mean = in.running_mean.clone(), running_var = in.running_var.clone();
    cpu::batchnorm_forward_train(y.f32(), mean.f32(), rstd.f32(), running_mean.f32(), running_var.f32(), in.x.f32(),
                                 in.gamma.f32(), in.beta.f32(), s.N, s.C, s.HW, kEps, kMomentum);
    Tensor y_eval = Tensor::empty(shape);
    cpu::batchnorm_forward_eval(y_eval.f32(), in.x.f32(), in.gamma.f32(), in.beta.f32(), running_mean.f32(),
                                running_var.f32(), s.N, s.C, s.HW, kEps);
    Tensor dx = Tensor::empty(shape), dgamma = Tensor::zeros({s.C}), dbeta = Tensor::zeros({s.C});
    cpu::batchnorm_backward(dx.f32(), dgamma.f32(), dbeta.f32(), in.dy.f32(), in.x.f32(), in.gamma.f32(), mean.f32(),
                            rstd.f32(), s.N, s.C, s.HW);

    EXPECT_LE(relative_error(got.y, y), kTolerance) << "train y";
    EXPECT_LE(relative_error(got.mean, mean), kTolerance) << "mean";
    EXPECT_LE(relative_error(got.rstd, rstd), kTolerance) << "rstd";
    EXPECT_LE(relative_error(got.running_mean, running_mean), kTolerance) << "running mean";
    EXPECT_LE(relative_error(got.running_var, running_var), kTolerance) << "running var";
    EXPECT_LE(relative_error(got.y_eval, y_eval), kTolerance) << "eval y";
    EXPECT_LE(relative_error(got.dx, dx), kTolerance) << "dx";
    EXPECT_LE(relative_error(got.dgamma, dgamma), kTolerance) << "dgamma";
    EXPECT_LE(relative_error(got.dbeta, dbeta), kTolerance) << "dbeta";
  }
}

TEST(CudaKernelBatchNormSplit, SecondRunGivesTheSameBits) {
  SEQNET_REQUIRE_GPU();
  const Case& s = kCases[0];
  const Inputs in = inputs_for(s);
  const GpuResults first = run_on_gpu(s, in), second = run_on_gpu(s, in);
  EXPECT_TRUE(same_bits(first.y, second.y));
  EXPECT_TRUE(same_bits(first.mean, second.mean));
  EXPECT_TRUE(same_bits(first.rstd, second.rstd));
  EXPECT_TRUE(same_bits(first.dx, second.dx));
  EXPECT_TRUE(same_bits(first.dgamma, second.dgamma));
  EXPECT_TRUE(same_bits(first.dbeta, second.dbeta));
}

INSTANTIATE_TEST_SUITE_P(Multiprocessors, CudaKernelBatchNormSplitOn, ::testing::Values(132, 1));

}  // namespace
}  // namespace seqnet
