// cudnn_stub.cpp: the cuDNN comparison engine in a build without cuDNN (or an emulated CUDA build).
#include <stdexcept>
#include <string>

#include "kernels/cuda/cudnn_conv.h"

namespace seqnet::cudnn {

namespace {
#ifdef SEQNET_CUDA_EMULATION
constexpr const char* kWhyNot = "cuDNN needs a GPU: this seqnet emulates the CUDA kernels on the CPU (SEQNET_CUDA_EMULATION)";
#else
constexpr const char* kWhyNot = "this seqnet was built without cuDNN";
#endif

[[noreturn]] void no_cudnn() { throw std::runtime_error(std::string(kWhyNot) + "; use --conv-engine custom"); }
}  // namespace

bool available(std::string* why_not) {
  if (why_not) *why_not = kWhyNot;
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
void conv2d_forward_tf32(float*, const float*, const float*, const float*, int, int, int, int, int, int,
                         cudaStream_t) {
  no_cudnn();
}
void conv2d_backward_input_tf32(float*, const float*, const float*, int, int, int, int, int, int, cudaStream_t) {
  no_cudnn();
}
void conv2d_backward_weight_tf32(float*, const float*, const float*, int, int, int, int, int, int, cudaStream_t) {
  no_cudnn();
}

}  // namespace seqnet::cudnn
