// adam.cu: the fused Adam step of adam.h: one pass reads p, m, v, g and writes p, m, v, in the
// CPU twin's (PyTorch's) order of operations; the bias corrections are computed once on the host.
#include <cmath>

#include "kernels/cuda/adam.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"

namespace seqnet::cuda {

namespace {

__global__ void adam_kernel(float* param, float* m, float* v, const float* grad, int64_t n, float b1, float b2,
                            float eps, float step_size, float bias_correction2_sqrt) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float g = grad[i];
    const float mi = m[i] + (1.f - b1) * (g - m[i]);  // PyTorch's lerp form of b1 m + (1-b1) g
    const float vi = b2 * v[i] + (1.f - b2) * g * g;
    const float denom = sqrtf(vi) / bias_correction2_sqrt + eps;
    m[i] = mi;
    v[i] = vi;
    param[i] -= step_size * mi / denom;
  }
}

}  // namespace

void adam_update(float* param, float* m, float* v, const float* grad, int64_t n, const cpu::AdamSettings& s,
                 int64_t step, cudaStream_t stream) {
  if (n <= 0) return;
  const double t = double(step);
  const float step_size = float(s.lr / (1.0 - std::pow(s.beta1, t)));
  const float bias_correction2_sqrt = float(std::sqrt(1.0 - std::pow(s.beta2, t)));
  adam_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(param, m, v, grad, n, float(s.beta1),
                                                                   float(s.beta2), float(s.eps), step_size,
                                                                   bias_correction2_sqrt);
  SEQNET_CUDA_CHECK_LAUNCH();
}

}  // namespace seqnet::cuda
