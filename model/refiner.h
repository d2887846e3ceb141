// refiner.h: the IterNet refiner: one small UNet whose weights every iteration shares, plus an
// unshared 1x1 "fuse" conv per iteration.
//
// Iteration i, given the feature map f and the list F of first-level features (F starts as
// [the branch UNet's enc.0 output]):
//   e = enc.0(f);  F.append(e)
//   g = fuse.i(concat(F))          (w*(i+2) -> w channels, 1x1, bias, no activation)
//   next f = UNetBody(g)           (g replaces e as level 0: pooled for level 1, dec.0's skip)
//
// Weight sharing: each iteration has its own layer objects (their activation caches differ)
// declared under the same names, so they hold the same parameter ids and their gradients add
// up in the one gradient buffer.
//
// Backward runs the iterations last to first. fuse.i's input gradient is split over F: the
// part for F[j] is added to that tensor's gradient, which is complete once every later
// iteration has been through (hence the order).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/unet.h"

namespace seqnet {

class Refiner {
 public:
  Refiner(ParameterStore& store, const std::string& name, int width, int depth, int iterations, Norm norm,
          float dropout, uint64_t& dropout_id);

  int iterations() const { return static_cast<int>(steps_.size()); }
  // Runs all iterations from the branch UNet's output and first-level features; returns the
  // feature map after each iteration (the caller's handles are their only owners in evaluation).
  std::vector<Tensor> forward(const Tensor& unet_out, const Tensor& unet_first, const Mode& mode);
  // d_features[i] is the gradient of iteration i's output (consumed). Returns the gradient of the
  // UNet's output and adds that of its first-level features to d_unet_first. Needs iterations > 0.
  const Tensor& backward(std::vector<Tensor>& d_features, Tensor& d_unet_first);
  // Drops every buffer of this block and its layers (an evaluation forward starts with it).
  void release();

 private:
  struct Step {
    std::unique_ptr<DoubleConv> enc0;
    std::unique_ptr<Conv2d> fuse;
    std::unique_ptr<UNetBody> body;
    Tensor concat, d_first;
  };
  std::string name_;  // for the trace (model/trace.h)
  int width_;
  std::vector<Step> steps_;
  std::vector<Tensor> first_features_;
  Tensor d_unet_out_;
};

}  // namespace seqnet
