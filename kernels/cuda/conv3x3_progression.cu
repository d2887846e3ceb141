// conv3x3_progression.cu: the 3x3 convolution's forward pass in steps (conv3x3_progression.h),
// like llm.c's dev/cuda: each version a kernel of its own, each checked against the CPU reference
// before it is timed. docs/KERNELS.md walks through them with their memory traffic and their
// instruction mix (scripts/ptx-mix.sh) and register use (scripts/ptxas-resources.sh).
//
// Every version computes the same implicit GEMM (docs/KERNELS.md, "The convolution as a matrix
// product"), here with the reduction in w's own order, channels outer and taps inner:
//
//   Out (K x Q) = A (K x R) * B (R x Q),  Q = N*H*W pixels, R = 9C,
//   A[k][r] = w[k*R + r],  B[r][q] = x[n, c, i+u-1, j+v-1] (0 outside),  r = 9c + 3u + v,  q = (n H + i) W + j.
//
// v1 naive             one thread per output y[n,k,i,j]: the 9C-term sum straight from the formula,
//                      every operand read from global memory (2 loads per multiply-add). A block is
//                      256 pixels of one (n, k) plane, so a warp reads one weight (a broadcast) and
//                      32 neighbouring pixels.
// v2 shared tiles      a block of 16 x 16 threads computes a 16 x 16 tile of Out, one output per
//                      thread. The reduction advances 16 at a time: the block copies a 16 x 16 slice
//                      of A and one of B (gathered from x: im2col done on the fly) into shared
//                      memory, then each thread does 16 multiply-adds from there. Each value loaded
//                      from global memory serves 16 outputs: 1/8 load per multiply-add, but still 2
//                      shared loads per multiply-add.
// v3 register-blocked  a block of 256 threads computes a 64 x 64 tile, each thread a 4 x 4
//                      micro-tile of it in 16 registers. Per reduction index a thread reads 4 values
//                      of A and 4 of B (one float4 each) and does 16 multiply-adds: 1/8 shared load
//                      per multiply-add, and 1/32 global load (the slices are 64 x 8 and 8 x 64).
// v4 double-buffered   v3 with two shared buffers per slice: the global loads of slice s+1 are
//                      issued into registers before the multiply-adds of slice s (their latency
//                      hides behind the math), stored to the other buffer after; one barrier per
//                      step instead of two. This is the structure of the program's FP32 kernel
//                      (implicit_gemm.cuh), which adds a wider 64 x 128 tile, 8 x 8 outputs a
//                      thread on its 64-row tiles, the taps-outer reduction order that takes the
//                      division by 9 out of the loop, split-K and the 32-row tile for 32 channels.
// v5 tensor cores      the program's TF32 kernel, conv2d_forward_tf32 (conv2d.cu, implicit_gemm.cuh):
//                      its own tile (gemm_tf32_kernel): cp.async copies into shared memory, 16
//                      reduction rows a barrier in 3 buffers, values rounded to TF32 as the
//                      fragments are loaded, and each warp's 32 x WN part of the tile multiplied
//                      by mma.sync m16n8k8 (mma.cuh): one instruction per 16 x 8 x 8 = 1,024
//                      multiply-adds.
//
// Inputs of any size: tiles past K, Q or R are padded with zeros as they are loaded, and outputs
// past K or Q are not stored.
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv3x3_progression.h"
#include "kernels/cuda/launch.h"

#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace seqnet::cuda::progression {

namespace {

// Column q of B and Out: pixel (i, j) of image n; `inside` is q < Q (tiles run past the end).
struct Pixel {
  int n, i, j;
  bool inside;
};

__device__ inline Pixel pixel_of(int q, int Q, int H, int W) {
  const int n = q / (H * W), p = q - n * (H * W), i = p / W;
  return {n, i, p - i * W, q < Q};
}

// B[r][q] = x[n, c, i+u-1, j+v-1] with r = 9c + 3u + v; 0 in the padding, for r >= R = 9C, and
// for columns past Q.
__device__ inline float gathered(const float* x, int C, int H, int W, int r, const Pixel& p) {
  const int c = r / 9, tap = r - 9 * c, ii = p.i + tap / 3 - 1, jj = p.j + tap % 3 - 1;
  if (!p.inside || c >= C || ii < 0 || ii >= H || jj < 0 || jj >= W) return 0.f;
  return x[((int64_t(p.n) * C + c) * H + ii) * W + jj];
}

// ---- v1: one thread per output -----------------------------------------------------------------

constexpr int kNaiveThreads = 256;

// Grid (plane / 256, K, N): thread p of plane (n, k).
__global__ void __launch_bounds__(kNaiveThreads)
    v1_naive_kernel(float* y, const float* x, const float* w, const float* b, int C, int H, int W, int K) {
  const int p = blockIdx.x * kNaiveThreads + threadIdx.x, k = blockIdx.y, n = blockIdx.z;
  if (p >= H * W) return;
  const int i = p / W, j = p - i * W;
  float sum = b ? b[k] : 0.f;
  for (int c = 0; c < C; ++c) {
    const float* xc = x + (int64_t(n) * C + c) * H * W;
    const float* wc = w + (int64_t(k) * C + c) * 9;
#pragma unroll
    for (int u = 0; u < 3; ++u)
#pragma unroll
      for (int v = 0; v < 3; ++v) {
        const int ii = i + u - 1, jj = j + v - 1;
        if (ii >= 0 && ii < H && jj >= 0 && jj < W) sum += wc[3 * u + v] * xc[ii * W + jj];
      }
  }
  y[(int64_t(n) * K + k) * H * W + p] = sum;
}

// ---- v2: a 16 x 16 tile per block, slices in shared memory -------------------------------------

constexpr int kTile = 16;

// Grid (Q / 16, K / 16), 256 threads: thread (ty, tx) computes Out[k0 + ty][q0 + tx].
__global__ void __launch_bounds__(kTile * kTile)
    v2_shared_tiles_kernel(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                           int K) {
  __shared__ float a[kTile][kTile];   // a[m][e] = A[k0 + m][r0 + e]
  __shared__ float bs[kTile][kTile];  // bs[e][n] = B[r0 + e][q0 + n]
  const int tx = threadIdx.x % kTile, ty = threadIdx.x / kTile;
  const int Q = N * H * W, R = 9 * C, k = blockIdx.y * kTile + ty;
  // The thread's column: the output it computes and the column of B it gathers.
  const Pixel mine = pixel_of(blockIdx.x * kTile + tx, Q, H, W);
  float sum = 0.f;
  for (int r0 = 0; r0 < R; r0 += kTile) {
    a[ty][tx] = k < K && r0 + tx < R ? w[int64_t(k) * R + r0 + tx] : 0.f;
    bs[ty][tx] = gathered(x, C, H, W, r0 + ty, mine);
    __syncthreads();  // the slices are whole
#pragma unroll
    for (int e = 0; e < kTile; ++e) sum += a[ty][e] * bs[e][tx];
    __syncthreads();  // everyone is done reading before the next slice overwrites them
  }
  if (k < K && mine.inside)
    y[(int64_t(mine.n) * K + k) * H * W + int64_t(mine.i) * W + mine.j] = sum + (b ? b[k] : 0.f);
}

// ---- v3 and v4: a 64 x 64 tile per block, a 4 x 4 micro-tile per thread -------------------------

constexpr int BM = 64, BN = 64, BK = 8;  // block tile (rows of A x columns of B), reduction step
constexpr int kThreads = 256;            // 16 x 16 threads, each 4 x 4 outputs
constexpr int kPad = 4;  // a's rows padded so the transposing stores hit 32 banks (8 r x 4 m per warp)

// The shared slices of one step: a stored transposed, a[e][m] = A[k0 + m][r0 + e], so a thread's
// 4 rows are one float4; bs[e][n] = B[r0 + e][q0 + n].
struct Slices {
  float a[BK][BM + kPad];
  float b[BK][BN];
};

// What a thread loads of each slice: A at rows m, m + 32 and reduction index e; B at column n
// (its pixel, found once) and rows e, e + 4. 2 + 2 values, 512 + 512 per block.
struct Loader {
  int a_m, a_e, b_e;
  Pixel column;
};
struct Fetched {
  float a[2], b[2];
};

__device__ inline Loader loader(int t, int q0, int Q, int H, int W) {
  return {t / BK, t % BK, t / BN, pixel_of(q0 + t % BN, Q, H, W)};
}

__device__ inline Fetched fetch(const Loader& l, const float* x, const float* w, int C, int H, int W, int K, int k0,
                                int r0) {
  const int R = 9 * C;
  Fetched f;
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const int k = k0 + l.a_m + 32 * s, r = r0 + l.a_e;
    f.a[s] = k < K && r < R ? w[int64_t(k) * R + r] : 0.f;
    f.b[s] = gathered(x, C, H, W, r0 + l.b_e + 4 * s, l.column);
  }
  return f;
}

__device__ inline void store(const Fetched& f, const Loader& l, int tid, Slices& s) {
  s.a[l.a_e][l.a_m] = f.a[0];
  s.a[l.a_e][l.a_m + 32] = f.a[1];
  s.b[l.b_e][tid % BN] = f.b[0];
  s.b[l.b_e + 4][tid % BN] = f.b[1];
}

// Thread (ty, tx) owns rows 4ty..4ty+3 and columns 4tx..4tx+3 of the tile: per reduction index
// one float4 of a and one of b from shared memory, 16 multiply-adds.
__device__ inline void multiply_slice(float (&acc)[4][4], const Slices& s, int ty, int tx) {
#pragma unroll
  for (int e = 0; e < BK; ++e) {
    const float4 a4 = *reinterpret_cast<const float4*>(&s.a[e][4 * ty]);
    const float4 b4 = *reinterpret_cast<const float4*>(&s.b[e][4 * tx]);
    const float am[4] = {a4.x, a4.y, a4.z, a4.w}, bn[4] = {b4.x, b4.y, b4.z, b4.w};
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(am[i], bn[j], acc[i][j]);
  }
}

// The thread's 4 x 4 outputs, those inside K and Q, plus the bias.
__device__ inline void store_outputs(float* y, const float* b, const float (&acc)[4][4], int k0, int q0, int ty,
                                     int tx, int N, int H, int W, int K) {
  const int Q = N * H * W;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const Pixel p = pixel_of(q0 + 4 * tx + j, Q, H, W);
    if (!p.inside) break;
    float* column = y + int64_t(p.n) * K * H * W + int64_t(p.i) * W + p.j;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int k = k0 + 4 * ty + i;
      if (k < K) column[int64_t(k) * H * W] = acc[i][j] + (b ? b[k] : 0.f);
    }
  }
}

// Grid (Q / 64, K / 64). Per step: fetch the slices, store them, barrier, multiply, barrier.
__global__ void __launch_bounds__(kThreads)
    v3_register_blocked_kernel(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                               int K) {
  __shared__ __align__(16) Slices s;
  const int t = threadIdx.x, ty = t / 16, tx = t % 16;
  const int k0 = blockIdx.y * BM, q0 = blockIdx.x * BN, R = 9 * C;
  const Loader l = loader(t, q0, N * H * W, H, W);
  float acc[4][4] = {};
  for (int r0 = 0; r0 < R; r0 += BK) {
    store(fetch(l, x, w, C, H, W, K, k0, r0), l, t, s);
    __syncthreads();  // the slices are whole
    multiply_slice(acc, s, ty, tx);
    __syncthreads();  // everyone is done reading before the next store
  }
  store_outputs(y, b, acc, k0, q0, ty, tx, N, H, W, K);
}

// Grid (Q / 64, K / 64). The same tile with two buffers: step s fetches slice s+1 into registers,
// multiplies buffer s % 2 meanwhile, then stores into buffer (s+1) % 2, whose last readers (step
// s-1's multiply) finished before step s-1's barrier: one barrier per step.
__global__ void __launch_bounds__(kThreads)
    v4_double_buffered_kernel(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                              int K) {
  __shared__ __align__(16) Slices s[2];
  const int t = threadIdx.x, ty = t / 16, tx = t % 16;
  const int k0 = blockIdx.y * BM, q0 = blockIdx.x * BN, R = 9 * C;
  const Loader l = loader(t, q0, N * H * W, H, W);
  float acc[4][4] = {};
  store(fetch(l, x, w, C, H, W, K, k0, 0), l, t, s[0]);
  __syncthreads();
  for (int step = 0, r0 = 0; r0 < R; ++step, r0 += BK) {
    const bool more = r0 + BK < R;
    Fetched next{};
    if (more) next = fetch(l, x, w, C, H, W, K, k0, r0 + BK);  // in flight during the multiply-adds
    multiply_slice(acc, s[step % 2], ty, tx);
    if (more) store(next, l, t, s[(step + 1) % 2]);
    __syncthreads();
  }
  store_outputs(y, b, acc, k0, q0, ty, tx, N, H, W, K);
}

// The GEMM's column count must fit the kernels' int pixel index.
void check_sizes(int N, int H, int W, const char* what) {
  if (int64_t(N) * H * W > INT_MAX)
    throw std::invalid_argument(std::string(what) + ": N*H*W = " + std::to_string(int64_t(N) * H * W) +
                                " pixels is more than this teaching kernel indexes (2^31 - 1)");
}

unsigned blocks(int64_t count, int per_block) { return unsigned((count + per_block - 1) / per_block); }

}  // namespace

void forward_v1_naive(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                      cudaStream_t stream) {
  check_sizes(N, H, W, "conv3x3 forward_v1_naive");
  if (int64_t(N) * K * H * W == 0) return;
  const dim3 grid(blocks(int64_t(H) * W, kNaiveThreads), unsigned(K), unsigned(N));
  v1_naive_kernel<<<grid, kNaiveThreads, 0, stream>>>(y, x, w, b, C, H, W, K);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void forward_v2_shared_tiles(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                             int K, cudaStream_t stream) {
  check_sizes(N, H, W, "conv3x3 forward_v2_shared_tiles");
  if (int64_t(N) * K * H * W == 0) return;
  const dim3 grid(blocks(int64_t(N) * H * W, kTile), blocks(K, kTile));
  v2_shared_tiles_kernel<<<grid, kTile * kTile, 0, stream>>>(y, x, w, b, N, C, H, W, K);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void forward_v3_register_blocked(float* y, const float* x, const float* w, const float* b, int N, int C, int H,
                                 int W, int K, cudaStream_t stream) {
  check_sizes(N, H, W, "conv3x3 forward_v3_register_blocked");
  if (int64_t(N) * K * H * W == 0) return;
  const dim3 grid(blocks(int64_t(N) * H * W, BN), blocks(K, BM));
  v3_register_blocked_kernel<<<grid, kThreads, 0, stream>>>(y, x, w, b, N, C, H, W, K);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void forward_v4_double_buffered(float* y, const float* x, const float* w, const float* b, int N, int C, int H,
                                int W, int K, cudaStream_t stream) {
  check_sizes(N, H, W, "conv3x3 forward_v4_double_buffered");
  if (int64_t(N) * K * H * W == 0) return;
  const dim3 grid(blocks(int64_t(N) * H * W, BN), blocks(K, BM));
  v4_double_buffered_kernel<<<grid, kThreads, 0, stream>>>(y, x, w, b, N, C, H, W, K);
  SEQNET_CUDA_CHECK_LAUNCH();
}

void forward_v5_tensor_cores(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W,
                             int K, cudaStream_t stream) {
  conv2d_forward_tf32(y, x, w, b, N, C, H, W, K, 3, stream);
}

const std::array<Step, 5>& steps() {
  static const std::array<Step, 5> table = {{
      {"1_naive", forward_v1_naive, false},
      {"2_shared_tiles", forward_v2_shared_tiles, false},
      {"3_register_blocked", forward_v3_register_blocked, false},
      {"4_double_buffered", forward_v4_double_buffered, false},
      {"5_tensor_cores", forward_v5_tensor_cores, true},
  }};
  return table;
}

}  // namespace seqnet::cuda::progression
