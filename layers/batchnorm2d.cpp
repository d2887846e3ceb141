// batchnorm2d.cpp: the BatchNorm2d layer (batchnorm2d.h).
#include "layers/batchnorm2d.h"

#include <stdexcept>

#include "kernels/ops.h"

namespace seqnet {

BatchNorm2d::BatchNorm2d(ParameterStore& store, const std::string& name, int channels)
    : store_(store), channels_(channels) {
  gamma_ = store.add_parameter(name + ".weight", {channels}, Init::ones);
  beta_ = store.add_parameter(name + ".bias", {channels}, Init::zeros);
  running_mean_ = store.add_buffer(name + ".running_mean", {channels}, Init::zeros);
  running_var_ = store.add_buffer(name + ".running_var", {channels}, Init::ones);
}

const Tensor& BatchNorm2d::forward(const Tensor& x, const Mode& mode) {
  x_ = x;
  ensure_tensor(y_, x.shape(), x.device(), x.dtype());
  if (mode.training) {
    ensure_tensor(mean_, {channels_}, x.device(), x.dtype());
    ensure_tensor(rstd_, {channels_}, x.device(), x.dtype());
    Tensor rm = store_.value(running_mean_), rv = store_.value(running_var_);
    ops::batchnorm_forward_train(y_, mean_, rstd_, rm, rv, x, store_.value(gamma_), store_.value(beta_), kEps,
                                 kMomentum, mode.batchnorm_sync);
  } else {
    ops::batchnorm_forward_eval(y_, x, store_.value(gamma_), store_.value(beta_), store_.value(running_mean_),
                                store_.value(running_var_), kEps);
  }
  trained_forward_ = mode.training;
  fused_ = false;
  sync_ = mode.batchnorm_sync;
  return y_;
}

const Tensor& BatchNorm2d::forward_relu_dropout(const Tensor& x, const Mode& mode, const Dropout::Mask& mask) {
  if (!mode.training) throw std::logic_error("BatchNorm2d::forward_relu_dropout is for training");
  x_ = x;
  ensure_tensor(y_, x.shape(), x.device(), x.dtype());
  ensure_tensor(mean_, {channels_}, x.device(), x.dtype());
  ensure_tensor(rstd_, {channels_}, x.device(), x.dtype());
  Tensor rm = store_.value(running_mean_), rv = store_.value(running_var_);
  ops::batchnorm_relu_dropout_forward_train(y_, mean_, rstd_, rm, rv, x, store_.value(gamma_), store_.value(beta_),
                                            kEps, kMomentum, mask.p, mask.seed, mode.batchnorm_sync);
  trained_forward_ = true;
  fused_ = true;
  p_ = mask.p;
  sync_ = mode.batchnorm_sync;
  return y_;
}

const Tensor& BatchNorm2d::backward(Tensor& dy) {
  if (!trained_forward_) throw std::logic_error("BatchNorm2d::backward after an evaluation-mode forward");
  Tensor dgamma = store_.grad(gamma_), dbeta = store_.grad(beta_);
  if (fused_)
    ops::batchnorm_relu_dropout_backward(dy, dgamma, dbeta, dy, x_, y_, store_.value(gamma_), mean_, rstd_, p_,
                                         sync_);
  else
    ops::batchnorm_backward(dy, dgamma, dbeta, dy, x_, store_.value(gamma_), mean_, rstd_, sync_);
  return dy;
}

void BatchNorm2d::release() {
  x_ = y_ = mean_ = rstd_ = Tensor();
  trained_forward_ = fused_ = false;
  sync_ = nullptr;
}

}  // namespace seqnet
