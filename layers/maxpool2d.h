// maxpool2d.h: MaxPool2d layer, 2x2, stride 2 (odd sizes floor).
//
// Forward   y = max of each 2x2 window; the winner's position is kept
// Backward  dx = dy at each window's winner, 0 elsewhere
#pragma once

#include "kernels/tensor.h"

namespace seqnet {

class MaxPool2d {
 public:
  const Tensor& forward(const Tensor& x);
  const Tensor& backward(const Tensor& dy);
  // Drops every buffer and handle this layer holds; the next forward plans its memory again.
  // Evaluation passes call it once they hold the output, so each map is freed by its last user.
  void release();

 private:
  Shape input_shape_;
  Tensor y_, argmax_, dx_;
};

}  // namespace seqnet
