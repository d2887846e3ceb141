// double_conv.h: DoubleConv(cin, cout) = two stages of conv3x3 -> [BatchNorm] -> ReLU -> Dropout.
//
// With norm=batch the convs have no bias (BatchNorm's beta does that job); with norm=none they
// have one. Parameter names: <name>.conv1.weight, <name>.bn1.weight, ... as in PyTorch.
#pragma once

#include <optional>
#include <string>

#include "layers/activations.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "model/config.h"

namespace seqnet {

class DoubleConv {
 public:
  // dropout_id: a counter shared by the whole model so every Dropout draws its own mask.
  DoubleConv(ParameterStore& store, const std::string& name, int in_channels, int out_channels, Norm norm,
             float dropout, uint64_t& dropout_id);

  // In training the layers keep what backward needs (planned once per shape). In evaluation
  // they keep nothing: the returned handle is the output's only owner, so each map is freed as
  // soon as its consumer is done with it.
  Tensor forward(const Tensor& x, const Mode& mode);
  // dy is consumed (overwritten). Returns dx, undefined when input_grad is false.
  const Tensor& backward(Tensor& dy, bool input_grad = true);
  // Drops every buffer of this block and its layers (an evaluation forward starts with it).
  void release();

 private:
  struct Stage {
    Conv2d conv;
    std::optional<BatchNorm2d> bn;
    ReLU relu;
    Dropout dropout;
    std::string name;  // "<block name>.", then conv1/bn1/... with the stage's index, for the trace
    std::string index;
    bool fused = false;  // the last forward ran batch-norm, ReLU and dropout as one op (training)
  };
  static Stage make_stage(ParameterStore& store, const std::string& name, int index, int in, int out, Norm norm,
                          float dropout, uint64_t& dropout_id);
  Tensor forward_stage(Stage& s, const Tensor& x, const Mode& mode);
  static Tensor fused_eval_stage(Stage& s, const Tensor& x);
  static Tensor fused_training_stage(Stage& s, const Tensor& x, const Mode& mode);
  const Tensor& backward_stage(Stage& s, Tensor& dy, bool input_grad);
  static void release_stage(Stage& s);

  Stage first_, second_;
};

}  // namespace seqnet
