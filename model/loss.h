// loss.h: SeqNet's training loss and its gradient with respect to every head's logits.
//
//   L = sum_k BCE(s_k, vessel) + sum_k [ BCE(c_k[:,0], artery) + BCE(c_k[:,1], vein) ]
//
// BCE is the mean binary cross-entropy on logits (kernels/cpu/loss.h); every head weighs 1.
#pragma once

#include "model/seqnet.h"

namespace seqnet {

struct SeqNetTargets {
  Tensor vessel, artery, vein;  // (N,1,H,W) each, 0/1
};

class SeqNetLoss {
 public:
  // Computes L into a device scalar and fills d_logits (same shapes as the logits). Returns
  // the loss tensor (1 element, on the model's device); read it with value().
  const Tensor& forward_backward(const SeqNetOutputs& logits, const SeqNetTargets& targets);
  double value() const;  // waits for the device
  const SeqNetOutputs& gradients() const { return d_logits_; }

 private:
  Tensor loss_;
  SeqNetOutputs d_logits_;
  Tensor channel_, d_channel_;  // one class channel of the cls logits and its gradient
};

}  // namespace seqnet
