// double_conv.cpp: DoubleConv (double_conv.h).
#include "model/double_conv.h"

#include "kernels/ops.h"
#include "model/trace.h"

namespace seqnet {

DoubleConv::Stage DoubleConv::make_stage(ParameterStore& store, const std::string& name, int index, int in, int out,
                                         Norm norm, float dropout, uint64_t& dropout_id) {
  const std::string i = std::to_string(index);
  Stage s{Conv2d(store, name + ".conv" + i, in, out, 3, norm == Norm::none), std::nullopt, ReLU(),
          Dropout(dropout, dropout_id++), name + ".", i};
  if (norm == Norm::batch) s.bn.emplace(store, name + ".bn" + i, out);
  return s;
}

DoubleConv::DoubleConv(ParameterStore& store, const std::string& name, int in_channels, int out_channels, Norm norm,
                       float dropout, uint64_t& dropout_id)
    : first_(make_stage(store, name, 1, in_channels, out_channels, norm, dropout, dropout_id)),
      second_(make_stage(store, name, 2, out_channels, out_channels, norm, dropout, dropout_id)) {}

Tensor DoubleConv::forward_stage(Stage& s, const Tensor& x, const Mode& mode) {
  if (!mode.training && s.bn) return fused_eval_stage(s, x);
  s.fused = mode.training && s.bn && !tracing();
  if (s.fused) return fused_training_stage(s, x, mode);
  // The stage's output is the conv's (or BN's) buffer, then ReLU and Dropout work in place.
  Tensor out = s.conv.forward(x);
  trace_layer(TracePass::forward, out, s.name, "conv", s.index);
  if (s.bn) {
    out = s.bn->forward(out, mode);
    trace_layer(TracePass::forward, out, s.name, "bn", s.index);
  }
  s.relu.forward(out);
  trace_layer(TracePass::forward, out, s.name, "relu", s.index);
  s.dropout.forward(out, mode);
  trace_layer(TracePass::forward, out, s.name, "drop", s.index);
  if (!mode.training) release_stage(s);
  return out;
}

// Evaluation with batch-norm: conv, normalisation with the running statistics and ReLU in one op
// (Dropout is the identity in evaluation). On the CPU that saves two passes over every map.
Tensor DoubleConv::fused_eval_stage(Stage& s, const Tensor& x) {
  const Shape& in = x.shape();
  Tensor y;
  ensure_tensor(y, {in.n(), s.conv.out_channels(), in.h(), in.w()}, x.device(), x.dtype());
  const Tensor bias = s.conv.bias();
  const BatchNorm2d::Parameters bn = s.bn->parameters();
  ops::conv2d_batchnorm_relu_eval(y, x, s.conv.weight(), bias.defined() ? &bias : nullptr, bn.gamma, bn.beta,
                                  bn.running_mean, bn.running_var, BatchNorm2d::kEps);
  release_stage(s);  // a training forward before may have left buffers
  return y;
}

// Training with batch-norm: the conv, then batch-norm, ReLU and the Dropout layer's mask in one
// op, whose backward (BatchNorm2d::backward) takes all three back. Not while tracing: the
// batch-norm output is never stored.
Tensor DoubleConv::fused_training_stage(Stage& s, const Tensor& x, const Mode& mode) {
  s.relu.release();  // an unfused forward before (a trace) may have left its handle
  const Tensor& y = s.conv.forward(x);
  return s.bn->forward_relu_dropout(y, mode, s.dropout.mask(mode));
}

void DoubleConv::release_stage(Stage& s) {
  s.conv.release();
  if (s.bn) s.bn->release();
  s.relu.release();
}

void DoubleConv::release() {
  release_stage(first_);
  release_stage(second_);
}

const Tensor& DoubleConv::backward_stage(Stage& s, Tensor& dy, bool input_grad) {
  if (s.fused) return s.conv.backward(s.bn->backward(dy), input_grad);
  // Each report is the gradient the layer receives, dL/d(its output), before it is consumed.
  trace_layer(TracePass::backward, dy, s.name, "drop", s.index);
  s.dropout.backward(dy);
  trace_layer(TracePass::backward, dy, s.name, "relu", s.index);
  s.relu.backward(dy);
  if (s.bn) {
    trace_layer(TracePass::backward, dy, s.name, "bn", s.index);
    const Tensor& d = s.bn->backward(dy);
    trace_layer(TracePass::backward, d, s.name, "conv", s.index);
    return s.conv.backward(d, input_grad);
  }
  trace_layer(TracePass::backward, dy, s.name, "conv", s.index);
  return s.conv.backward(dy, input_grad);
}

Tensor DoubleConv::forward(const Tensor& x, const Mode& mode) {
  return forward_stage(second_, forward_stage(first_, x, mode), mode);
}

const Tensor& DoubleConv::backward(Tensor& dy, bool input_grad) {
  // The first stage's conv returns its own dx buffer, which the second stage may overwrite.
  Tensor d = backward_stage(second_, dy, true);
  return backward_stage(first_, d, input_grad);
}

}  // namespace seqnet
