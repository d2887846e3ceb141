// test_reference_layers.cpp: the fast CPU kernels of batch norm, the fused BN + ReLU + dropout,
// max-pool, the losses and Adam against their plain loops (kernels/cpu/reference_layers.h),
// and the plain batch-norm backward against central differences of its own forward.
//
// In double the fast kernels must agree with the loops to rounding (1e-12 relative), in float to
// float rounding over a channel's sums (1e-5), as the convolutions do (test_cpu_kernels.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/adam.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/maxpool2x2.h"
#include "kernels/cpu/reference_layers.h"
#include "test_support.h"

namespace seqnet {
namespace {

namespace ref = cpu::reference;

template <typename T>
double tolerance() {
  return sizeof(T) == sizeof(double) ? 1e-12 : 1e-5;
}

template <typename T>
std::vector<T> random_values(int64_t n, uint32_t seed, double offset = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(offset, 1.0);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

template <typename T>
double error(const std::vector<T>& a, const std::vector<T>& b) {
  return test::relative_error(std::vector<double>(a.begin(), a.end()), std::vector<double>(b.begin(), b.end()));
}

// Batch norm's training forward (y, mean, rstd, running statistics), evaluation forward and
// backward (dx, and dgamma, dbeta added twice), fast kernel against the loops.
template <typename T>
void check_batchnorm(bool fused, float p) {
  const int N = 3, C = 4;
  const int64_t HW = 37, n = N * C * HW;
  const auto x = random_values<T>(n, 1, 5.0), gamma = random_values<T>(C, 2), beta = random_values<T>(C, 3);
  const auto dy = random_values<T>(n, 4);
  std::vector<T> y(n), mean(C), rstd(C), rm(C, T(0.5)), rv(C, T(2));
  std::vector<T> y_ref(n), mean_ref(C), rstd_ref(C), rm_ref = rm, rv_ref = rv;
  if (fused) {
    cpu::batchnorm_relu_dropout_forward_train(y.data(), mean.data(), rstd.data(), rm.data(), rv.data(), x.data(),
                                              gamma.data(), beta.data(), N, C, HW, 1e-5, 0.1, p, 77);
    ref::batchnorm_relu_dropout_forward_train(y_ref.data(), mean_ref.data(), rstd_ref.data(), rm_ref.data(),
                                              rv_ref.data(), x.data(), gamma.data(), beta.data(), N, C, HW, 1e-5,
                                              0.1, p, 77);
  } else {
    cpu::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), rm.data(), rv.data(), x.data(), gamma.data(),
                                 beta.data(), N, C, HW, 1e-5, 0.1);
    ref::batchnorm_forward_train(y_ref.data(), mean_ref.data(), rstd_ref.data(), rm_ref.data(), rv_ref.data(),
                                 x.data(), gamma.data(), beta.data(), N, C, HW, 1e-5, 0.1);
  }
  EXPECT_LE(error(y, y_ref), tolerance<T>()) << "y";
  EXPECT_LE(error(mean, mean_ref), tolerance<T>()) << "mean";
  EXPECT_LE(error(rstd, rstd_ref), tolerance<T>()) << "rstd";
  EXPECT_LE(error(rm, rm_ref), tolerance<T>()) << "running mean";
  EXPECT_LE(error(rv, rv_ref), tolerance<T>()) << "running variance";

  std::vector<T> dx(n, T(9)), dg(C, T(1)), db(C, T(-1)), dx_ref(n, T(7)), dg_ref = dg, db_ref = db;
  for (int twice = 0; twice < 2; ++twice) {
    if (fused) {
      cpu::batchnorm_relu_dropout_backward(dx.data(), dg.data(), db.data(), dy.data(), x.data(), y.data(),
                                           gamma.data(), mean.data(), rstd.data(), N, C, HW, p);
      ref::batchnorm_relu_dropout_backward(dx_ref.data(), dg_ref.data(), db_ref.data(), dy.data(), x.data(),
                                           y_ref.data(), gamma.data(), mean_ref.data(), rstd_ref.data(), N, C, HW, p);
    } else {
      cpu::batchnorm_backward(dx.data(), dg.data(), db.data(), dy.data(), x.data(), gamma.data(), mean.data(),
                              rstd.data(), N, C, HW);
      ref::batchnorm_backward(dx_ref.data(), dg_ref.data(), db_ref.data(), dy.data(), x.data(), gamma.data(),
                              mean_ref.data(), rstd_ref.data(), N, C, HW);
    }
  }
  EXPECT_LE(error(dx, dx_ref), tolerance<T>()) << "dx";
  EXPECT_LE(error(dg, dg_ref), tolerance<T>()) << "dgamma (+= twice)";
  EXPECT_LE(error(db, db_ref), tolerance<T>()) << "dbeta (+= twice)";

  if (fused) return;
  std::vector<T> y_eval(n), y_eval_ref(n);
  cpu::batchnorm_forward_eval(y_eval.data(), x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), N, C, HW,
                              1e-5);
  ref::batchnorm_forward_eval(y_eval_ref.data(), x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), N, C, HW,
                              1e-5);
  EXPECT_LE(error(y_eval, y_eval_ref), tolerance<T>()) << "evaluation y";
}

TEST(ReferenceLayers, BatchNormTrainingEvaluationAndBackwardMatchTheKernels) {
  check_batchnorm<double>(false, 0);
  check_batchnorm<float>(false, 0);
}

TEST(ReferenceLayers, FusedBatchNormReluDropoutMatchesTheKernels) {
  for (float p : {0.0f, 0.3f}) {
    SCOPED_TRACE(p);
    check_batchnorm<double>(true, p);
    check_batchnorm<float>(true, p);
  }
}

// The plain backward is the derivative of the plain forward: L = sum r y, central differences.
TEST(ReferenceLayers, BatchNormBackwardIsTheDerivativeOfItsForward) {
  const int N = 2, C = 2;
  const int64_t HW = 5, n = N * C * HW;
  auto x = random_values<double>(n, 11), gamma = random_values<double>(C, 12), beta = random_values<double>(C, 13);
  const auto r = random_values<double>(n, 14);
  auto objective = [&] {
    std::vector<double> y(n), mean(C), rstd(C), rm(C), rv(C);
    ref::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), rm.data(), rv.data(), x.data(), gamma.data(),
                                 beta.data(), N, C, HW, 1e-5, 0.1);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += r[i] * y[i];
    return sum;
  };
  std::vector<double> y(n), mean(C), rstd(C), rm(C), rv(C), dx(n), dg(C), db(C);
  ref::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), rm.data(), rv.data(), x.data(), gamma.data(),
                               beta.data(), N, C, HW, 1e-5, 0.1);
  ref::batchnorm_backward(dx.data(), dg.data(), db.data(), r.data(), x.data(), gamma.data(), mean.data(), rstd.data(),
                          N, C, HW);
  auto numeric = [&](std::vector<double>& v) {
    std::vector<double> g(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      const double saved = v[i];
      v[i] = saved + 1e-6;
      const double up = objective();
      v[i] = saved - 1e-6;
      g[i] = (up - objective()) / 2e-6;
      v[i] = saved;
    }
    return g;
  };
  EXPECT_LE(test::relative_error(dx, numeric(x)), 1e-7);
  EXPECT_LE(test::relative_error(dg, numeric(gamma)), 1e-7);
  EXPECT_LE(test::relative_error(db, numeric(beta)), 1e-7);
}

TEST(ReferenceLayers, MaxPoolMatchesTheKernelWithTiesNaNAndOddSizes) {
  const int N = 2, C = 3, H = 7, W = 9;
  auto x = random_values<float>(N * C * H * W, 21);
  for (size_t i = 0; i < x.size(); i += 5) x[i] = std::round(x[i]);  // ties
  x[10] = std::numeric_limits<float>::quiet_NaN();
  const int64_t pooled = N * C * (H / 2) * (W / 2);
  std::vector<float> y(pooled), y_ref(pooled), dx(x.size(), 5), dx_ref(x.size(), 6);
  std::vector<int32_t> argmax(pooled), argmax_ref(pooled);
  cpu::maxpool2x2_forward(y.data(), argmax.data(), x.data(), N, C, H, W);
  ref::maxpool2x2_forward(y_ref.data(), argmax_ref.data(), x.data(), N, C, H, W);
  EXPECT_EQ(argmax, argmax_ref);
  for (int64_t o = 0; o < pooled; ++o)
    EXPECT_TRUE(y[o] == y_ref[o] || (std::isnan(y[o]) && std::isnan(y_ref[o]))) << o;
  const auto dy = random_values<float>(pooled, 22);
  cpu::maxpool2x2_backward(dx.data(), dy.data(), argmax.data(), N, C, H, W);
  ref::maxpool2x2_backward(dx_ref.data(), dy.data(), argmax_ref.data(), N, C, H, W);
  EXPECT_EQ(dx, dx_ref);
}

template <typename T>
void check_losses() {
  const int64_t n = 1000;  // under the parallel threshold and over it below
  for (int64_t size : {n, int64_t(1) << 16}) {
    auto x = random_values<T>(size, 31);
    for (int64_t i = 0; i < size; i += 7) x[i] *= T(40);  // far in both tails
    std::vector<T> t(size), w(size);
    std::mt19937 rng(32);
    double w_sum = 0;
    for (int64_t i = 0; i < size; ++i) t[i] = T(rng() % 2), w[i] = T(rng() % 3 == 0), w_sum += w[i];
    std::vector<T> dx(size), dx_ref(size);
    const double l = cpu::bce_with_logits(dx.data(), x.data(), t.data(), size);
    const double l_ref = ref::bce_with_logits(dx_ref.data(), x.data(), t.data(), size);
    EXPECT_NEAR(l, l_ref, 1e-12 * l_ref);
    EXPECT_LE(error(dx, dx_ref), tolerance<T>()) << "plain";
    const double lw = cpu::bce_with_logits_weighted(dx.data(), x.data(), t.data(), w.data(), w_sum, size);
    const double lw_ref = ref::bce_with_logits_weighted(dx_ref.data(), x.data(), t.data(), w.data(), w_sum, size);
    EXPECT_NEAR(lw, lw_ref, 1e-12 * lw_ref);
    EXPECT_LE(error(dx, dx_ref), tolerance<T>()) << "vessel-weighted";
  }
}

TEST(ReferenceLayers, LossesMatchTheKernels) {
  check_losses<double>();
  check_losses<float>();
}

TEST(ReferenceLayers, AdamMatchesTheKernelOverFiveSteps) {
  const int64_t n = 257;
  auto p = random_values<double>(n, 41), p_ref = p;
  std::vector<double> m(n), v(n), m_ref(n), v_ref(n);
  cpu::AdamSettings s;
  s.lr = 0.01;
  for (int step = 1; step <= 5; ++step) {
    const auto g = random_values<double>(n, 41 + step);
    cpu::adam_update(p.data(), m.data(), v.data(), g.data(), n, s, step);
    ref::adam_update(p_ref.data(), m_ref.data(), v_ref.data(), g.data(), n, s, step);
  }
  EXPECT_LE(error(p, p_ref), 1e-12);
  EXPECT_LE(error(m, m_ref), 1e-12);
  EXPECT_LE(error(v, v_ref), 1e-12);
}

}  // namespace
}  // namespace seqnet
