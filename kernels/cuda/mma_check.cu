// mma_check.cu: mma_check.h. Each lane loads exactly the elements the PTX fragment layout gives it
// (mma.cuh), so a wrong layout in either version of mma_m16n8k8_tf32 shows as wrong products.
#include "kernels/cuda/check.h"
#include "kernels/cuda/mma.cuh"
#include "kernels/cuda/mma_check.h"

namespace seqnet::cuda {

namespace {

__global__ void mma_check_kernel(float* d, const float* a, const float* b, const float* c) {
  const int lane = int(threadIdx.x), g = lane >> 2, t = lane & 3;
  const float a_frag[4] = {round_to_tf32(a[g * 8 + t]), round_to_tf32(a[(g + 8) * 8 + t]),
                           round_to_tf32(a[g * 8 + t + 4]), round_to_tf32(a[(g + 8) * 8 + t + 4])};
  const float b_frag[2] = {round_to_tf32(b[t * 8 + g]), round_to_tf32(b[(t + 4) * 8 + g])};
  float acc[4] = {c[g * 8 + 2 * t], c[g * 8 + 2 * t + 1], c[(g + 8) * 8 + 2 * t], c[(g + 8) * 8 + 2 * t + 1]};
  mma_m16n8k8_tf32(acc, a_frag, b_frag);
  d[g * 8 + 2 * t] = acc[0];
  d[g * 8 + 2 * t + 1] = acc[1];
  d[(g + 8) * 8 + 2 * t] = acc[2];
  d[(g + 8) * 8 + 2 * t + 1] = acc[3];
}

}  // namespace

void mma_m16n8k8_tf32_check(float* d, const float* a, const float* b, const float* c, cudaStream_t stream) {
  mma_check_kernel<<<1, 32, 0, stream>>>(d, a, b, c);
  SEQNET_CUDA_CHECK_LAUNCH();
}

}  // namespace seqnet::cuda
