// branch.h: Branch(cout) = UNet(3, w, depth) + Refiner + one 1x1 head per feature map (w: the
// branch's width, ModelConfig::segmentation_width or classification_width).
//
// Head k (Conv2d w -> cout, bias) reads the k-th feature map: k = 0 the UNet's output, k >= 1 the
// refiner's iteration k-1. Each head's logits are an output of the model; the loss sums them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/refiner.h"
#include "model/unet.h"

namespace seqnet {

class Branch {
 public:
  Branch(ParameterStore& store, const std::string& name, int out_channels, int iterations, int width,
         const ModelConfig& cfg, uint64_t& dropout_id);
  // Logits of every head, (N, out_channels, H, W) each.
  const std::vector<Tensor>& forward(const Tensor& x, const Mode& mode);
  // d_logits[k]: gradient of head k's logits. Parameter gradients accumulate; returns the
  // gradient of x when input_grad, else an undefined tensor.
  const Tensor& backward(const std::vector<Tensor>& d_logits, bool input_grad);
  // Drops every buffer of this block and its layers (an evaluation forward starts with it).
  void release();

 private:
  std::string name_;  // for the trace (model/trace.h)
  UNet unet_;
  std::unique_ptr<Refiner> refiner_;
  std::vector<std::unique_ptr<Conv2d>> heads_;
  std::vector<Tensor> features_, logits_, d_features_;
  Tensor d_first_;
};

}  // namespace seqnet
