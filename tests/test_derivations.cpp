// test_derivations.cpp: the worked examples of docs/DERIVATIONS.md that are not checked elsewhere:
// the 4x4 im2col example (worked out by hand on that page) and batch norm's refusal to run a
// backward pass after an evaluation-mode forward.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/reference.h"
#include "layers/batchnorm2d.h"
#include "test_support.h"

namespace seqnet {
namespace {

// One channel, a 4x4 image holding 1..16, the Laplacian kernel, no bias: inside, the Laplacian
// of a linear ramp is 0; the zero padding makes the borders non-zero.
TEST(Derivations, Im2colWorkedExample) {
  std::vector<float> x(16), w = {0, 1, 0, 1, -4, 1, 0, 1, 0};
  for (int i = 0; i < 16; ++i) x[i] = float(i + 1);
  const std::vector<float> by_hand = {3, 2, 1, -5, -4, 0, 0, -9, -8, 0, 0, -13, -29, -18, -19, -37};
  std::vector<float> y(16), y_fast(16), workspace(cpu::conv2d_workspace_size(1, 4, 4, 3));
  cpu::reference::conv2d_forward(y.data(), x.data(), w.data(), static_cast<const float*>(nullptr), 1, 1, 4, 4, 1, 3);
  cpu::conv2d_forward(y_fast.data(), x.data(), w.data(), static_cast<const float*>(nullptr), workspace.data(), 1, 1, 4,
                      4, 1, 3);
  EXPECT_EQ(y, by_hand);
  EXPECT_EQ(y_fast, by_hand);
}

TEST(Derivations, BatchNormHasNoEvaluationBackward) {
  ParameterStore store;
  BatchNorm2d bn(store, "bn", 2);
  store.allocate(Device::cpu, DType::f64, 1);
  const Tensor x = test::random_tensor({1, 2, 3, 3}, 5, DType::f64);
  bn.forward(x, Mode{false, 0});
  Tensor dy = test::random_tensor({1, 2, 3, 3}, 6, DType::f64);
  EXPECT_THROW(bn.backward(dy), std::logic_error);
}

}  // namespace
}  // namespace seqnet
