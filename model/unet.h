// unet.h: the UNet of a branch and its pieces.
//
// UNetBody runs everything of a UNet after level 0: levels 1..depth-1 (max-pool, DoubleConv)
// and the decoder (ConvTranspose2d up, concat with the skip, DoubleConv), from given level-0
// features. The branch UNet puts enc.0 in front of it; the refiner puts enc.0 and its fuse conv
// in front (refiner.h). Channels at level l: ch[l] = width * 2^l.
//
//   level 0  s0 ─────────────────────────────── concat ─ dec.0 ─> out
//   level 1   └ pool ─ enc.1 ─────────── concat ─ dec.1 ─ up.0 ┘
//   level 2            └ pool ─ enc.2 ─ up.1 ┘                      (depth 3)
//
// Backward: the gradient reaching a skip tensor is the sum of what comes down the decoder
// (through its concat) and what comes back up through the pool of the level below.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/conv_transpose2d.h"
#include "layers/maxpool2d.h"
#include "model/double_conv.h"

namespace seqnet {

class UNetBody {
 public:
  // Declares <name>.enc.l (l >= 1), <name>.up.l and <name>.dec.l.
  UNetBody(ParameterStore& store, const std::string& name, int width, int depth, Norm norm, float dropout,
           uint64_t& dropout_id);
  // Evaluation keeps nothing (see DoubleConv::forward).
  Tensor forward(const Tensor& s0, const Mode& mode);
  // d_out is consumed. Returns the gradient with respect to s0.
  const Tensor& backward(Tensor& d_out);
  // Drops every buffer of this block and its layers (an evaluation forward starts with it).
  void release();

 private:
  std::string name_;  // for the trace (model/trace.h)
  int depth_;
  std::vector<int> ch_;
  std::vector<MaxPool2d> pool_;                  // pool_[l] feeds level l (index 0 unused)
  std::vector<std::unique_ptr<DoubleConv>> enc_;  // enc_[l], l >= 1 (index 0 unused)
  std::vector<ConvTranspose2d> up_;
  std::vector<std::unique_ptr<DoubleConv>> dec_;
  std::vector<Tensor> skips_, concat_, d_up_, d_level_;
  Tensor d_s0_;
};

// UNet(cin, width, depth) = enc.0 then the body. Also exposes enc.0's output ("first-level
// features"), which the refiner fuses.
class UNet {
 public:
  UNet(ParameterStore& store, const std::string& name, int in_channels, int width, int depth, Norm norm,
       float dropout, uint64_t& dropout_id);
  Tensor forward(const Tensor& x, const Mode& mode);
  // Kept until the next forward (in evaluation too: the refiner reads them after the body).
  const Tensor& first_features() const { return first_; }
  // d_out is consumed; d_first (may be undefined) is added to the first-level features' gradient.
  const Tensor& backward(Tensor& d_out, const Tensor& d_first, bool input_grad);
  // Drops every buffer of this block and its layers (an evaluation forward starts with it).
  void release();

 private:
  DoubleConv enc0_;
  UNetBody body_;
  Tensor first_;
};

}  // namespace seqnet
