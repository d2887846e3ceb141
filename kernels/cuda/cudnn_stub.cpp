// cudnn_stub.cpp: the cuDNN comparison engine in a build without cuDNN.
#include <stdexcept>

#include "kernels/cuda/cudnn_conv.h"

namespace seqnet::cudnn {

namespace {
[[noreturn]] void no_cudnn() {
  throw std::runtime_error("this seqnet was built without cuDNN; use --conv-engine custom");
}
}  // namespace

bool available(std::string* why_not) {
  if (why_not) *why_not = "this seqnet was built without cuDNN";
  return false;
}
void conv2d_forward(float*, const float*, const float*, const float*, int, int, int, int, int, int, cudaStream_t) {
  no_cudnn();
}
void conv2d_backward_input(float*, const float*, const float*, int, int, int, int, int, int, cudaStream_t) {
  no_cudnn();
}
void conv2d_backward_weight(float*, const float*, const float*, int, int, int, int, int, int, cudaStream_t) {
  no_cudnn();
}

}  // namespace seqnet::cudnn
