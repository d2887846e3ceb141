// conv_transpose2x2.cu: the 2x2/2 transposed convolution of conv_transpose2x2.h as GEMMs on the
// implicit-GEMM tiles of implicit_gemm.cuh (the convolutions' tiles, split-K and chunked weight
// gradient; FP32).
//
// Every input pixel paints its own 2x2 output block, so with Q = N*H*W input pixels and the 4K
// values one pixel paints numbered m = 4k + 2u + v (w (C,K,2,2) is then the C x 4K matrix
// w[c][m]):
//   forward          Y' (4K, Q) = W^T (4K, C) * X (C, Q),  y[n,k,2i+u,2j+v] = Y'[4k+2u+v][(n,i,j)] + b[k]
//   backward-input   dX (C, Q) = W (C, 4K) * dY' (4K, Q),  dY'[4k+2u+v][(n,i,j)] = dy[n,k,2i+u,2j+v]
//                    (the GPU orders this reduction taps outer, channels inner: UpsampleBackwardInput)
//   backward-weight  dW (C, 4K) += X (C, Q) * dY'^T (Q, 4K): the reduction over the pixels, cut into
//                    chunks added in chunk order (deterministic)
// X and dY' are read as the tiles are loaded (dY' is dy with each pixel's 2x2 block taken as 4
// rows), and the forward's epilogue scatters each column's 4K values into the pixel's blocks.
// Before this, the three passes were direct dot products (one thread per output, one block per
// (c, k) for the weight gradient) with no reuse in registers: docs/GPU.md.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv_transpose2x2.h"
#include "kernels/cuda/implicit_gemm.cuh"
#include "kernels/cuda/launch.h"

namespace seqnet::cuda {

namespace {

using implicit_gemm::BK;
using implicit_gemm::GemmArgs;
using implicit_gemm::padded_channels;
using implicit_gemm::WgradArgs;

// Forward: in = x (N, C, H, W), Cin = C, M = 4K, R = C; out = y (N, K, 2H, 2W).
struct UpsampleForward {
  struct Column {
    const float* x_q;  // x[n, 0, i, j]
  };
  static __device__ Column column(const GemmArgs& g, int64_t q) {
    const int64_t HW = int64_t(g.H) * g.W, n = q / HW;
    return {g.in + n * g.Cin * HW + (q - n * HW)};
  }
  struct Slice {};  // the row r0 + k is all a and b need
  static __device__ Slice slice(const GemmArgs&, int) { return {}; }
  static __device__ void next(const GemmArgs&, Slice&) {}
  struct Row {
    const float* w;  // w[0][m]
  };
  static __device__ Row row(const GemmArgs& g, int m) { return {g.w + m}; }
  // A(m, r0 + k) = a_source(..)[0], row m + 1 one float on.
  static __device__ bool a_present(const GemmArgs&, const Slice&, int) { return true; }
  static __device__ const float* a_source(const GemmArgs& g, const Slice&, const Row& row, int r0, int k) {
    return &row.w[int64_t(r0 + k) * g.M];
  }
  static __device__ int a_row_stride(const GemmArgs&) { return 1; }
  struct Gather {
    const float* x;  // x[n, r0, i, j]
    int rows;
    int HW;
  };
  static __device__ Gather gather(const GemmArgs& g, const Slice&, const Column& col, int r0, int rows) {
    return {col.x_q + int64_t(r0) * g.H * g.W, rows, g.H * g.W};
  }
  // B(r0 + k, q) = b_source(x, k)[0] for k < b_count(x), else 0 (implicit_gemm's kStridedB).
  static __device__ int b_count(const Gather& x) { return x.rows; }
  static __device__ const float* b_source(const Gather& x, int k) { return x.x + k * x.HW; }
  static __device__ int b_row_stride(const GemmArgs& g) { return g.H * g.W; }
  // Y'[m][q] goes to y[n, k, 2i+u, 2j+v], m = 4k + 2u + v.
  static __device__ int64_t out_index(const GemmArgs& g, int n, int p, int m) {
    const int i = p / g.W, j = p - i * g.W;
    const int k = m >> 2, u = (m >> 1) & 1, v = m & 1;
    return ((int64_t(n) * (g.M / 4) + k) * 2 * g.H + 2 * i + u) * (2 * int64_t(g.W)) + 2 * j + v;
  }
  static __device__ int bias_index(const GemmArgs&, int m) { return m >> 2; }
  static constexpr bool kFullSteps = false;  // R = C, any number
  static constexpr bool kBatchNormRelu = false;
  static constexpr int kWideBlocks = 4;
};

// Backward-input: in = dy (N, K, 2H, 2W), Cin = K, the pixels those of x (H, W); M = C; out = dx
// (N, C, H, W). The reduction runs tap by tap, tap = 2u + v, each tap's K channels padded to Kp =
// padded_channels(K) (as conv2d.cu's Conv orders a 3x3's): row r = tap Kp + k is dY'[r][(n,i,j)] =
// dy[n, k, 2i+u, 2j+v] and A(m, r) = w[m, k, u, v] (0 for k >= K), R = 4 Kp. A step's 8 rows are
// then 8 channels of one tap, 4HW floats apart in dy and 4 apart in w, so both operands are walked
// by pointer (kStridedB, kRowSourceA); with r = 4k + 2u + v, as before, each element's address was
// rebuilt from k (two shifts, two masks, a multiply-add: docs/GPU.md).
struct UpsampleBackwardInput {
  static constexpr bool kFullSteps = true;  // R = 4 Kp, a multiple of BK
  static constexpr bool kBatchNormRelu = false;
  static constexpr int kWideBlocks = 4;
  struct Column {
    const float* dy_q;  // dy[n, 0, 2i, 2j]
  };
  static __device__ Column column(const GemmArgs& g, int64_t q) {
    const int64_t HW = int64_t(g.H) * g.W, n = q / HW;
    const int p = int(q - n * HW), i = p / g.W, j = p - i * g.W;
    return {g.in + n * g.Cin * 4 * HW + (2 * i) * (2 * int64_t(g.W)) + 2 * j};
  }
  // Rows r0 .. r0 + BK - 1: channels c0 .. c0 + BK - 1 of tap (u, v), and where they are in w and
  // in dy, advanced by next().
  struct Slice {
    int c0, tap;
    int a_offset;  // of w[m, c0, u, v] from w[m, 0, 0, 0]: 4 c0 + tap
    int b_offset;  // of dy[n, c0, 2i + u, 2j + v] from Column::dy_q: c0 4HW + u 2W + v
  };
  static __device__ Slice at_tap(const GemmArgs& g, int c0, int tap) {
    return {c0, tap, 4 * c0 + tap, c0 * 4 * g.H * g.W + (tap >> 1) * 2 * g.W + (tap & 1)};
  }
  static __device__ int a_channel_stride(const GemmArgs&) { return 4; }
  static __device__ int b_channel_stride(const GemmArgs& g) { return 4 * g.H * g.W; }
  static __device__ Slice slice(const GemmArgs& g, int r0) {
    return implicit_gemm::first_tap_slice<UpsampleBackwardInput>(g, r0);
  }
  static __device__ void next(const GemmArgs& g, Slice& s) { implicit_gemm::next_tap_slice<UpsampleBackwardInput>(g, s); }
  struct Row {
    int offset;  // of w[m, 0, 0, 0]: < 2^31, as w's size is
  };
  static __device__ Row row(const GemmArgs& g, int m) { return {m * 4 * g.Cin}; }
  // A(m, r0 + k) = a_row_source(row, k)[a_slice_offset(s)] for k < a_count(s), else 0.
  static __device__ int a_count(const GemmArgs& g, const Slice& s) { return g.Cin - s.c0; }
  static __device__ const float* a_row_source(const GemmArgs& g, const Row& row, int k) {
    return g.w + (row.offset + 4 * k);
  }
  static __device__ int a_slice_offset(const Slice& s) { return s.a_offset; }
  static __device__ int a_row_stride(const GemmArgs& g) { return 4 * g.Cin; }
  // B(r0 + k, q) = b_source(x, k)[0] for k < b_count(x), else 0: the channels left of the tap.
  struct Gather {
    const float* dy;  // dy[n, c0, 2i + u, 2j + v]
    int rows;
    int HW4;  // 4 H W: dy's channel stride
  };
  static __device__ Gather gather(const GemmArgs& g, const Slice& s, const Column& col, int, int rows) {
    const int channels_left = g.Cin - s.c0;
    return {col.dy_q + s.b_offset, rows < channels_left ? rows : channels_left, 4 * g.H * g.W};
  }
  static __device__ int b_count(const Gather& x) { return x.rows; }
  static __device__ const float* b_source(const Gather& x, int k) { return x.dy + k * x.HW4; }
  static __device__ int b_row_stride(const GemmArgs& g) { return 4 * g.H * g.W; }
  static __device__ int64_t out_index(const GemmArgs& g, int n, int p, int m) {
    return (int64_t(n) * g.M + m) * g.H * g.W + p;
  }
  static __device__ int bias_index(const GemmArgs&, int) { return 0; }  // no bias
};

// Backward-weight: a = x (N, C, H, W), M = C; b = dy (N, K, 2H, 2W), Cb = K, R = 4K; column r =
// 4k + 2u + v of dY'^T at pixel (n, i, j) is dy[n, k, 2i+u, 2j+v].
struct UpsampleTaps {
  struct Tap {
    int offset;  // of dy[0, k, u, v]: 32-bit, as one image of dy is (conv_transpose2x2_backward_weight)
  };
  static __device__ Tap tap(const WgradArgs& g, int r) {
    const int k = r >> 2, u = (r >> 1) & 1, v = r & 1;
    return {k * 4 * g.H * g.W + u * 2 * g.W + v};
  }
  struct Pixel {
    const float* dy;  // dy[n, 0, 2i, 2j]
  };
  static __device__ Pixel pixel(const WgradArgs& g, int n, int i, int j) {
    return {g.b + int64_t(n) * g.Cb * 4 * g.H * g.W + (2 * i) * (2 * int64_t(g.W)) + 2 * j};
  }
  static __device__ float b(const WgradArgs&, const Tap& t, const Pixel& p) { return __ldg(b_source(t, p)); }
  // Columns r and r + L (L a multiple of 4) are the same tap (u, v) of channels L / 4 apart, so
  // 4 H W (L / 4) floats apart at every pixel (implicit_gemm's kStridedTaps).
  static __device__ const float* b_source(const Tap& t, const Pixel& p) { return p.dy + t.offset; }
  static __device__ int64_t tap_stride(const WgradArgs& g, int columns) { return int64_t(columns) * g.H * g.W; }
};

// The gathers' offsets within one image of dy (K channels of 2H x 2W) are 32-bit: such an image
// of 2^31 values or more is refused, naming its sizes, before anything is launched.
void require_32bit_offsets(int K, int H, int W) {
  if (int64_t(K) * 4 * H * W >= int64_t(1) << 31)
    throw std::invalid_argument("conv_transpose2x2 (CUDA): " + std::to_string(K) + " channels of " +
                                std::to_string(2 * H) + "x" + std::to_string(2 * W) +
                                " are 2^31 values or more per image; use smaller images");
}

ConvLaunchShape shape_of(const implicit_gemm::GemmPlan& plan) { return {plan.rows, plan.columns, plan.splits, false}; }

}  // namespace

void conv_transpose2x2_forward(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                               int K, cudaStream_t stream) {
  if (int64_t(N) * H * W == 0 || K == 0) return;
  implicit_gemm::gemm<UpsampleForward, false>({y, x, w, b, N, C, H, W, 4 * K, C}, stream);
}

void conv_transpose2x2_backward_input(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K,
                                      cudaStream_t stream) {
  if (int64_t(N) * H * W == 0 || C == 0) return;
  require_32bit_offsets(padded_channels(K), H, W);  // UpsampleBackwardInput's Slice::b_offset
  implicit_gemm::gemm<UpsampleBackwardInput, false>({dx, dy, w, nullptr, N, K, H, W, C, 4 * padded_channels(K)},
                                                    stream);
}

void conv_transpose2x2_backward_weight(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                                       cudaStream_t stream) {
  if (int64_t(N) * H * W == 0 || int64_t(C) * K == 0) return;
  require_32bit_offsets(K, H, W);  // UpsampleTaps::Tap::offset
  implicit_gemm::wgrad<UpsampleTaps>(dw, {x, dy, N, K, H, W, C, 4 * K}, stream);
}

ConvLaunchShape conv_transpose2x2_forward_launch_shape(int N, int C, int H, int W, int K) {
  return shape_of(implicit_gemm::gemm_plan(int64_t(N) * H * W, 4 * K, C));
}

ConvLaunchShape conv_transpose2x2_backward_input_launch_shape(int N, int C, int H, int W, int K) {
  return shape_of(implicit_gemm::gemm_plan(int64_t(N) * H * W, C, 4 * padded_channels(K)));
}

ConvLaunchShape conv_transpose2x2_backward_weight_launch_shape(int N, int C, int H, int W, int K) {
  const implicit_gemm::WgradPlan plan = implicit_gemm::wgrad_plan(int64_t(N) * H * W, C, 4 * K);
  return {plan.rows, plan.columns, plan.chunks, false};
}

}  // namespace seqnet::cuda
