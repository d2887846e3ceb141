// activations.cpp: ReLU, Dropout and Sigmoid layers (activations.h).
#include "layers/activations.h"

#include "kernels/dropout_hash.h"
#include "kernels/ops.h"
#include "layers/parameters.h"

namespace seqnet {

void ReLU::forward(Tensor& x) {
  ops::relu_forward(x, x);
  y_ = x;
}

void ReLU::backward(Tensor& dy) { ops::relu_backward(dy, dy, y_); }

Dropout::Mask Dropout::mask(const Mode& mode) const {
  if (!mode.training || p_ == 0.0f) return {0.0f, 0};
  return {p_, mix64(mode.step_seed ^ mix64(id_))};
}

void Dropout::forward(Tensor& x, const Mode& mode) {
  const Mask m = mask(mode);
  active_ = m.p > 0.0f;
  if (!active_) return;
  seed_ = m.seed;
  ops::dropout_forward(x, x, p_, seed_);
}

void Dropout::backward(Tensor& dy) {
  if (active_) ops::dropout_backward(dy, dy, p_, seed_);
}

const Tensor& Sigmoid::forward(const Tensor& x) {
  ensure_tensor(y_, x.shape(), x.device(), x.dtype());
  ops::sigmoid_forward(y_, x);
  return y_;
}

const Tensor& Sigmoid::backward(const Tensor& dy) {
  ensure_tensor(dx_, y_.shape(), y_.device(), y_.dtype());
  ops::sigmoid_backward(dx_, dy, y_);
  return dx_;
}

}  // namespace seqnet
