// test_tensor.cpp: Tensor storage, views, copies and shape errors.
#include <gtest/gtest.h>

#include "kernels/tensor.h"

namespace seqnet {

TEST(Tensor, ZerosHaveTheShapeAndAreZero) {
  Tensor t = Tensor::zeros({2, 3, 4, 5});
  EXPECT_EQ(t.numel(), 120);
  EXPECT_EQ(t.shape().str(), "(2,3,4,5)");
  for (double v : t.to_doubles()) EXPECT_EQ(v, 0.0);
}

TEST(Tensor, ReshapeKeepsStorageAndRejectsOtherSizes) {
  Tensor t = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor r = t.reshaped({3, 2});
  r.f32()[0] = 42;
  EXPECT_EQ(t.f32()[0], 42);
  EXPECT_THROW(t.reshaped({4, 2}), ShapeError);
}

TEST(Tensor, SliceOfFirstDimensionIsAView) {
  Tensor t = Tensor::from_vector({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor s = t.slice0(1, 2);
  EXPECT_EQ(s.shape(), Shape({2, 2}));
  EXPECT_EQ(s.f32()[0], 3);
  EXPECT_THROW(t.slice0(2, 2), ShapeError);
}

TEST(Tensor, DTypeConversionRoundTrips) {
  Tensor t = Tensor::from_vector({3}, {0.5f, -1.25f, 3.0f});
  Tensor d = t.to(DType::f64);
  EXPECT_EQ(d.f64()[1], -1.25);
  EXPECT_THROW(t.f64(), std::runtime_error);
  EXPECT_EQ(d.to(DType::f32).to_floats(), t.to_floats());
}

TEST(Tensor, ShapeErrorsNameWhatWasExpected) {
  Tensor t = Tensor::zeros({1, 2, 3});
  try {
    expect_shape(t, {1, 2, 4}, "conv input");
    FAIL() << "no error";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("conv input: expected shape (1,2,4), got (1,2,3)"), std::string::npos);
  }
  EXPECT_THROW(t.shape().n(), ShapeError);  // not an image tensor
}

TEST(Tensor, CopyFromChecksShapeAndType) {
  Tensor a = Tensor::zeros({4});
  Tensor b = Tensor::from_vector({4}, {1, 2, 3, 4});
  a.copy_from(b);
  EXPECT_EQ(a.to_floats(), b.to_floats());
  EXPECT_THROW(a.copy_from(Tensor::zeros({5})), ShapeError);
}

}  // namespace seqnet
