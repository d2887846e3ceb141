// conv2d.cpp: the Conv2d layer (conv2d.h).
#include "layers/conv2d.h"

#include "kernels/ops.h"

namespace seqnet {

Conv2d::Conv2d(ParameterStore& store, const std::string& name, int in_channels, int out_channels, int ksize, bool bias)
    : store_(store), in_(in_channels), out_(out_channels), k_(ksize) {
  // Keras' Glorot fans for a conv kernel: receptive field times channels on each side.
  weight_ = store.add_parameter(name + ".weight", {out_, in_, k_, k_}, Init::glorot_uniform, int64_t(in_) * k_ * k_,
                                int64_t(out_) * k_ * k_);
  if (bias) bias_ = store.add_parameter(name + ".bias", {out_}, Init::zeros);
}

const Tensor& Conv2d::forward(const Tensor& x) {
  x_ = x;
  const Shape& s = x.shape();
  ensure_tensor(y_, {s.n(), out_, s.h(), s.w()}, x.device(), x.dtype());
  Tensor b = bias_ >= 0 ? store_.value(bias_) : Tensor();
  ops::conv2d_forward(y_, x, store_.value(weight_), bias_ >= 0 ? &b : nullptr);
  return y_;
}

const Tensor& Conv2d::backward(const Tensor& dy, bool input_grad) {
  Tensor dw = store_.grad(weight_);
  ops::conv2d_backward_weight(dw, dy, x_);
  if (bias_ >= 0) {
    Tensor db = store_.grad(bias_);
    ops::bias_backward(db, dy);
  }
  if (!input_grad) {
    static const Tensor none;
    return none;
  }
  ensure_tensor(dx_, x_.shape(), x_.device(), x_.dtype());
  ops::conv2d_backward_input(dx_, dy, store_.value(weight_));
  return dx_;
}

void Conv2d::release() { x_ = y_ = dx_ = Tensor(); }

}  // namespace seqnet
