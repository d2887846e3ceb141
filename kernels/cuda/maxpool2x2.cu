// maxpool2x2.cu: the 2x2/2 max-pool of maxpool2x2.h. Forward: one thread per output, the
// winner's index kept in int32. Backward: one thread per input pixel, which takes dy when it is
// its window's winner and 0 otherwise, so dx is written in one pass without a memset.
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/maxpool2x2.h"

namespace seqnet::cuda {

namespace {

#define SEQNET_GRID_STRIDE_LOOP(i, n)                                                             \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// y, argmax (planes, Ho, Wo) from x (planes, H, W). Window order (0,0),(0,1),(1,0),(1,1); a
// later value wins only when strictly greater (first maximum wins ties) or when it is NaN and the
// best so far is not (NaN propagates), as on the CPU.
__global__ void maxpool_forward_kernel(float* y, int32_t* argmax, const float* x, int H, int W, int Ho, int Wo,
                                       int64_t n) {
  SEQNET_GRID_STRIDE_LOOP(o, n) {
    const int64_t plane = o / (int64_t(Ho) * Wo);
    const int rest = int(o - plane * Ho * Wo), i = rest / Wo, j = rest - (rest / Wo) * Wo;
    const float* xp = x + plane * H * W;
    int best = (2 * i) * W + 2 * j;
    float best_value = xp[best];
    const int window[3] = {best + 1, best + W, best + W + 1};
#pragma unroll
    for (int t = 0; t < 3; ++t) {
      const float value = xp[window[t]];
      if (value > best_value || (isnan(value) && !isnan(best_value))) {
        best = window[t];
        best_value = value;
      }
    }
    y[o] = best_value;
    argmax[o] = best;
  }
}

// dx (planes, H, W) from dy, argmax (planes, Ho, Wo).
__global__ void maxpool_backward_kernel(float* dx, const float* dy, const int32_t* argmax, int H, int W, int Ho,
                                        int Wo, int64_t n) {
  SEQNET_GRID_STRIDE_LOOP(idx, n) {
    const int64_t plane = idx / (int64_t(H) * W);
    const int pix = int(idx - plane * H * W), i = pix / W, j = pix - (pix / W) * W;
    float value = 0.f;
    if (i / 2 < Ho && j / 2 < Wo) {  // the floored last row/column belongs to no window
      const int64_t o = plane * Ho * Wo + (i / 2) * Wo + j / 2;
      if (argmax[o] == pix) value = dy[o];
    }
    dx[idx] = value;
  }
}

#undef SEQNET_GRID_STRIDE_LOOP

}  // namespace

void maxpool2x2_forward(float* y, int32_t* argmax, const float* x, int N, int C, int H, int W, cudaStream_t stream) {
  const int Ho = H / 2, Wo = W / 2;
  const int64_t n = int64_t(N) * C * Ho * Wo;
  if (n <= 0) return;
  maxpool_forward_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(y, argmax, x, H, W, Ho, Wo, n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void maxpool2x2_backward(float* dx, const float* dy, const int32_t* argmax, int N, int C, int H, int W,
                         cudaStream_t stream) {
  const int64_t n = int64_t(N) * C * H * W;
  if (n <= 0) return;
  maxpool_backward_kernel<<<grid_stride_blocks(n), kBlockThreads, 0, stream>>>(dx, dy, argmax, H, W, H / 2, W / 2,
                                                                               n);
  SEQNET_CUDA_CHECK_LAUNCH();
}

}  // namespace seqnet::cuda
