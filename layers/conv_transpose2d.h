// conv_transpose2d.h: ConvTranspose2d layer, kernel 2, stride 2, with bias: the UNet's upsampling.
//
// Forward   y[2i+u, 2j+v] = b + sum_c x[c,i,j] w[c,:,u,v]   (w: (in,out,2,2), PyTorch layout)
// Backward  dx[c,i,j] = sum_{k,u,v} w[c,k,u,v] dy[k,2i+u,2j+v]
//           dw[c,k,u,v] += sum x[c,i,j] dy[k,2i+u,2j+v];  db += sum dy
#pragma once

#include <string>

#include "layers/parameters.h"

namespace seqnet {

class ConvTranspose2d {
 public:
  ConvTranspose2d(ParameterStore& store, const std::string& name, int in_channels, int out_channels);
  const Tensor& forward(const Tensor& x);
  const Tensor& backward(const Tensor& dy);
  // Drops every buffer and handle this layer holds; the next forward plans its memory again.
  // Evaluation passes call it once they hold the output, so each map is freed by its last user.
  void release();

 private:
  ParameterStore& store_;
  int in_, out_;
  int weight_, bias_;
  Tensor x_, y_, dx_;
};

}  // namespace seqnet
