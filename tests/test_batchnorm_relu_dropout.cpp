// test_batchnorm_relu_dropout.cpp: the fused training op batch-norm + ReLU + dropout (ops.h) on
// the CPU against the three ops it replaces, one after the other: the same output bits (so the
// same dropout mask), statistics and running statistics; the same dx, dgamma and dbeta (the
// accumulate rule too), with and without dropout, in float and double, on planes longer than the
// fused pass's pieces, with synchronised statistics; and DoubleConv in training, which takes the
// fused path unless a trace records, giving the same output and gradients both ways.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "kernels/batchnorm_sync.h"
#include "kernels/ops.h"
#include "layers/parameters.h"
#include "model/double_conv.h"
#include "model/trace.h"
#include "test_support.h"

namespace seqnet {
namespace {

using test::random_tensor;

constexpr double kEps = 1e-5, kMomentum = 0.1;

bool same_bits(const Tensor& a, const Tensor& b) {
  const size_t bytes = size_t(a.numel()) * (a.dtype() == DType::f64 ? 8 : 4);
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.dtype() == DType::f64 ? static_cast<const void*>(a.f64()) : a.f32(),
                     b.dtype() == DType::f64 ? static_cast<const void*>(b.f64()) : b.f32(), bytes) == 0;
}

struct Case {
  int N, C, H, W;
  float p;
  DType dtype;
};

std::string name_of(const Case& s) {
  return "N" + std::to_string(s.N) + " C" + std::to_string(s.C) + " " + std::to_string(s.H) + "x" +
         std::to_string(s.W) + " p " + std::to_string(s.p) + (s.dtype == DType::f64 ? " f64" : " f32");
}

// Odd sizes; a plane of 4087 values (two pieces of the fused pass, the second short); float and
// double; dropout off and on.
const Case kCases[] = {{3, 5, 37, 53, 0.3f, DType::f32}, {3, 5, 37, 53, 0.0f, DType::f32},
                       {2, 3, 61, 67, 0.5f, DType::f32}, {2, 4, 9, 11, 0.2f, DType::f64}};

// t[i] = f(t[i]) for every element, float or double.
template <typename F>
void map_values(Tensor& t, F f) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (t.dtype() == DType::f64) t.f64()[i] = f(t.f64()[i]);
    else t.f32()[i] = float(f(double(t.f32()[i])));
}

// The inputs of one case.
struct Inputs {
  Tensor x, gamma, beta, dy, running_mean, running_var, dgamma, dbeta;
};

Inputs inputs_for(const Case& s) {
  const Shape shape{s.N, s.C, s.H, s.W};
  Inputs in{random_tensor(shape, 301, s.dtype),  random_tensor({s.C}, 302, s.dtype), random_tensor({s.C}, 303, s.dtype),
            random_tensor(shape, 304, s.dtype),  random_tensor({s.C}, 305, s.dtype), random_tensor({s.C}, 306, s.dtype),
            random_tensor({s.C}, 307, s.dtype), random_tensor({s.C}, 308, s.dtype)};
  map_values(in.x, [](double v) { return v + 0.5; });  // a mean away from 0
  map_values(in.running_var, [](double v) { return std::abs(v) + 0.5; });
  return in;
}

// Every output of a training forward and backward (dgamma and dbeta accumulated onto the inputs'
// values; dx written over dy, as BatchNorm2d does).
struct Results {
  Tensor y, mean, rstd, running_mean, running_var, dx, dgamma, dbeta;
};

Results empty_results(const Case& s, const Inputs& in) {
  const Shape shape{s.N, s.C, s.H, s.W};
  return {Tensor::empty(shape, Device::cpu, s.dtype), Tensor::empty({s.C}, Device::cpu, s.dtype),
          Tensor::empty({s.C}, Device::cpu, s.dtype), in.running_mean.clone(), in.running_var.clone(),
          in.dy.clone(), in.dgamma.clone(), in.dbeta.clone()};
}

// The three separate ops, as DoubleConv ran them before the fused op.
Results separate_ops(const Case& s, const Inputs& in, uint64_t seed, const BatchNormSync* sync = nullptr) {
  Results r = empty_results(s, in);
  ops::batchnorm_forward_train(r.y, r.mean, r.rstd, r.running_mean, r.running_var, in.x, in.gamma, in.beta, kEps,
                               kMomentum, sync);
  ops::relu_forward(r.y, r.y);
  ops::dropout_forward(r.y, r.y, s.p, seed);
  ops::dropout_backward(r.dx, r.dx, s.p, seed);
  ops::relu_backward(r.dx, r.dx, r.y);
  ops::batchnorm_backward(r.dx, r.dgamma, r.dbeta, r.dx, in.x, in.gamma, r.mean, r.rstd, sync);
  return r;
}

Results fused_op(const Case& s, const Inputs& in, uint64_t seed, const BatchNormSync* sync = nullptr) {
  Results r = empty_results(s, in);
  ops::batchnorm_relu_dropout_forward_train(r.y, r.mean, r.rstd, r.running_mean, r.running_var, in.x, in.gamma,
                                            in.beta, kEps, kMomentum, s.p, seed, sync);
  ops::batchnorm_relu_dropout_backward(r.dx, r.dgamma, r.dbeta, r.dx, in.x, r.y, in.gamma, r.mean, r.rstd, s.p, sync);
  return r;
}

// The forward bit for bit; the backward within a few roundings (the same expressions; only the
// order of the vectorised sums could differ).
void expect_same_results(const Case& s, const Results& got, const Results& want) {
  EXPECT_TRUE(same_bits(got.y, want.y)) << "y";
  EXPECT_TRUE(same_bits(got.mean, want.mean)) << "mean";
  EXPECT_TRUE(same_bits(got.rstd, want.rstd)) << "rstd";
  EXPECT_TRUE(same_bits(got.running_mean, want.running_mean)) << "running mean";
  EXPECT_TRUE(same_bits(got.running_var, want.running_var)) << "running var";
  const double tolerance = s.dtype == DType::f64 ? 1e-13 : 1e-6;
  EXPECT_LE(test::relative_error(got.dx, want.dx), tolerance) << "dx";
  EXPECT_LE(test::relative_error(got.dgamma, want.dgamma), tolerance) << "dgamma (+=)";
  EXPECT_LE(test::relative_error(got.dbeta, want.dbeta), tolerance) << "dbeta (+=)";
}

TEST(BatchNormReluDropout, FusedOpIsTheThreeOpsOneAfterTheOther) {
  for (const Case& s : kCases) {
    SCOPED_TRACE(name_of(s));
    const Inputs in = inputs_for(s);
    const uint64_t seed = 0x1234567890abcdefull;
    expect_same_results(s, fused_op(s, in, seed), separate_ops(s, in, seed));
  }
}

// Dropout draws its mask from the seed: another seed, another output (the op does use it).
TEST(BatchNormReluDropout, TheSeedChoosesTheMask) {
  const Case& s = kCases[0];
  const Inputs in = inputs_for(s);
  EXPECT_FALSE(same_bits(fused_op(s, in, 1).y, fused_op(s, in, 2).y));
}

// Synchronised batch-norm with two ranks holding the same batch (the sums over the ranks are twice
// this rank's): the fused op gives the separate ops' results there too.
TEST(BatchNormReluDropout, SynchronisedStatistics) {
  BatchNormSync sync;
  sync.ranks = 2;
  sync.sum_over_ranks = [](double* values, int64_t n) {
    for (int64_t i = 0; i < n; ++i) values[i] *= 2;
  };
  const Case& s = kCases[0];
  const Inputs in = inputs_for(s);
  expect_same_results(s, fused_op(s, in, 99, &sync), separate_ops(s, in, 99, &sync));
}

TEST(BatchNormReluDropout, RejectsADropoutProbabilityOutsideZeroToOne) {
  const Case& s = kCases[0];
  const Inputs in = inputs_for(s);
  Results r = empty_results(s, in);
  EXPECT_THROW(ops::batchnorm_relu_dropout_forward_train(r.y, r.mean, r.rstd, r.running_mean, r.running_var, in.x,
                                                         in.gamma, in.beta, kEps, kMomentum, 1.0f, 1),
               std::invalid_argument);
}

// One training step of a DoubleConv with batch-norm and dropout: the fused path (no trace) and
// the layer-by-layer path (a trace hook set) give the same output bits and the same gradients.
TEST(BatchNormReluDropout, DoubleConvTrainsTheSameWithAndWithoutATrace) {
  struct Step {
    Tensor y, dx, grads;
  };
  auto step = [](bool trace) {
    ParameterStore store;
    uint64_t dropout_id = 0;
    DoubleConv block(store, "block", 3, 6, Norm::batch, 0.3f, dropout_id);
    store.allocate(Device::cpu, DType::f32, 5);
    store.zero_grads();
    if (trace) set_trace_hook([](const std::string&, TracePass, const Tensor&) {});
    const Tensor x = random_tensor({2, 3, 13, 17}, 311);
    Tensor dy = random_tensor({2, 6, 13, 17}, 312);
    const Mode mode{true, 77};
    Step out;
    out.y = block.forward(x, mode).clone();
    out.dx = block.backward(dy).clone();
    out.grads = store.grads().clone();
    set_trace_hook({});
    return out;
  };
  const Step fused = step(false), traced = step(true);
  EXPECT_TRUE(same_bits(fused.y, traced.y)) << "output";
  EXPECT_LE(test::relative_error(fused.dx, traced.dx), 1e-6) << "dx";
  EXPECT_LE(test::relative_error(fused.grads, traced.grads), 1e-6) << "parameter gradients";
}

}  // namespace
}  // namespace seqnet
