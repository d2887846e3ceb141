// branch.cpp: Branch (branch.h).
#include "model/branch.h"

#include "kernels/ops.h"
#include "model/trace.h"

namespace seqnet {

Branch::Branch(ParameterStore& store, const std::string& name, int out_channels, int iterations, int width,
               const ModelConfig& cfg, uint64_t& dropout_id)
    : name_(name), unet_(store, name + ".unet", 3, width, cfg.depth, cfg.norm, cfg.dropout, dropout_id) {
  if (iterations > 0)
    refiner_ = std::make_unique<Refiner>(store, name + ".refine", width, cfg.refine_depth, iterations, cfg.norm,
                                         cfg.dropout, dropout_id);
  for (int k = 0; k <= iterations; ++k)
    heads_.push_back(std::make_unique<Conv2d>(store, name + ".heads." + std::to_string(k), width, out_channels, 1, true));
}

const std::vector<Tensor>& Branch::forward(const Tensor& x, const Mode& mode) {
  features_.assign(1, unet_.forward(x, mode));
  if (refiner_) {
    std::vector<Tensor> refined = refiner_->forward(features_[0], unet_.first_features(), mode);
    features_.insert(features_.end(), refined.begin(), refined.end());
  }
  logits_.clear();
  for (size_t k = 0; k < heads_.size(); ++k) {
    logits_.push_back(heads_[k]->forward(features_[k]));
    trace_layer(TracePass::forward, logits_.back(), name_, ".heads.", int(k));
    if (!mode.training) {  // evaluation: the logits' handles are all that stays
      heads_[k]->release();
      features_[k] = Tensor();
    }
  }
  return logits_;
}

const Tensor& Branch::backward(const std::vector<Tensor>& d_logits, bool input_grad) {
  // Each head's input gradient is a fresh buffer of its own, so the refiner may consume it.
  d_features_.resize(heads_.size());
  for (size_t k = 0; k < heads_.size(); ++k) {
    trace_layer(TracePass::backward, d_logits[k], name_, ".heads.", int(k));
    d_features_[k] = heads_[k]->backward(d_logits[k]);
  }
  const Tensor& first = unet_.first_features();
  ensure_tensor(d_first_, first.shape(), first.device(), first.dtype());
  d_first_.zero();
  Tensor d_unet_out = d_features_[0];
  if (refiner_) {
    std::vector<Tensor> d_refined(d_features_.begin() + 1, d_features_.end());
    ops::add_inplace(d_unet_out, refiner_->backward(d_refined, d_first_));
  }
  return unet_.backward(d_unet_out, d_first_, input_grad);
}

void Branch::release() {
  unet_.release();
  if (refiner_) refiner_->release();
  for (auto& head : heads_) head->release();
  features_.clear();
  logits_.clear();
  d_features_.clear();
  d_first_ = Tensor();
}

}  // namespace seqnet
