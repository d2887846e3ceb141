// test_layer_gradients.cpp: every layer's backward against central differences, in float64.
//
// For a layer y = f(x; p) and a fixed random r, the scalar L = sum(r * y) has dL/dy = r, so
// backward(r) must give dL/dx and dL/dp. Each is compared with (L(v+h) - L(v-h)) / 2h at every
// element, relative to max(|analytic|, |numeric|, 1) as Caffe's GradientChecker does. Points
// within 1e-3 of a kink (ReLU at 0, a max-pool tie) are skipped.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "layers/activations.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/maxpool2d.h"
#include "kernels/ops.h"
#include "test_support.h"

namespace seqnet {
namespace {

constexpr double kStep = 1e-6;
constexpr double kTolerance = 1e-6;

double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += a.f64()[i] * b.f64()[i];
  return s;
}

// Checks `analytic` = d/dv sum(r * forward()) for every element of `v`, skipping elements where
// `skip(i)` says the function has a kink nearby.
void check_gradient(const std::string& what, Tensor v, const Tensor& analytic, const Tensor& r,
                    const std::function<Tensor()>& forward, const std::function<bool(int64_t)>& skip = nullptr) {
  ASSERT_EQ(v.numel(), analytic.numel()) << what;
  int checked = 0;
  for (int64_t i = 0; i < v.numel(); ++i) {
    if (skip && skip(i)) continue;
    const double saved = v.f64()[i];
    v.f64()[i] = saved + kStep;
    const double up = dot(r, forward());
    v.f64()[i] = saved - kStep;
    const double down = dot(r, forward());
    v.f64()[i] = saved;
    const double numeric = (up - down) / (2 * kStep), a = analytic.f64()[i];
    const double scale = std::max({std::abs(a), std::abs(numeric), 1.0});
    EXPECT_NEAR(a / scale, numeric / scale, kTolerance) << what << " element " << i;
    ++checked;
  }
  EXPECT_GT(checked, v.numel() / 2) << what << ": too many elements skipped";
}

Tensor random64(const Shape& s, uint32_t seed, double scale = 1.0) { return test::random_tensor(s, seed, DType::f64, scale); }

void randomize_parameters(ParameterStore& store, uint32_t seed) {
  Tensor r = random64(store.values().shape(), seed, 0.5);
  store.values().copy_from(r);
  if (store.state().numel() > 0) {
    Tensor s = random64(store.state().shape(), seed + 1, 0.2);
    for (int64_t i = 0; i < s.numel(); ++i) s.f64()[i] = std::abs(s.f64()[i]) + 0.5;  // valid variances
    store.state().copy_from(s);
  }
}

TEST(LayerGradients, Conv2d3x3WithBias) {
  ParameterStore store;
  Conv2d conv(store, "c", 3, 4, 3, true);
  store.allocate(Device::cpu, DType::f64, 1);
  randomize_parameters(store, 2);
  Tensor x = random64({2, 3, 5, 6}, 3);
  Tensor r = random64({2, 4, 5, 6}, 4);
  auto forward = [&] { return conv.forward(x).clone(); };
  forward();
  store.zero_grads();
  Tensor dx = conv.backward(r).clone();
  check_gradient("conv3x3 dx", x, dx, r, forward);
  check_gradient("conv3x3 dweight", store.value(store.id("c.weight")), store.grad(store.id("c.weight")), r, forward);
  check_gradient("conv3x3 dbias", store.value(store.id("c.bias")), store.grad(store.id("c.bias")), r, forward);
}

TEST(LayerGradients, Conv2d1x1WithoutBias) {
  ParameterStore store;
  Conv2d conv(store, "c", 5, 2, 1, false);
  store.allocate(Device::cpu, DType::f64, 1);
  randomize_parameters(store, 5);
  Tensor x = random64({3, 5, 3, 4}, 6);
  Tensor r = random64({3, 2, 3, 4}, 7);
  auto forward = [&] { return conv.forward(x).clone(); };
  forward();
  store.zero_grads();
  Tensor dx = conv.backward(r).clone();
  check_gradient("conv1x1 dx", x, dx, r, forward);
  check_gradient("conv1x1 dweight", store.value(store.id("c.weight")), store.grad(store.id("c.weight")), r, forward);
}

TEST(LayerGradients, ConvTranspose2d) {
  ParameterStore store;
  ConvTranspose2d up(store, "u", 4, 3);
  store.allocate(Device::cpu, DType::f64, 1);
  randomize_parameters(store, 8);
  Tensor x = random64({2, 4, 3, 5}, 9);
  Tensor r = random64({2, 3, 6, 10}, 10);
  auto forward = [&] { return up.forward(x).clone(); };
  forward();
  store.zero_grads();
  Tensor dx = up.backward(r).clone();
  check_gradient("upconv dx", x, dx, r, forward);
  check_gradient("upconv dweight", store.value(store.id("u.weight")), store.grad(store.id("u.weight")), r, forward);
  check_gradient("upconv dbias", store.value(store.id("u.bias")), store.grad(store.id("u.bias")), r, forward);
}

TEST(LayerGradients, BatchNorm2dTraining) {
  ParameterStore store;
  BatchNorm2d bn(store, "bn", 3);
  store.allocate(Device::cpu, DType::f64, 1);
  randomize_parameters(store, 11);
  Tensor x = random64({2, 3, 4, 3}, 12, 2.0);
  Tensor r = random64({2, 3, 4, 3}, 13);
  // Training mode updates the running statistics each call; they do not affect the output.
  auto forward = [&] { return bn.forward(x, Mode{true, 0}).clone(); };
  forward();
  store.zero_grads();
  Tensor dy = r.clone();  // backward overwrites it with dx
  const Tensor& result = bn.backward(dy);
  EXPECT_EQ(result.raw(), dy.raw()) << "dx should be computed in dy's memory";
  Tensor dx = result.clone();
  check_gradient("batchnorm dx", x, dx, r, forward);
  check_gradient("batchnorm dgamma", store.value(store.id("bn.weight")), store.grad(store.id("bn.weight")), r, forward);
  check_gradient("batchnorm dbeta", store.value(store.id("bn.bias")), store.grad(store.id("bn.bias")), r, forward);
}

TEST(LayerGradients, MaxPool2dOddSizes) {
  MaxPool2d pool;
  Tensor x = random64({2, 2, 5, 7}, 14);
  Tensor r = random64({2, 2, 2, 3}, 15);
  auto forward = [&] { return pool.forward(x).clone(); };
  forward();
  Tensor dx = pool.backward(r).clone();
  // Skip inputs whose window holds a near-tie (the max would switch under the step).
  auto near_tie = [&](int64_t i) {
    const int64_t W = 7, H = 5, plane = i / (H * W), yx = i % (H * W), yy = yx / W, xx = yx % W;
    if (yy >= 4 || xx >= 6) return false;  // dropped row/column: no window, gradient 0
    const double* p = x.f64() + plane * H * W;
    const int64_t y0 = yy / 2 * 2, x0 = xx / 2 * 2;
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        if ((y0 + a != yy || x0 + b != xx) && std::abs(p[(y0 + a) * W + x0 + b] - p[i % (H * W)]) < 1e-3) return true;
    return false;
  };
  check_gradient("maxpool dx", x, dx, r, forward, near_tie);
}

TEST(LayerGradients, ReLUInPlace) {
  ReLU relu;
  Tensor x = random64({2, 3, 4, 4}, 16);
  Tensor r = random64({2, 3, 4, 4}, 17);
  auto forward = [&] {
    Tensor y = x.clone();
    relu.forward(y);
    return y;
  };
  forward();
  Tensor dx = r.clone();
  relu.backward(dx);
  check_gradient("relu dx", x, dx, r, forward, [&](int64_t i) { return std::abs(x.f64()[i]) < 1e-3; });
}

TEST(LayerGradients, DropoutInTraining) {
  Dropout dropout(0.3f, 5);
  const Mode mode{true, 99};
  Tensor x = random64({2, 3, 8, 8}, 18);
  Tensor r = random64({2, 3, 8, 8}, 19);
  auto forward = [&] {
    Tensor y = x.clone();
    dropout.forward(y, mode);
    return y;
  };
  Tensor y = forward();
  Tensor dx = r.clone();
  dropout.backward(dx);
  check_gradient("dropout dx", x, dx, r, forward);
  int dropped = 0;
  for (int64_t i = 0; i < y.numel(); ++i) dropped += y.f64()[i] == 0.0;
  EXPECT_GT(dropped, y.numel() / 10);  // the mask is really there
  EXPECT_LT(dropped, y.numel() / 2);
}

TEST(LayerGradients, Sigmoid) {
  Sigmoid sigmoid;
  Tensor x = random64({2, 2, 3, 3}, 20, 3.0);
  Tensor r = random64({2, 2, 3, 3}, 21);
  auto forward = [&] { return sigmoid.forward(x).clone(); };
  forward();
  Tensor dx = sigmoid.backward(r).clone();
  check_gradient("sigmoid dx", x, dx, r, forward);
}

TEST(LayerGradients, BinaryCrossEntropyOnLogits) {
  Tensor x = random64({2, 1, 4, 4}, 22, 3.0);
  Tensor target = random64({2, 1, 4, 4}, 23);
  for (int64_t i = 0; i < target.numel(); ++i) target.f64()[i] = target.f64()[i] > 0 ? 1.0 : 0.0;
  Tensor dx = Tensor::empty(x.shape(), Device::cpu, DType::f64);
  Tensor one = Tensor::zeros({1}, Device::cpu, DType::f64);
  one.f64()[0] = 1;
  auto forward = [&] {
    Tensor loss = Tensor::zeros({1}, Device::cpu, DType::f64);
    Tensor scratch = Tensor::empty(x.shape(), Device::cpu, DType::f64);
    ops::bce_with_logits(loss, scratch, x, target);
    return loss;
  };
  Tensor loss = Tensor::zeros({1}, Device::cpu, DType::f64);
  ops::bce_with_logits(loss, dx, x, target);
  check_gradient("bce dx", x, dx, one, forward);
}

TEST(LayerErrors, ShapeMismatchesAreClearErrors) {
  ParameterStore store;
  Conv2d conv(store, "c", 3, 4, 3, true);
  store.allocate(Device::cpu, DType::f32, 1);
  try {
    conv.forward(Tensor::zeros({1, 5, 8, 8}));
    FAIL() << "no error for 5 channels into a 3-channel conv";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("expects 3 input channels"), std::string::npos) << e.what();
  }
  MaxPool2d pool;
  EXPECT_THROW(pool.forward(Tensor::zeros({1, 1, 1, 4})), ShapeError);
  EXPECT_THROW(pool.forward(Tensor::zeros({4, 4})), ShapeError);
}

TEST(LayerErrors, SharedParametersAccumulateGradients) {
  // Two layer objects under one name share the weight; their gradients add up.
  ParameterStore store;
  Conv2d a(store, "shared", 2, 2, 3, true), b(store, "shared", 2, 2, 3, true);
  store.allocate(Device::cpu, DType::f64, 3);
  EXPECT_EQ(store.parameter_count(), 2 * 2 * 9 + 2);
  Tensor x = random64({1, 2, 4, 4}, 30), r = random64({1, 2, 4, 4}, 31);
  a.forward(x);
  b.forward(x);
  store.zero_grads();
  a.backward(r);
  Tensor once = store.grads().clone();
  b.backward(r);
  for (int64_t i = 0; i < once.numel(); ++i) EXPECT_DOUBLE_EQ(store.grads().f64()[i], 2 * once.f64()[i]);
}

}  // namespace
}  // namespace seqnet
