// test_op_timer.cpp: the per-op and per-(op, shape) totals behind `seqnet bench --profile`.
#include <gtest/gtest.h>

#include "kernels/op_timer.h"
#include "kernels/ops.h"
#include "test_support.h"

namespace seqnet {
namespace {

// Switches timing on for a test and off again, whatever happens.
struct TimingOn {
  TimingOn() {
    ops::reset_op_times();
    ops::set_op_timing(true);
  }
  ~TimingOn() { ops::set_op_timing(false); }
};

TEST(OpTimer, CountsEachOpAndEachConvolutionShape) {
  Tensor x = test::random_tensor({1, 2, 5, 7}, 1), w = test::random_tensor({3, 2, 3, 3}, 2);
  Tensor y = Tensor::empty({1, 3, 5, 7}), x_wide = test::random_tensor({2, 2, 4, 9}, 3);
  Tensor y_wide = Tensor::empty({2, 3, 4, 9});
  {
    TimingOn timing;
    ops::conv2d_forward(y, x, w, nullptr);
    ops::conv2d_forward(y, x, w, nullptr);
    ops::conv2d_forward(y_wide, x_wide, w, nullptr);
    ops::relu_forward(y, y);
  }
  int64_t conv_calls = -1, relu_calls = -1;
  for (const ops::OpTime& t : ops::op_times()) {
    EXPECT_TRUE(t.shape.empty());
    EXPECT_GE(t.seconds, 0.0);
    if (t.op == "conv2d_forward") conv_calls = t.calls;
    if (t.op == "relu_forward") relu_calls = t.calls;
  }
  EXPECT_EQ(conv_calls, 3);
  EXPECT_EQ(relu_calls, 1);

  // The shapes: two calls of one, one of the other; ReLU describes none.
  const std::vector<ops::OpTime> shapes = ops::op_shape_times();
  ASSERT_EQ(shapes.size(), 2u);
  for (const ops::OpTime& t : shapes) {
    EXPECT_EQ(t.op, "conv2d_forward");
    if (t.shape == "N1 C2>K3 5x7 k3") EXPECT_EQ(t.calls, 2);
    else if (t.shape == "N2 C2>K3 4x9 k3") EXPECT_EQ(t.calls, 1);
    else ADD_FAILURE() << "unexpected shape " << t.shape;
  }
}

TEST(OpTimer, OffRecordsNothing) {
  ops::reset_op_times();
  Tensor x = test::random_tensor({1, 1, 3, 3}, 4), y = Tensor::empty({1, 1, 3, 3});
  ops::relu_forward(y, x);
  EXPECT_TRUE(ops::op_times().empty());
  EXPECT_TRUE(ops::op_shape_times().empty());
}

}  // namespace
}  // namespace seqnet
