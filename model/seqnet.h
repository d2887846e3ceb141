// seqnet.h: the whole model: segmentation branch, "Block BP", classification branch.
//
//   x (N,3,H,W) -> seg branch -> s_0..s_T (N,1,H,W)
//   m = sigmoid(s_T) * x, with the gradient stopped there (no backward through m)
//   m -> cls branch -> c_0..c_U (N,2,H,W): channel 0 artery, channel 1 vein
//
// The model owns its ParameterStore; activation memory is planned by the first forward of each
// input shape and reused by every later step of that shape. Evaluation forwards draw their maps
// from a BufferPool the model keeps until the next training forward (or release_buffers()).
#pragma once

#include <vector>

#include "model/branch.h"
#include "model/config.h"

namespace seqnet {

struct SeqNetOutputs {
  std::vector<Tensor> seg;  // logits s_0..s_T
  std::vector<Tensor> cls;  // logits c_0..c_U
};

class SeqNet {
 public:
  // Builds the model and initialises it (Glorot weights, zero biases) from `seed`.
  SeqNet(const ModelConfig& config, Device device = Device::cpu, DType dtype = DType::f32, uint64_t seed = 0);

  // x: (N,3,H,W) with H, W multiples of config().size_multiple(). Returns logits.
  const SeqNetOutputs& forward(const Tensor& x, const Mode& mode);
  // Gradients of the logits in; parameter gradients accumulate (+=) in params().grads().
  void backward(const SeqNetOutputs& d_logits);

  const ModelConfig& config() const { return config_; }
  ParameterStore& params() { return store_; }
  const ParameterStore& params() const { return store_; }
  Device device() const { return store_.device(); }
  // Frees the evaluation buffers (the training buffers are freed by an evaluation forward).
  void release_buffers() { eval_buffers_.clear(); }

 private:
  ModelConfig config_;
  ParameterStore store_;
  uint64_t dropout_id_ = 0;
  Branch seg_, cls_;
  SeqNetOutputs out_;
  Tensor seg_prob_, cls_input_;
  BufferPool eval_buffers_;
  bool training_buffers_held_ = false;  // a training forward ran since the last evaluation
};

}  // namespace seqnet
