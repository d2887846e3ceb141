// loss.cpp: SeqNetLoss (loss.h).
#include "model/loss.h"

#include "kernels/ops.h"
#include "layers/parameters.h"

namespace seqnet {

const Tensor& SeqNetLoss::forward_backward(const SeqNetOutputs& logits, const SeqNetTargets& t) {
  const Tensor& first = logits.seg.front();
  ensure_tensor(loss_, {1}, first.device(), first.dtype());
  loss_.zero();
  d_logits_.seg.resize(logits.seg.size());
  d_logits_.cls.resize(logits.cls.size());
  for (size_t k = 0; k < logits.seg.size(); ++k) {
    const Tensor& s = logits.seg[k];
    ensure_tensor(d_logits_.seg[k], s.shape(), s.device(), s.dtype());
    ops::bce_with_logits(loss_, d_logits_.seg[k], s, t.vessel);
  }
  // The cls logits hold artery in channel 0 and vein in channel 1: each is its own BCE term.
  const Tensor* class_target[2] = {&t.artery, &t.vein};
  for (size_t k = 0; k < logits.cls.size(); ++k) {
    const Tensor& c = logits.cls[k];
    ensure_tensor(d_logits_.cls[k], c.shape(), c.device(), c.dtype());
    const Shape one{c.shape().n(), 1, c.shape().h(), c.shape().w()};
    ensure_tensor(channel_, one, c.device(), c.dtype());
    ensure_tensor(d_channel_, one, c.device(), c.dtype());
    for (int ch = 0; ch < 2; ++ch) {
      ops::copy_from_channels(channel_, c, ch);
      ops::bce_with_logits(loss_, d_channel_, channel_, *class_target[ch]);
      ops::copy_into_channels(d_logits_.cls[k], d_channel_, ch);
    }
  }
  return loss_;
}

double SeqNetLoss::value() const { return loss_.to_doubles().at(0); }

}  // namespace seqnet
