// loss.cpp: SeqNetLoss (loss.h).
#include "model/loss.h"

#include <numeric>
#include <stdexcept>

#include "kernels/ops.h"
#include "layers/parameters.h"

namespace seqnet {

std::string to_string(ArteryVeinLoss region) { return region == ArteryVeinLoss::all_pixels ? "all" : "vessel"; }

ArteryVeinLoss artery_vein_loss_from(const std::string& name) {
  if (name == "all") return ArteryVeinLoss::all_pixels;
  if (name == "vessel") return ArteryVeinLoss::vessel_pixels;
  throw std::invalid_argument("artery/vein loss region must be 'all' or 'vessel', got '" + name + "'");
}

std::string to_string(HeadWeights weights) { return weights == HeadWeights::rising ? "rising" : "equal"; }

HeadWeights head_weights_from(const std::string& name) {
  if (name == "equal") return HeadWeights::equal;
  if (name == "rising") return HeadWeights::rising;
  throw std::invalid_argument("head weights must be 'equal' or 'rising', got '" + name + "'");
}

double head_weight(HeadWeights weights, int head, int heads) {
  return weights == HeadWeights::rising ? 2.0 * (head + 1) / (heads + 1) : 1.0;
}

const Tensor& SeqNetLoss::forward_backward(const SeqNetOutputs& logits, const SeqNetTargets& t) {
  const Tensor& first = logits.seg.front();
  ensure_tensor(loss_, {1}, first.device(), first.dtype());
  loss_.zero();
  d_logits_.seg.resize(logits.seg.size());
  d_logits_.cls.resize(logits.cls.size());
  // A term of weight w != 1 is the weighted mean with all weights 1 and the sum of weights n / w:
  // w * mean(l), and w times its gradient.
  auto weighted_mean = [this](Tensor& dx, const Tensor& logits, const Tensor& target, double w) {
    if (w == 1.0) return ops::bce_with_logits(loss_, dx, logits, target);
    ensure_tensor(ones_, target.shape(), target.device(), target.dtype());
    ones_.fill(1.0);
    ops::bce_with_logits_weighted(loss_, dx, logits, target, ones_, double(target.numel()) / w);
  };
  const int seg_heads = int(logits.seg.size()), cls_heads = int(logits.cls.size());
  for (int k = 0; k < seg_heads; ++k) {
    const Tensor& s = logits.seg[k];
    ensure_tensor(d_logits_.seg[k], s.shape(), s.device(), s.dtype());
    weighted_mean(d_logits_.seg[k], s, t.vessel, head_weight(head_weights_, k, seg_heads));
  }
  // The cls logits hold artery in channel 0 and vein in channel 1: each is its own BCE term.
  const Tensor* class_target[2] = {&t.artery, &t.vein};
  // For vessel_pixels the weight is av_weight, or the vessel target itself; its sum is read once
  // on the host.
  const Tensor& av_weight = t.av_weight.defined() ? t.av_weight : t.vessel;
  double vessel_pixels = 0;
  if (av_region_ == ArteryVeinLoss::vessel_pixels && !logits.cls.empty()) {
    const std::vector<double> v = av_weight.to_doubles();
    vessel_pixels = std::accumulate(v.begin(), v.end(), 0.0);
    if (vessel_pixels_over_ranks_) vessel_pixels = vessel_pixels_over_ranks_(vessel_pixels);
  }
  for (int k = 0; k < cls_heads; ++k) {
    const double w = head_weight(head_weights_, k, cls_heads);
    const Tensor& c = logits.cls[k];
    ensure_tensor(d_logits_.cls[k], c.shape(), c.device(), c.dtype());
    const Shape one{c.shape().n(), 1, c.shape().h(), c.shape().w()};
    ensure_tensor(channel_, one, c.device(), c.dtype());
    ensure_tensor(d_channel_, one, c.device(), c.dtype());
    for (int ch = 0; ch < 2; ++ch) {
      ops::copy_from_channels(channel_, c, ch);
      if (av_region_ == ArteryVeinLoss::vessel_pixels)
        ops::bce_with_logits_weighted(loss_, d_channel_, channel_, *class_target[ch], av_weight, vessel_pixels / w);
      else
        weighted_mean(d_channel_, channel_, *class_target[ch], w);
      ops::copy_into_channels(d_logits_.cls[k], d_channel_, ch);
    }
  }
  return loss_;
}

double SeqNetLoss::value() const { return loss_.to_doubles().at(0); }

}  // namespace seqnet
