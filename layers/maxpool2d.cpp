// maxpool2d.cpp: the MaxPool2d layer (maxpool2d.h).
#include "layers/maxpool2d.h"

#include "kernels/ops.h"
#include "layers/parameters.h"

namespace seqnet {

const Tensor& MaxPool2d::forward(const Tensor& x) {
  input_shape_ = x.shape();
  const Shape out{x.shape().n(), x.shape().c(), x.shape().h() / 2, x.shape().w() / 2};
  ensure_tensor(y_, out, x.device(), x.dtype());
  ensure_tensor(argmax_, out, x.device(), DType::i32);
  ops::maxpool2x2_forward(y_, argmax_, x);
  return y_;
}

const Tensor& MaxPool2d::backward(const Tensor& dy) {
  ensure_tensor(dx_, input_shape_, dy.device(), dy.dtype());
  ops::maxpool2x2_backward(dx_, dy, argmax_);
  return dx_;
}

void MaxPool2d::release() { y_ = argmax_ = dx_ = Tensor(); }

}  // namespace seqnet
