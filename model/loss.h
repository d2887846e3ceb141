// loss.h: SeqNet's training loss and its gradient with respect to every head's logits.
//
//   L = sum_k BCE(s_k, vessel) + sum_k [ BCE(c_k[:,0], artery) + BCE(c_k[:,1], vein) ]
//
// BCE is the mean binary cross-entropy on logits (kernels/cpu/loss.h); every head weighs 1 unless
// HeadWeights says otherwise.
//
// Which pixels the artery/vein terms average over is a choice (ArteryVeinLoss):
// - all_pixels (the original's): every pixel of the crop. Most are background, so the two heads
//   mostly learn "vessel or not" and the artery-versus-vein signal is a small share of the loss.
// - vessel_pixels: only ground-truth vessel pixels (weight = the vessel target). The heads then
//   learn artery versus vein alone; background needs no answer from them, since the segmentation
//   branch decides where vessels are and prediction classifies only there.
#pragma once

#include <functional>
#include <string>

#include "model/seqnet.h"

namespace seqnet {

enum class ArteryVeinLoss { all_pixels, vessel_pixels };

// How the heads of a branch weigh in L. equal: every head 1 (the original's). rising: head k of
// K + 1 weighs 2 (k + 1) / (K + 2), RRWNet's i / (K (K + 1) / 2) scaled so the weights still sum
// to K + 1 (the same total as equal, so the learning rate keeps its meaning): the later, refined
// heads, whose output is the answer, count most (K = 1: 2/3, 4/3; K = 3: 0.4, 0.8, 1.2, 1.6).
enum class HeadWeights { equal, rising };
std::string to_string(HeadWeights weights);                 // "equal" or "rising"
HeadWeights head_weights_from(const std::string& name);     // throws std::invalid_argument
double head_weight(HeadWeights weights, int head, int heads);  // head in [0, heads)

std::string to_string(ArteryVeinLoss region);                // "all" or "vessel"
ArteryVeinLoss artery_vein_loss_from(const std::string& name);  // throws std::invalid_argument

struct SeqNetTargets {
  Tensor vessel, artery, vein;  // (N,1,H,W) each, 0/1
  // With vessel_pixels: the weight of each pixel in the artery/vein terms (0/1). Left empty, the
  // vessel target is the weight; train/av_targets.h sets it to leave uncertain pixels out.
  Tensor av_weight;
};

class SeqNetLoss {
 public:
  explicit SeqNetLoss(ArteryVeinLoss av_region = ArteryVeinLoss::all_pixels, HeadWeights head_weights = HeadWeights::equal)
      : av_region_(av_region), head_weights_(head_weights) {}

  // Computes L into a device scalar and fills d_logits (same shapes as the logits). Returns
  // the loss tensor (1 element, on the model's device); read it with value().
  const Tensor& forward_backward(const SeqNetOutputs& logits, const SeqNetTargets& targets);
  double value() const;  // waits for the device
  const SeqNetOutputs& gradients() const { return d_logits_; }

  // Data-parallel training (train/distributed.h) with vessel_pixels: the vessel pixels of this
  // rank's crops -> the mean count over the ranks, which the artery/vein terms then divide by.
  // Rank r's terms become R/W times its sum (W the whole batch's count), so the mean of the
  // ranks' gradients is the gradient of one process with the whole batch.
  void set_vessel_pixels_over_ranks(std::function<double(double)> mean_over_ranks) {
    vessel_pixels_over_ranks_ = std::move(mean_over_ranks);
  }

 private:
  ArteryVeinLoss av_region_;
  HeadWeights head_weights_;
  std::function<double(double)> vessel_pixels_over_ranks_;
  Tensor loss_;
  SeqNetOutputs d_logits_;
  Tensor channel_, d_channel_;  // one class channel of the cls logits and its gradient
  Tensor ones_;                 // the weight of an unweighted term whose head weighs other than 1
};

}  // namespace seqnet
