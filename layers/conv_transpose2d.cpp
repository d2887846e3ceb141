// conv_transpose2d.cpp: the ConvTranspose2d layer (conv_transpose2d.h).
#include "layers/conv_transpose2d.h"

#include "kernels/ops.h"

namespace seqnet {

ConvTranspose2d::ConvTranspose2d(ParameterStore& store, const std::string& name, int in_channels, int out_channels)
    : store_(store), in_(in_channels), out_(out_channels) {
  // Keras' Conv2DTranspose fans: the kernel is (2,2,out,in), so fan_in = 4*out, fan_out = 4*in.
  weight_ = store.add_parameter(name + ".weight", {in_, out_, 2, 2}, Init::glorot_uniform, 4 * int64_t(out_),
                                4 * int64_t(in_));
  bias_ = store.add_parameter(name + ".bias", {out_}, Init::zeros);
}

const Tensor& ConvTranspose2d::forward(const Tensor& x) {
  x_ = x;
  const Shape& s = x.shape();
  ensure_tensor(y_, {s.n(), out_, 2 * s.h(), 2 * s.w()}, x.device(), x.dtype());
  ops::conv_transpose2x2_forward(y_, x, store_.value(weight_), store_.value(bias_));
  return y_;
}

const Tensor& ConvTranspose2d::backward(const Tensor& dy) {
  Tensor dw = store_.grad(weight_), db = store_.grad(bias_);
  ops::conv_transpose2x2_backward_weight(dw, dy, x_);
  ops::bias_backward(db, dy);
  ensure_tensor(dx_, x_.shape(), x_.device(), x_.dtype());
  ops::conv_transpose2x2_backward_input(dx_, dy, store_.value(weight_));
  return dx_;
}

void ConvTranspose2d::release() { x_ = y_ = dx_ = Tensor(); }

}  // namespace seqnet
