// conv2d.cpp: the fast 2-D convolution of conv2d.h: im2col + GEMM, and for float 3x3 layers the
// choice (conv3x3_algorithm.h) between it, the direct kernels and Winograd, for each of the three
// passes.
//
// With the columns  cols[(c,u,v), (i,j)] = x[c, i+u-p, j+v-p]  (zero outside), a (C*ks*ks, H*W)
// matrix per image, the three sums of conv2d.h are GEMMs:
//   y_n   (K, HW)      = w (K, C*ks*ks) * cols_n
//   dcols (C*ks*ks, HW) = w^T * dy_n,  then col2im adds each column entry back to its pixel
//   dw    (K, C*ks*ks) += dy_n (K, HW) * cols_n^T
// A 1x1 convolution needs no columns: cols_n is x_n itself. One with at most 4 outputs (a head)
// is no GEMM at all but the plain loops of conv1x1_thin.h.
// GEMM size is what makes BLAS fast, so the images are grouped by plane size:
//  - small planes (deep levels): g images side by side, cols (C*ks*ks, g*HW), one GEMM for the
//    group; its (K, g*HW) result (or dy gathered into that layout) sits in the workspace too.
//  - large planes: image by image, in bands of rows whose columns fit in the L2 cache (a
//    576x576 plane with 32 channels would need 380 MB of columns).
#include "kernels/cpu/conv2d.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include <omp.h>

#include "kernels/cpu/conv1x1_thin.h"
#include "kernels/cpu/conv3x3_algorithm.h"
#include "kernels/cpu/conv3x3_bf16.h"
#include "kernels/cpu/conv3x3_direct.h"
#include "kernels/cpu/conv3x3_weight_direct.h"
#include "kernels/cpu/thread_sums.h"
#include "kernels/cpu/conv3x3_winograd.h"
#include "kernels/cpu/conv3x3_winograd_weight.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/image_matrix.h"
#include "kernels/cpu/parallel_threshold.h"

namespace seqnet::cpu {

namespace {

// The columns of one band: 256K elements (1 MB in float), half a core's 2 MB L2, so the GEMM
// reads the columns im2col just wrote (and col2im the ones the GEMM just wrote) from cache
// instead of from memory. Measured (width-16 SeqNet, 1 thread): a training step on 4 x 128x128
// 2.42 -> 2.25 s against whole-image bands (9.4 MB of columns at 16 channels); 128K: 2.31 s.
constexpr int64_t kBandElements = int64_t(1) << 18;
// A group of small images: columns plus GEMM output within 512K elements (2 MB, one L2) for
// the same reason; grouping up to 16 MB made the training step 6% slower.
constexpr int64_t kGroupElements = 2 * kBandElements;

// Rows per band so that a band's columns fit kBandElements; bands of equal height.
int band_rows(int C, int H, int W, int ksize) {
  const int64_t per_row = int64_t(C) * ksize * ksize * W;
  const int64_t fit = std::clamp<int64_t>(kBandElements / std::max<int64_t>(per_row, 1), 1, H);
  const int64_t bands = (H + fit - 1) / fit;
  return int((H + bands - 1) / bands);
}

// Images per GEMM: the group's columns (CKK, g*HW) and its (K, g*HW) output share the workspace.
int group_size(int C, int H, int W, int K, int ksize, int N) {
  const int64_t per_image = (int64_t(C) * ksize * ksize + K) * H * W;
  return int(std::clamp<int64_t>(kGroupElements / per_image, 1, N));
}

// cols (C*ks*ks, images*band) for output rows [i0, i1) of `images` consecutive images x
// (images, C, H, W); band = (i1-i0)*W and image m's block starts at column m*band.
// Row (c,u,v) holds channel c shifted by (u-p, v-p); its valid j range is [j0, j1), the rest
// is zero padding.
template <typename T>
void im2col(T* cols, const T* x, int images, int C, int H, int W, int ksize, int i0, int i1) {
  const int p = ksize / 2;
  const int64_t HW = int64_t(H) * W, band = int64_t(i1 - i0) * W, ld = images * band;
  const int rows = C * ksize * ksize;
#pragma omp parallel for collapse(2) schedule(static) if (rows * ld >= kParallelMinElements && !omp_in_parallel())
  for (int m = 0; m < images; ++m)
    for (int r = 0; r < rows; ++r) {
      const int c = r / (ksize * ksize), u = (r / ksize) % ksize, v = r % ksize;
      const int j0 = std::max(0, p - v), j1 = std::min(W, W + p - v);
      const T* xc = x + (int64_t(m) * C + c) * HW;
      T* row = cols + int64_t(r) * ld + m * band;
      for (int i = i0; i < i1; ++i) {
        T* dst = row + int64_t(i - i0) * W;
        const int ii = i + u - p;
        if (ii < 0 || ii >= H || j0 >= j1) {
          std::fill(dst, dst + W, T(0));
          continue;
        }
        std::fill(dst, dst + j0, T(0));
        std::memcpy(dst + j0, xc + int64_t(ii) * W + (j0 + v - p), sizeof(T) * (j1 - j0));
        std::fill(dst + j1, dst + W, T(0));
      }
    }
}

// dx (images, C, H, W) += every entry of cols (laid out as im2col lays out rows [i0, i1))
// added back to the pixel it was copied from: the adjoint of im2col. One thread per
// (image, channel): those rows of cols touch only that plane of dx.
template <typename T>
void col2im_add(T* dx, const T* cols, int images, int C, int H, int W, int ksize, int i0, int i1) {
  const int p = ksize / 2;
  const int64_t HW = int64_t(H) * W, band = int64_t(i1 - i0) * W, ld = images * band;
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(C) * ksize * ksize * ld >= kParallelMinElements)
  for (int m = 0; m < images; ++m)
    for (int c = 0; c < C; ++c) {
      T* dxc = dx + (int64_t(m) * C + c) * HW;
      for (int u = 0; u < ksize; ++u)
        for (int v = 0; v < ksize; ++v) {
          const int j0 = std::max(0, p - v), j1 = std::min(W, W + p - v);
          const T* row = cols + (int64_t(c) * ksize * ksize + u * ksize + v) * ld + m * band;
          for (int i = i0; i < i1; ++i) {
            const int ii = i + u - p;
            if (ii < 0 || ii >= H) continue;
            const T* src = row + int64_t(i - i0) * W + j0;
            T* dst = dxc + int64_t(ii) * W + (j0 + v - p);
            for (int j = 0; j < j1 - j0; ++j) dst[j] += src[j];
          }
        }
    }
}

// The input gradient is a convolution of dy with w flipped in space and with its channel axes
// swapped: dx[c,i,j] = sum_{k,u,v} w[k,c,2-u,2-v] * dy[k,i+u-1,j+v-1]. flipped (C,K,3,3).
void flip_and_transpose_3x3(float* flipped, const float* w, int K, int C) {
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < C; ++c)
      for (int tap = 0; tap < 9; ++tap)  // tap = 3u + v; the flipped tap (2-u, 2-v) is 8 - tap
        flipped[(int64_t(c) * K + k) * 9 + (8 - tap)] = w[(int64_t(k) * C + c) * 9 + tap];
}

// dw (K, CKK) += sum over images and bands of dy_band (K, band) * cols_band^T, for large planes.
// The (image, band) pieces are shared out over the threads in one parallel region: each thread
// builds a piece's columns in its own scratch and adds its product into its own copy of dw
// (thread_sums.h), and the copies are summed at the end. Two parallel regions per call
// instead of two per band: with 4 x 128x128 crops that was 5,400 regions per training step, and
// each costs a wake-up of the other thread when OpenMP's threads sleep between regions.
template <typename T>
void weight_gradient_in_bands(T* dw, const T* dy, const T* x, int N, int C, int H, int W, int K, int ksize) {
  const int64_t HW = int64_t(H) * W;
  const int CKK = C * ksize * ksize, rows = band_rows(C, H, W, ksize), bands = (H + rows - 1) / rows;
  const int pieces = N * bands;
  const int threads = std::max(1, std::min(omp_in_parallel() ? 1 : omp_get_max_threads(), pieces));
  const int64_t columns_size = int64_t(CKK) * rows * W, dw_size = int64_t(K) * CKK;
  // Grows once to the largest layer; a training step after the first allocates nothing.
  static thread_local std::vector<T> scratch;
  scratch.resize(std::max<size_t>(scratch.size(), size_t(threads * columns_size)));
  T* const all_columns = scratch.data();  // (scratch is this thread's: the team reaches it through this)
  const ThreadSums<T> sums(dw, dw_size, threads);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    T* columns = all_columns + t * columns_size;
    T* my_dw = sums.of(t);
#pragma omp for schedule(static)
    for (int piece = 0; piece < pieces; ++piece) {
      const int n = piece / bands, i0 = piece % bands * rows, i1 = std::min(H, i0 + rows), band = (i1 - i0) * W;
      im2col(columns, x + int64_t(n) * C * HW, 1, C, H, W, ksize, i0, i1);
      gemm<T>(false, true, K, CKK, band, T(1), dy + (int64_t(n) * K * HW + int64_t(i0) * W), int(HW), columns, band,
              T(1), my_dw, CKK);
    }
  }
  sums.add_copies_into_dw();
}

// im2col + GEMM: the forward pass and the input gradient of conv2d.h for any type and ksize.
template <typename T>
void gemm_forward(T* y, const T* x, const T* w, const T* b, T* workspace, int N, int C, int H, int W, int K,
                  int ksize) {
  const int64_t HW = int64_t(H) * W;
  const int CKK = C * ksize * ksize;
  const int group = ksize == 1 ? 1 : group_size(C, H, W, K, ksize, N);
  if (group > 1) {
    T* result = workspace + int64_t(CKK) * group * HW;  // (K, g*HW) after the columns
    for (int n0 = 0; n0 < N; n0 += group) {
      const int images = std::min(group, N - n0), ld = int(images * HW);
      im2col(workspace, x + int64_t(n0) * C * HW, images, C, H, W, ksize, 0, H);
      gemm<T>(false, false, K, ld, CKK, T(1), w, CKK, workspace, ld, T(0), result, ld);
      matrix_to_images(y + int64_t(n0) * K * HW, result, b, images, K, HW);
    }
    return;
  }
  for (int n = 0; n < N; ++n) {
    const T* xn = x + int64_t(n) * C * HW;
    T* yn = y + int64_t(n) * K * HW;
    // Start from the bias (beta = 1) so the GEMM adds onto it without another pass.
    T beta = 0;
    if (b) {
#pragma omp parallel for schedule(static) if (int64_t(K) * HW >= kParallelMinElements)
      for (int k = 0; k < K; ++k) std::fill(yn + int64_t(k) * HW, yn + int64_t(k + 1) * HW, b[k]);
      beta = 1;
    }
    if (ksize == 1) {
      gemm<T>(false, false, K, int(HW), C, T(1), w, C, xn, int(HW), beta, yn, int(HW));
      continue;
    }
    const int rows = band_rows(C, H, W, ksize);
    for (int i0 = 0; i0 < H; i0 += rows) {
      const int i1 = std::min(H, i0 + rows), band = (i1 - i0) * W;
      im2col(workspace, xn, 1, C, H, W, ksize, i0, i1);
      gemm<T>(false, false, K, band, CKK, T(1), w, CKK, workspace, band, beta, yn + int64_t(i0) * W, int(HW));
    }
  }
}

template <typename T>
void gemm_backward_input(T* dx, const T* dy, const T* w, T* workspace, int N, int C, int H, int W, int K, int ksize) {
  const int64_t HW = int64_t(H) * W;
  const int CKK = C * ksize * ksize;
  const int group = ksize == 1 ? 1 : group_size(C, H, W, K, ksize, N);
  if (group > 1) {
    T* dy_matrix = workspace + int64_t(CKK) * group * HW;  // (K, g*HW) after the columns
    std::fill(dx, dx + int64_t(N) * C * HW, T(0));
    for (int n0 = 0; n0 < N; n0 += group) {
      const int images = std::min(group, N - n0), ld = int(images * HW);
      images_to_matrix(dy_matrix, dy + int64_t(n0) * K * HW, images, K, HW);
      gemm<T>(true, false, CKK, ld, K, T(1), w, CKK, dy_matrix, ld, T(0), workspace, ld);
      col2im_add(dx + int64_t(n0) * C * HW, workspace, images, C, H, W, ksize, 0, H);
    }
    return;
  }
  for (int n = 0; n < N; ++n) {
    const T* dyn = dy + int64_t(n) * K * HW;
    T* dxn = dx + int64_t(n) * C * HW;
    if (ksize == 1) {
      gemm<T>(true, false, C, int(HW), K, T(1), w, C, dyn, int(HW), T(0), dxn, int(HW));
      continue;
    }
    std::fill(dxn, dxn + int64_t(C) * HW, T(0));
    const int rows = band_rows(C, H, W, ksize);
    for (int i0 = 0; i0 < H; i0 += rows) {
      const int i1 = std::min(H, i0 + rows), band = (i1 - i0) * W;
      gemm<T>(true, false, CKK, band, K, T(1), w, CKK, dyn + int64_t(i0) * W, int(HW), T(0), workspace, band);
      col2im_add(dxn, workspace, 1, C, H, W, ksize, i0, i1);
    }
  }
}

// y = max(0, (y - subtract[k]) * scale[k] + add[k]) in place: the epilogue the direct and Winograd
// kernels apply in registers, as a pass of its own after im2col + GEMM.
void apply_epilogue(float* y, const Conv3x3Epilogue& ep, int N, int K, int64_t HW) {
  if (!ep.subtract && !ep.relu) return;
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(N) * K * HW >= kParallelMinElements)
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) {
      float* plane = y + (int64_t(n) * K + k) * HW;
      if (ep.subtract) {
        const float subtract = ep.subtract[k], scale = ep.scale[k], add = ep.add[k];
        for (int64_t i = 0; i < HW; ++i) plane[i] = (plane[i] - subtract) * scale + add;
      }
      if (ep.relu)
        for (int64_t i = 0; i < HW; ++i) plane[i] = std::max(plane[i], 0.0f);
    }
}

}  // namespace

int64_t conv2d_workspace_size(int C, int H, int W, int ksize) {
  if (ksize == 1) return 0;
  // Room for a group (group_size never exceeds kGroupElements) or for one band of rows.
  return std::max(kGroupElements, int64_t(C) * ksize * ksize * band_rows(C, H, W, ksize) * W);
}

namespace {
bool g_conv3x3_bf16 = false;
}  // namespace

void set_conv3x3_bf16(bool on) {
  if (on && !conv3x3_bf16_supported())
    throw std::runtime_error(
        "--conv-precision bf16: this CPU has no AVX-512 BF16 (/proc/cpuinfo lists no avx512_bf16; it needs an AMD "
        "Zen 4 or later, or an Intel Cooper Lake or Sapphire Rapids); use fp32");
  g_conv3x3_bf16 = on;
}

void conv3x3_forward(float* y, const float* x, const float* w, const float* b, float* workspace, int N, int C, int H,
                     int W, int K, const Conv3x3Epilogue& epilogue) {
  if (g_conv3x3_bf16) {
    return conv3x3_forward_bf16(y, x, w, b, N, C, H, W, K, epilogue);
  }
  const auto run = [&](Conv3x3Algorithm algorithm, const Conv3x3Epilogue& ep) {
    switch (algorithm) {
      case Conv3x3Algorithm::direct: return conv3x3_forward_direct(y, x, w, b, N, C, H, W, K, ep);
      case Conv3x3Algorithm::winograd: return conv3x3_forward_winograd(y, x, w, b, N, C, H, W, K, ep);
      case Conv3x3Algorithm::gemm:
        gemm_forward(y, x, w, b, workspace, N, C, H, W, K, 3);
        return apply_epilogue(y, ep, N, K, int64_t(H) * W);
    }
  };
  const Conv3x3Algorithm chosen =
      conv3x3_algorithm({Conv3x3Pass::forward, N, C, H, W, K}, [&](Conv3x3Algorithm a) { run(a, {}); });
  run(chosen, epilogue);
}

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, T* workspace, int N, int C, int H, int W, int K,
                    int ksize) {
  if constexpr (std::is_same_v<T, float>)
    if (ksize == 3) return conv3x3_forward(y, x, w, b, workspace, N, C, H, W, K);
  if (ksize == 1 && K <= kConv1x1ThinOutputs) return conv1x1_thin_forward(y, x, w, b, N, C, int64_t(H) * W, K);
  gemm_forward(y, x, w, b, workspace, N, C, H, W, K, ksize);
}

template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, T* workspace, int N, int C, int H, int W, int K,
                           int ksize) {
  if constexpr (std::is_same_v<T, float>)
    if (ksize == 3) {
      // The direct and Winograd kernels compute the input gradient as a forward convolution of dy
      // with the flipped, transposed weights. Grows once to the largest layer.
      static thread_local std::vector<float> flipped;
      flipped.resize(std::max(flipped.size(), size_t(K) * C * 9));
      flip_and_transpose_3x3(flipped.data(), w, K, C);
      if (g_conv3x3_bf16) return conv3x3_forward_bf16(dx, dy, flipped.data(), nullptr, N, K, H, W, C);
      const auto run = [&](Conv3x3Algorithm algorithm) {
        switch (algorithm) {
          case Conv3x3Algorithm::direct:
            return conv3x3_forward_direct(dx, dy, flipped.data(), nullptr, N, K, H, W, C);
          case Conv3x3Algorithm::winograd:
            return conv3x3_forward_winograd(dx, dy, flipped.data(), nullptr, N, K, H, W, C);
          case Conv3x3Algorithm::gemm: return gemm_backward_input(dx, dy, w, workspace, N, C, H, W, K, 3);
        }
      };
      return run(conv3x3_algorithm({Conv3x3Pass::input_gradient, N, C, H, W, K}, run));
    }
  if (ksize == 1 && K <= kConv1x1ThinOutputs)
    return conv1x1_thin_backward_input(dx, dy, w, N, C, int64_t(H) * W, K);
  gemm_backward_input(dx, dy, w, workspace, N, C, H, W, K, ksize);
}

// im2col + GEMM: the weight gradient of conv2d.h for any type and ksize.
template <typename T>
void gemm_backward_weight(T* dw, const T* dy, const T* x, T* workspace, int N, int C, int H, int W, int K,
                          int ksize) {
  const int64_t HW = int64_t(H) * W;
  const int CKK = C * ksize * ksize;
  const int group = ksize == 1 ? 1 : group_size(C, H, W, K, ksize, N);
  if (group > 1) {
    T* dy_matrix = workspace + int64_t(CKK) * group * HW;  // (K, g*HW) after the columns
    for (int n0 = 0; n0 < N; n0 += group) {
      const int images = std::min(group, N - n0), ld = int(images * HW);
      im2col(workspace, x + int64_t(n0) * C * HW, images, C, H, W, ksize, 0, H);
      images_to_matrix(dy_matrix, dy + int64_t(n0) * K * HW, images, K, HW);
      gemm<T>(false, true, K, CKK, ld, T(1), dy_matrix, ld, workspace, ld, T(1), dw, CKK);
    }
    return;
  }
  if (ksize == 1) {
    for (int n = 0; n < N; ++n)
      gemm<T>(false, true, K, C, int(HW), T(1), dy + int64_t(n) * K * HW, int(HW), x + int64_t(n) * C * HW,
              int(HW), T(1), dw, C);
    return;
  }
  weight_gradient_in_bands(dw, dy, x, N, C, H, W, K, ksize);
}

template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, T* workspace, int N, int C, int H, int W, int K,
                            int ksize) {
  if constexpr (std::is_same_v<T, float>)
    if (ksize == 3) {
      const auto run_into = [&](Conv3x3Algorithm algorithm, float* gradient) {
        switch (algorithm) {
          case Conv3x3Algorithm::direct: return conv3x3_weight_gradient_direct(gradient, dy, x, N, C, H, W, K);
          case Conv3x3Algorithm::winograd: return conv3x3_weight_gradient_winograd(gradient, dy, x, N, C, H, W, K);
          case Conv3x3Algorithm::gemm: return gemm_backward_weight(gradient, dy, x, workspace, N, C, H, W, K, 3);
        }
      };
      // The timed runs add into a scratch gradient: each run adds the whole sum, and dw must get it once.
      static thread_local std::vector<float> timing_dw;
      const auto timed_run = [&](Conv3x3Algorithm algorithm) {
        timing_dw.assign(size_t(K) * C * 9, 0.0f);
        run_into(algorithm, timing_dw.data());
      };
      return run_into(conv3x3_algorithm({Conv3x3Pass::weight_gradient, N, C, H, W, K}, timed_run), dw);
    }
  if (ksize == 1 && K <= kConv1x1ThinOutputs)
    return conv1x1_thin_backward_weight(dw, dy, x, N, C, int64_t(H) * W, K);
  gemm_backward_weight(dw, dy, x, workspace, N, C, H, W, K, ksize);
}

template <typename T>
void bias_backward(T* db, const T* dy, int N, int K, int64_t HW) {
#pragma omp parallel for schedule(static) if (int64_t(N) * K * HW >= kParallelMinElements)
  for (int k = 0; k < K; ++k) {
    double sum = 0;  // double: a plane of 300k floats would otherwise lose digits
    for (int n = 0; n < N; ++n) {
      const T* plane = dy + (int64_t(n) * K + k) * HW;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < HW; ++i) sum += plane[i];
    }
    db[k] += static_cast<T>(sum);
  }
}

#define SEQNET_INSTANTIATE(T)                                                                         \
  template void conv2d_forward<T>(T*, const T*, const T*, const T*, T*, int, int, int, int, int, int); \
  template void conv2d_backward_input<T>(T*, const T*, const T*, T*, int, int, int, int, int, int);    \
  template void conv2d_backward_weight<T>(T*, const T*, const T*, T*, int, int, int, int, int, int);   \
  template void bias_backward<T>(T*, const T*, int, int, int64_t);
SEQNET_INSTANTIATE(float)
SEQNET_INSTANTIATE(double)
#undef SEQNET_INSTANTIATE

}  // namespace seqnet::cpu
