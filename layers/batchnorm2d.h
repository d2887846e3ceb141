// batchnorm2d.h: BatchNorm2d layer, eps 1e-5, momentum 0.1 (PyTorch convention).
//
// Training  y = gamma (x - mean_B) / sqrt(var_B + eps) + beta, batch statistics over (N,H,W);
//           running = 0.9 running + 0.1 batch (running variance unbiased)
// Eval      the same with the running statistics
// Backward  dx = gamma rstd (dy - mean(dy) - xhat mean(dy xhat)); dgamma += sum dy xhat;
//           dbeta += sum dy   (kernels/cpu/batchnorm.h)
// Fused (training): y = dropout(relu(bn(x))) and its backward in one op each (kernels/ops.h).
// With Mode::batchnorm_sync the training statistics and the backward's means cover every rank's
// batch (synchronised batch-norm of data-parallel training).
#pragma once

#include <string>

#include "layers/activations.h"
#include "layers/mode.h"
#include "layers/parameters.h"

namespace seqnet {

class BatchNorm2d {
 public:
  static constexpr double kEps = 1e-5;
  static constexpr double kMomentum = 0.1;

  // Declares "<name>.weight", ".bias" (trainable), ".running_mean", ".running_var" (state).
  BatchNorm2d(ParameterStore& store, const std::string& name, int channels);
  const Tensor& forward(const Tensor& x, const Mode& mode);
  // After a training-mode forward only. dy is overwritten with dx, which is returned: the
  // kernel makes its sums over dy before it writes dx, so no separate buffer is needed (one
  // map less per batch-norm in a training step).
  const Tensor& backward(Tensor& dy);
  // Training only: y = dropout(relu(bn(x))) in one op (ops::batchnorm_relu_dropout_forward_train),
  // with the mask of a Dropout layer (`mask.p` 0: none), for DoubleConv. backward() then takes
  // the dropout and the ReLU back too, reading their mask from y: y must stay unchanged until then.
  const Tensor& forward_relu_dropout(const Tensor& x, const Mode& mode, const Dropout::Mask& mask);
  // Drops every buffer and handle this layer holds; the next forward plans its memory again.
  // Evaluation passes call it once they hold the output, so each map is freed by its last user.
  void release();

  // The four per-channel tensors, for an op that applies the evaluation-mode normalisation
  // itself (ops::conv2d_batchnorm_relu_eval).
  struct Parameters {
    Tensor gamma, beta, running_mean, running_var;
  };
  Parameters parameters() const {
    return {store_.value(gamma_), store_.value(beta_), store_.value(running_mean_), store_.value(running_var_)};
  }

 private:
  ParameterStore& store_;
  int channels_;
  int gamma_, beta_, running_mean_, running_var_;
  Tensor x_, y_, mean_, rstd_;
  bool trained_forward_ = false;
  bool fused_ = false;  // the forward was forward_relu_dropout, with dropout probability p_
  float p_ = 0.0f;
  const BatchNormSync* sync_ = nullptr;  // the forward's, for backward
};

}  // namespace seqnet
