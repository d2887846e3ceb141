// conv2d.h: Conv2d layer, k x k (k = 1 or 3), stride 1, "same" padding, optional bias.
//
// Forward   y = w * x + b            (w: (out,in,k,k), PyTorch layout)
// Backward  dx = w^T * dy  (the convolution with the flipped kernel)
//           dw += dy (x) x,  db += sum dy over batch and plane
// Kernels: kernels/cpu/conv2d.h and its CUDA twin, through kernels/ops.h.
#pragma once

#include <string>

#include "layers/parameters.h"

namespace seqnet {

class Conv2d {
 public:
  // Declares "<name>.weight" (and "<name>.bias") in the store.
  Conv2d(ParameterStore& store, const std::string& name, int in_channels, int out_channels, int ksize, bool bias);

  // Keeps a handle on x for backward: x must stay unchanged until then.
  const Tensor& forward(const Tensor& x);
  // Returns dx, or an undefined Tensor when input_grad is false (the first layer on an image).
  const Tensor& backward(const Tensor& dy, bool input_grad = true);

  // Drops every buffer and handle this layer holds; the next forward plans its memory again.
  // Evaluation passes call it once they hold the output, so each map is freed by its last user.
  void release();

  int in_channels() const { return in_; }
  int out_channels() const { return out_; }
  int ksize() const { return k_; }
  Tensor weight() const { return store_.value(weight_); }
  Tensor bias() const { return bias_ >= 0 ? store_.value(bias_) : Tensor(); }  // undefined without a bias

 private:
  ParameterStore& store_;
  int in_, out_, k_;
  int weight_, bias_ = -1;
  Tensor x_, y_, dx_;
};

}  // namespace seqnet
