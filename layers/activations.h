// activations.h: ReLU and inverted Dropout, both in place, and Sigmoid.
//
// ReLU      y = max(x, 0);   dx = dy [y > 0]
// Dropout   y = x keep / (1-p) in training, identity in evaluation; dx = dy keep / (1-p)
// Sigmoid   y = 1 / (1 + e^-x);   dx = dy y (1 - y)
//
// ReLU and Dropout overwrite their input and, in backward, the incoming gradient: after a
// ReLU-then-Dropout pair the tensor is relu(x) * keep / (1-p), whose sign still tells where the
// ReLU was open (dropped places get zero gradient from dropout anyway). This halves the
// activation memory of every conv block.
#pragma once

#include <cstdint>

#include "kernels/tensor.h"
#include "layers/mode.h"

namespace seqnet {

class ReLU {
 public:
  void forward(Tensor& x);                       // x <- relu(x); keeps a handle for backward
  void backward(Tensor& dy);                     // dy <- dy [y > 0]
  void release() { y_ = Tensor(); }              // drops the handle on y

 private:
  Tensor y_;
};

class Dropout {
 public:
  // `id` distinguishes this layer's mask from every other layer's in the same step.
  Dropout(float p, uint64_t id) : p_(p), id_(id) {}
  void forward(Tensor& x, const Mode& mode);     // x <- x keep / (1-p) in training
  void backward(Tensor& dy);                     // dy <- dy keep / (1-p)
  float p() const { return p_; }

  // The mask forward would apply in `mode`, for an op that applies it itself (DoubleConv's fused
  // batch-norm + ReLU + dropout): p = 0 when dropout is off (evaluation, or p = 0).
  struct Mask {
    float p;
    uint64_t seed;
  };
  Mask mask(const Mode& mode) const;

 private:
  float p_;
  uint64_t id_;
  uint64_t seed_ = 0;
  bool active_ = false;
};

class Sigmoid {
 public:
  const Tensor& forward(const Tensor& x);
  const Tensor& backward(const Tensor& dy);

 private:
  Tensor y_, dx_;
};

}  // namespace seqnet
