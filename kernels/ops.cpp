// ops.cpp: shape checks and device/dtype dispatch for every kernel (see ops.h).
#include "kernels/ops.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/cpu/adam.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/channels.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv_transpose2x2.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/maxpool2x2.h"
#include "kernels/cuda/runtime.h"
#include "kernels/op_timer.h"

#ifdef SEQNET_WITH_CUDA
#include "kernels/cuda/adam.h"
#include "kernels/cuda/batchnorm.h"
#include "kernels/cuda/channels.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv_transpose2x2.h"
#include "kernels/cuda/cudnn_conv.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/maxpool2x2.h"
// The statement runs the CUDA kernel; in a build without CUDA it is an error instead.
#define SEQNET_CUDA_ONLY(...) __VA_ARGS__
#else
#define SEQNET_CUDA_ONLY(...) throw std::runtime_error("this seqnet was built without CUDA; use --device cpu")
#endif

namespace seqnet::ops {

namespace {

ConvEngine g_conv_engine = ConvEngine::custom;
ConvPrecision g_conv_precision = ConvPrecision::fp32;

template <class T> T* ptr(Tensor& t);
template <> float* ptr<float>(Tensor& t) { return t.f32(); }
template <> double* ptr<double>(Tensor& t) { return t.f64(); }
template <class T> const T* ptr(const Tensor& t) { return ptr<T>(const_cast<Tensor&>(t)); }
template <class T> const T* ptr_or_null(const Tensor* t) { return t ? ptr<T>(*t) : nullptr; }

// Runs cpu_fn(T{}) with T = float or double on the host, cuda_fn() on the device.
template <class CpuFn, class CudaFn>
void dispatch(const Tensor& t, CpuFn cpu_fn, CudaFn cuda_fn) {
  if (t.device() == Device::cuda) cuda_fn();
  else if (t.dtype() == DType::f32) cpu_fn(float{});
  else if (t.dtype() == DType::f64) cpu_fn(double{});
  else throw std::runtime_error("kernels take float32 or float64 tensors, got int32");
}

// A grow-only scratch buffer per dtype for im2col: allocated at the first step, reused after.
// Single-threaded use (the training and inference loops run one step at a time).
template <class T>
T* cpu_workspace(int64_t elements) {
  static Tensor buffer;
  const DType dt = sizeof(T) == 4 ? DType::f32 : DType::f64;
  if (!buffer.defined() || buffer.numel() < elements) buffer = Tensor::empty({elements}, Device::cpu, dt);
  return ptr<T>(buffer);
}

int as_int(int64_t v) { return static_cast<int>(v); }

// Max-pool's argmax: int32, on the device of the maps it indexes.
void expect_argmax(const Tensor& argmax, const Tensor& maps, const char* what) {
  if (argmax.dtype() != DType::i32 || argmax.device() != maps.device())
    throw std::runtime_error(std::string(what) + ": argmax must be int32 on " + device_name(maps.device()) +
                             ", got " + dtype_name(argmax.dtype()) + " on " + device_name(argmax.device()));
}

void expect_image(const Tensor& t, const char* what) {
  if (t.shape().rank() != 4) throw ShapeError(std::string(what) + ": expected an (N,C,H,W) tensor, got " + t.shape().str());
}

}  // namespace

void set_conv_engine(ConvEngine engine) { g_conv_engine = engine; }
ConvEngine conv_engine() { return g_conv_engine; }
void set_conv_precision(ConvPrecision precision) {
  cpu::set_conv3x3_bf16(precision == ConvPrecision::bf16);  // throws first on a CPU without it
  g_conv_precision = precision;
}
ConvPrecision conv_precision() { return g_conv_precision; }

// ---- Convolution ------------------------------------------------------------------------------

namespace {
struct ConvDims {
  int N, C, H, W, K, ks;
};
ConvDims conv_dims(const Tensor& x, const Tensor& w, const char* what) {
  expect_image(x, what);
  expect_image(w, what);
  const Shape& s = w.shape();
  if (s[2] != s[3] || (s[2] != 1 && s[2] != 3))
    throw ShapeError(std::string(what) + ": kernel must be 1x1 or 3x3, weight shape " + s.str());
  if (s[1] != x.shape().c())
    throw ShapeError(std::string(what) + ": weight " + s.str() + " expects " + std::to_string(s[1]) +
                     " input channels, input " + x.shape().str());
  return {as_int(x.shape().n()), as_int(x.shape().c()), as_int(x.shape().h()), as_int(x.shape().w()), as_int(s[0]),
          as_int(s[2])};
}
// "N4 C16>K16 128x128 k3": a convolution's shape for the per-layer profile (op_timer.h).
std::string conv_shape(const ConvDims& d) {
  char text[96];
  std::snprintf(text, sizeof text, "N%d C%d>K%d %dx%d k%d", d.N, d.C, d.K, d.H, d.W, d.ks);
  return text;
}
[[maybe_unused]] bool use_cudnn() { return g_conv_engine == ConvEngine::cudnn; }  // unused without CUDA
[[maybe_unused]] bool use_tf32() { return g_conv_precision == ConvPrecision::tf32; }  // unused without CUDA

// The forward convolution once its shapes are checked: the CPU kernel, or the GPU engine chosen
// by set_conv_engine. conv2d_forward and conv2d_batchnorm_relu_eval share it.
void run_conv2d_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* b, const ConvDims& d) {
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        T* ws = cpu_workspace<T>(cpu::conv2d_workspace_size(d.C, d.H, d.W, d.ks));
        cpu::conv2d_forward(ptr<T>(y), ptr<T>(x), ptr<T>(w), ptr_or_null<T>(b), ws, d.N, d.C, d.H, d.W, d.K, d.ks);
      },
      [&] {
        SEQNET_CUDA_ONLY(
            if (use_cudnn()) (use_tf32() ? cudnn::conv2d_forward_tf32 : cudnn::conv2d_forward)(
                y.f32(), x.f32(), w.f32(), b ? b->f32() : nullptr, d.N, d.C, d.H, d.W, d.K, d.ks, cuda::stream());
            else (use_tf32() ? cuda::conv2d_forward_tf32 : cuda::conv2d_forward)(
                y.f32(), x.f32(), w.f32(), b ? b->f32() : nullptr, d.N, d.C, d.H, d.W, d.K, d.ks, cuda::stream()));
      });
}
}  // namespace

void conv2d_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* b) {
  SEQNET_OP_TIMER();
  ConvDims d = conv_dims(x, w, "conv2d");
  seqnet_op_timer_.describe([&] { return conv_shape(d); });
  expect_shape(y, {d.N, d.K, d.H, d.W}, "conv2d output");
  if (b) expect_shape(*b, {d.K}, "conv2d bias");
  expect_same_place({&y, &x, &w}, "conv2d");
  run_conv2d_forward(y, x, w, b, d);
}

void conv2d_batchnorm_relu_eval(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* b, const Tensor& gamma,
                                const Tensor& beta, const Tensor& running_mean, const Tensor& running_var,
                                double eps) {
  SEQNET_OP_TIMER();
  ConvDims d = conv_dims(x, w, "conv2d + batch-norm");
  seqnet_op_timer_.describe([&] { return conv_shape(d); });
  expect_shape(y, {d.N, d.K, d.H, d.W}, "conv2d + batch-norm output");
  if (b) expect_shape(*b, {d.K}, "conv2d bias");
  for (const Tensor* t : {&running_mean, &running_var, &gamma, &beta})
    expect_shape(*t, {d.K}, "batch-norm per-channel tensor");
  expect_same_place({&y, &x, &w, &gamma, &beta, &running_mean, &running_var}, "conv2d + batch-norm");
  if (x.device() == Device::cpu && x.dtype() == DType::f32 && d.ks == 3) {
    // The scale exactly as batchnorm_forward_eval computes it: gamma / sqrt(var + eps).
    std::vector<float> scale(d.K);
    for (int k = 0; k < d.K; ++k)
      scale[k] = float(double(gamma.f32()[k]) / std::sqrt(double(running_var.f32()[k]) + eps));
    float* ws = cpu_workspace<float>(cpu::conv2d_workspace_size(d.C, d.H, d.W, d.ks));
    cpu::conv3x3_forward(y.f32(), x.f32(), w.f32(), b ? b->f32() : nullptr, ws, d.N, d.C, d.H, d.W, d.K,
                         {running_mean.f32(), scale.data(), beta.f32(), true});
    return;
  }
#ifdef SEQNET_WITH_CUDA
  if (x.device() == Device::cuda && !use_cudnn()) {
    // The custom kernels: batch-norm and ReLU in the GEMM's epilogue.
    (use_tf32() ? cuda::conv2d_batchnorm_relu_eval_tf32 : cuda::conv2d_batchnorm_relu_eval)(
        y.f32(), x.f32(), w.f32(), b ? b->f32() : nullptr, gamma.f32(), beta.f32(), running_mean.f32(),
        running_var.f32(), eps, d.N, d.C, d.H, d.W, d.K, d.ks, cuda::stream());
    return;
  }
#endif
  // Elsewhere (double, a 1x1 kernel on the CPU, cuDNN): the convolution, then batch-norm and ReLU
  // in place on y.
  run_conv2d_forward(y, x, w, b, d);
  const int64_t HW = int64_t(d.H) * d.W;
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::batchnorm_forward_eval(ptr<T>(y), ptr<T>(y), ptr<T>(gamma), ptr<T>(beta), ptr<T>(running_mean),
                                    ptr<T>(running_var), d.N, d.K, HW, eps);
        cpu::relu_forward(ptr<T>(y), ptr<T>(y), y.numel());
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::batchnorm_forward_eval(y.f32(), y.f32(), gamma.f32(), beta.f32(), running_mean.f32(),
                                                      running_var.f32(), d.N, d.K, HW, eps, cuda::stream());
                         cuda::relu_forward(y.f32(), y.f32(), y.numel(), cuda::stream()));
      });
}

void conv2d_backward_input(Tensor& dx, const Tensor& dy, const Tensor& w) {
  SEQNET_OP_TIMER();
  ConvDims d = conv_dims(dx, w, "conv2d backward");
  seqnet_op_timer_.describe([&] { return conv_shape(d); });
  expect_shape(dy, {d.N, d.K, d.H, d.W}, "conv2d output gradient");
  expect_same_place({&dx, &dy, &w}, "conv2d backward");
  dispatch(
      dx,
      [&](auto t) {
        using T = decltype(t);
        T* ws = cpu_workspace<T>(cpu::conv2d_workspace_size(d.C, d.H, d.W, d.ks));
        cpu::conv2d_backward_input(ptr<T>(dx), ptr<T>(dy), ptr<T>(w), ws, d.N, d.C, d.H, d.W, d.K, d.ks);
      },
      [&] {
        SEQNET_CUDA_ONLY(
            if (use_cudnn()) (use_tf32() ? cudnn::conv2d_backward_input_tf32 : cudnn::conv2d_backward_input)(
                dx.f32(), dy.f32(), w.f32(), d.N, d.C, d.H, d.W, d.K, d.ks, cuda::stream());
            else (use_tf32() ? cuda::conv2d_backward_input_tf32 : cuda::conv2d_backward_input)(
                dx.f32(), dy.f32(), w.f32(), d.N, d.C, d.H, d.W, d.K, d.ks, cuda::stream()));
      });
}

void conv2d_backward_weight(Tensor& dw, const Tensor& dy, const Tensor& x) {
  SEQNET_OP_TIMER();
  ConvDims d = conv_dims(x, dw, "conv2d weight gradient");
  seqnet_op_timer_.describe([&] { return conv_shape(d); });
  expect_shape(dy, {d.N, d.K, d.H, d.W}, "conv2d output gradient");
  expect_same_place({&dw, &dy, &x}, "conv2d weight gradient");
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        T* ws = cpu_workspace<T>(cpu::conv2d_workspace_size(d.C, d.H, d.W, d.ks));
        cpu::conv2d_backward_weight(ptr<T>(dw), ptr<T>(dy), ptr<T>(x), ws, d.N, d.C, d.H, d.W, d.K, d.ks);
      },
      [&] {
        SEQNET_CUDA_ONLY(
            if (use_cudnn()) (use_tf32() ? cudnn::conv2d_backward_weight_tf32 : cudnn::conv2d_backward_weight)(
                dw.f32(), dy.f32(), x.f32(), d.N, d.C, d.H, d.W, d.K, d.ks, cuda::stream());
            else cuda::conv2d_backward_weight(dw.f32(), dy.f32(), x.f32(), d.N, d.C, d.H, d.W, d.K, d.ks,
                                              cuda::stream()));
      });
}

void bias_backward(Tensor& db, const Tensor& dy) {
  SEQNET_OP_TIMER();
  expect_image(dy, "bias gradient");
  const int N = as_int(dy.shape().n()), K = as_int(dy.shape().c());
  const int64_t HW = dy.shape().h() * dy.shape().w();
  expect_shape(db, {K}, "bias gradient");
  expect_same_place({&db, &dy}, "bias gradient");
  dispatch(
      dy,
      [&](auto t) {
        using T = decltype(t);
        cpu::bias_backward(ptr<T>(db), ptr<T>(dy), N, K, HW);
      },
      [&] { SEQNET_CUDA_ONLY(cuda::bias_backward(db.f32(), dy.f32(), N, K, HW, cuda::stream())); });
}

// ---- Transposed convolution -------------------------------------------------------------------

namespace {
ConvDims upconv_dims(const Tensor& x, const Tensor& w, const char* what) {
  expect_image(x, what);
  expect_image(w, what);
  const Shape& s = w.shape();
  if (s[2] != 2 || s[3] != 2 || s[0] != x.shape().c())
    throw ShapeError(std::string(what) + ": weight must be (" + std::to_string(x.shape().c()) + ",K,2,2) for input " +
                     x.shape().str() + ", got " + s.str());
  return {as_int(x.shape().n()), as_int(x.shape().c()), as_int(x.shape().h()), as_int(x.shape().w()), as_int(s[1]), 2};
}
}  // namespace

void conv_transpose2x2_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b) {
  SEQNET_OP_TIMER();
  ConvDims d = upconv_dims(x, w, "transposed conv");
  seqnet_op_timer_.describe([&] { return conv_shape(d); });
  expect_shape(y, {d.N, d.K, 2 * d.H, 2 * d.W}, "transposed conv output");
  expect_shape(b, {d.K}, "transposed conv bias");
  expect_same_place({&y, &x, &w, &b}, "transposed conv");
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        T* ws = cpu_workspace<T>(cpu::conv_transpose2x2_workspace_size(d.K, d.H, d.W));
        cpu::conv_transpose2x2_forward(ptr<T>(y), ptr<T>(x), ptr<T>(w), ptr<T>(b), ws, d.N, d.C, d.H, d.W, d.K);
      },
      [&] {
        SEQNET_CUDA_ONLY(
            cuda::conv_transpose2x2_forward(y.f32(), x.f32(), w.f32(), b.f32(), d.N, d.C, d.H, d.W, d.K, cuda::stream()));
      });
}

void conv_transpose2x2_backward_input(Tensor& dx, const Tensor& dy, const Tensor& w) {
  SEQNET_OP_TIMER();
  ConvDims d = upconv_dims(dx, w, "transposed conv backward");
  seqnet_op_timer_.describe([&] { return conv_shape(d); });
  expect_shape(dy, {d.N, d.K, 2 * d.H, 2 * d.W}, "transposed conv output gradient");
  expect_same_place({&dx, &dy, &w}, "transposed conv backward");
  dispatch(
      dx,
      [&](auto t) {
        using T = decltype(t);
        T* ws = cpu_workspace<T>(cpu::conv_transpose2x2_workspace_size(d.K, d.H, d.W));
        cpu::conv_transpose2x2_backward_input(ptr<T>(dx), ptr<T>(dy), ptr<T>(w), ws, d.N, d.C, d.H, d.W, d.K);
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::conv_transpose2x2_backward_input(dx.f32(), dy.f32(), w.f32(), d.N, d.C, d.H, d.W, d.K,
                                                                cuda::stream()));
      });
}

void conv_transpose2x2_backward_weight(Tensor& dw, const Tensor& dy, const Tensor& x) {
  SEQNET_OP_TIMER();
  ConvDims d = upconv_dims(x, dw, "transposed conv weight gradient");
  seqnet_op_timer_.describe([&] { return conv_shape(d); });
  expect_shape(dy, {d.N, d.K, 2 * d.H, 2 * d.W}, "transposed conv output gradient");
  expect_same_place({&dw, &dy, &x}, "transposed conv weight gradient");
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        T* ws = cpu_workspace<T>(cpu::conv_transpose2x2_workspace_size(d.K, d.H, d.W));
        cpu::conv_transpose2x2_backward_weight(ptr<T>(dw), ptr<T>(dy), ptr<T>(x), ws, d.N, d.C, d.H, d.W, d.K);
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::conv_transpose2x2_backward_weight(dw.f32(), dy.f32(), x.f32(), d.N, d.C, d.H, d.W,
                                                                 d.K, cuda::stream()));
      });
}

// ---- Max-pool ---------------------------------------------------------------------------------

void maxpool2x2_forward(Tensor& y, Tensor& argmax, const Tensor& x) {
  SEQNET_OP_TIMER();
  expect_image(x, "max-pool");
  const int N = as_int(x.shape().n()), C = as_int(x.shape().c()), H = as_int(x.shape().h()), W = as_int(x.shape().w());
  if (H < 2 || W < 2) throw ShapeError("max-pool 2x2 needs planes of at least 2x2, got " + x.shape().str());
  expect_shape(y, {N, C, H / 2, W / 2}, "max-pool output");
  expect_shape(argmax, {N, C, H / 2, W / 2}, "max-pool argmax");
  expect_same_place({&y, &x}, "max-pool");
  expect_argmax(argmax, x, "max-pool");
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::maxpool2x2_forward(ptr<T>(y), argmax.i32(), ptr<T>(x), N, C, H, W);
      },
      [&] { SEQNET_CUDA_ONLY(cuda::maxpool2x2_forward(y.f32(), argmax.i32(), x.f32(), N, C, H, W, cuda::stream())); });
}

void maxpool2x2_backward(Tensor& dx, const Tensor& dy, const Tensor& argmax) {
  SEQNET_OP_TIMER();
  expect_image(dx, "max-pool backward");
  const int N = as_int(dx.shape().n()), C = as_int(dx.shape().c()), H = as_int(dx.shape().h()),
            W = as_int(dx.shape().w());
  expect_shape(dy, {N, C, H / 2, W / 2}, "max-pool output gradient");
  expect_shape(argmax, dy.shape(), "max-pool argmax");
  expect_same_place({&dx, &dy}, "max-pool backward");
  expect_argmax(argmax, dx, "max-pool backward");
  dispatch(
      dx,
      [&](auto t) {
        using T = decltype(t);
        cpu::maxpool2x2_backward(ptr<T>(dx), ptr<T>(dy), argmax.i32(), N, C, H, W);
      },
      [&] { SEQNET_CUDA_ONLY(cuda::maxpool2x2_backward(dx.f32(), dy.f32(), argmax.i32(), N, C, H, W, cuda::stream())); });
}

// ---- Batch normalisation ----------------------------------------------------------------------

namespace {
void expect_no_sync_on_gpu(const Tensor& x, const BatchNormSync* sync) {
  if (sync && x.device() != Device::cpu)
    throw std::invalid_argument("synchronised batch-norm (--sync-batchnorm) runs on the CPU only; leave it out on "
                                "the GPU (each rank then normalises with its own batch's statistics)");
}
}  // namespace

namespace {
struct BatchNormDims {
  int N, C;
  int64_t HW;
};
// The shape checks of a training forward (plain or fused): y like x, six per-channel tensors.
BatchNormDims batchnorm_train_dims(const Tensor& y, const Tensor& mean, const Tensor& rstd,
                                   const Tensor& running_mean, const Tensor& running_var, const Tensor& x,
                                   const Tensor& gamma, const Tensor& beta, const BatchNormSync* sync) {
  expect_no_sync_on_gpu(x, sync);
  expect_image(x, "batch-norm");
  const int N = as_int(x.shape().n()), C = as_int(x.shape().c());
  const int64_t HW = x.shape().h() * x.shape().w();
  if (int64_t(N) * HW < 2) throw ShapeError("batch-norm in training needs more than one value per channel, got input " + x.shape().str());
  expect_shape(y, x.shape(), "batch-norm output");
  for (const Tensor* t : std::initializer_list<const Tensor*>{&mean, &rstd, &running_mean, &running_var, &gamma, &beta})
    expect_shape(*t, {C}, "batch-norm per-channel tensor");
  expect_same_place({&y, &x, &mean, &rstd, &running_mean, &running_var, &gamma, &beta}, "batch-norm");
  return {N, C, HW};
}

// The shape checks of a backward (plain or fused, whose y is checked by the caller).
BatchNormDims batchnorm_backward_dims(const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta, const Tensor& dy,
                                      const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                                      const BatchNormSync* sync) {
  expect_no_sync_on_gpu(x, sync);
  expect_image(x, "batch-norm backward");
  const int N = as_int(x.shape().n()), C = as_int(x.shape().c());
  const int64_t HW = x.shape().h() * x.shape().w();
  expect_shape(dx, x.shape(), "batch-norm input gradient");
  expect_shape(dy, x.shape(), "batch-norm output gradient");
  for (const Tensor* t : std::initializer_list<const Tensor*>{&dgamma, &dbeta, &gamma, &mean, &rstd}) expect_shape(*t, {C}, "batch-norm per-channel tensor");
  expect_same_place({&dx, &dgamma, &dbeta, &dy, &x, &gamma, &mean, &rstd}, "batch-norm backward");
  return {N, C, HW};
}

void expect_dropout_probability(float p) {
  if (!(p >= 0.0f && p < 1.0f)) throw std::invalid_argument("dropout probability must be in [0, 1), got " + std::to_string(p));
}
}  // namespace

void batchnorm_forward_train(Tensor& y, Tensor& mean, Tensor& rstd, Tensor& running_mean, Tensor& running_var,
                             const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, double momentum,
                             const BatchNormSync* sync) {
  SEQNET_OP_TIMER();
  const auto [N, C, HW] = batchnorm_train_dims(y, mean, rstd, running_mean, running_var, x, gamma, beta, sync);
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::batchnorm_forward_train(ptr<T>(y), ptr<T>(mean), ptr<T>(rstd), ptr<T>(running_mean), ptr<T>(running_var),
                                     ptr<T>(x), ptr<T>(gamma), ptr<T>(beta), N, C, HW, eps, momentum, sync);
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::batchnorm_forward_train(y.f32(), mean.f32(), rstd.f32(), running_mean.f32(),
                                                       running_var.f32(), x.f32(), gamma.f32(), beta.f32(), N, C, HW,
                                                       eps, momentum, cuda::stream()));
      });
}

void batchnorm_relu_dropout_forward_train(Tensor& y, Tensor& mean, Tensor& rstd, Tensor& running_mean,
                                          Tensor& running_var, const Tensor& x, const Tensor& gamma,
                                          const Tensor& beta, double eps, double momentum, float p, uint64_t seed,
                                          const BatchNormSync* sync) {
  SEQNET_OP_TIMER();
  const auto [N, C, HW] = batchnorm_train_dims(y, mean, rstd, running_mean, running_var, x, gamma, beta, sync);
  expect_dropout_probability(p);
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::batchnorm_relu_dropout_forward_train(ptr<T>(y), ptr<T>(mean), ptr<T>(rstd), ptr<T>(running_mean),
                                                  ptr<T>(running_var), ptr<T>(x), ptr<T>(gamma), ptr<T>(beta), N, C,
                                                  HW, eps, momentum, p, seed, sync);
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::batchnorm_relu_dropout_forward_train(
            y.f32(), mean.f32(), rstd.f32(), running_mean.f32(), running_var.f32(), x.f32(), gamma.f32(), beta.f32(),
            N, C, HW, eps, momentum, p, seed, cuda::stream()));
      });
}

void batchnorm_forward_eval(Tensor& y, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                            const Tensor& running_mean, const Tensor& running_var, double eps) {
  SEQNET_OP_TIMER();
  expect_image(x, "batch-norm");
  const int N = as_int(x.shape().n()), C = as_int(x.shape().c());
  const int64_t HW = x.shape().h() * x.shape().w();
  expect_shape(y, x.shape(), "batch-norm output");
  for (const Tensor* t : {&running_mean, &running_var, &gamma, &beta}) expect_shape(*t, {C}, "batch-norm per-channel tensor");
  expect_same_place({&y, &x, &running_mean, &running_var, &gamma, &beta}, "batch-norm");
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::batchnorm_forward_eval(ptr<T>(y), ptr<T>(x), ptr<T>(gamma), ptr<T>(beta), ptr<T>(running_mean),
                                    ptr<T>(running_var), N, C, HW, eps);
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::batchnorm_forward_eval(y.f32(), x.f32(), gamma.f32(), beta.f32(), running_mean.f32(),
                                                      running_var.f32(), N, C, HW, eps, cuda::stream()));
      });
}

void batchnorm_backward(Tensor& dx, Tensor& dgamma, Tensor& dbeta, const Tensor& dy, const Tensor& x,
                        const Tensor& gamma, const Tensor& mean, const Tensor& rstd, const BatchNormSync* sync) {
  SEQNET_OP_TIMER();
  const auto [N, C, HW] = batchnorm_backward_dims(dx, dgamma, dbeta, dy, x, gamma, mean, rstd, sync);
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::batchnorm_backward(ptr<T>(dx), ptr<T>(dgamma), ptr<T>(dbeta), ptr<T>(dy), ptr<T>(x), ptr<T>(gamma),
                                ptr<T>(mean), ptr<T>(rstd), N, C, HW, sync);
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::batchnorm_backward(dx.f32(), dgamma.f32(), dbeta.f32(), dy.f32(), x.f32(), gamma.f32(),
                                                  mean.f32(), rstd.f32(), N, C, HW, cuda::stream()));
      });
}

void batchnorm_relu_dropout_backward(Tensor& dx, Tensor& dgamma, Tensor& dbeta, const Tensor& dy, const Tensor& x,
                                     const Tensor& y, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                                     float p, const BatchNormSync* sync) {
  SEQNET_OP_TIMER();
  const auto [N, C, HW] = batchnorm_backward_dims(dx, dgamma, dbeta, dy, x, gamma, mean, rstd, sync);
  expect_shape(y, x.shape(), "batch-norm + ReLU + dropout output");
  expect_same_place({&y, &x}, "batch-norm + ReLU + dropout backward");
  expect_dropout_probability(p);
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::batchnorm_relu_dropout_backward(ptr<T>(dx), ptr<T>(dgamma), ptr<T>(dbeta), ptr<T>(dy), ptr<T>(x),
                                             ptr<T>(y), ptr<T>(gamma), ptr<T>(mean), ptr<T>(rstd), N, C, HW, p, sync);
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::batchnorm_relu_dropout_backward(dx.f32(), dgamma.f32(), dbeta.f32(), dy.f32(), x.f32(),
                                                               y.f32(), gamma.f32(), mean.f32(), rstd.f32(), N, C, HW,
                                                               p, cuda::stream()));
      });
}

// ---- Element-wise -----------------------------------------------------------------------------

namespace {
void expect_same(const Tensor& a, const Tensor& b, const char* what) {
  expect_shape(a, b.shape(), what);
  expect_same_place({&a, &b}, what);
}
}  // namespace

void relu_forward(Tensor& y, const Tensor& x) {
  SEQNET_OP_TIMER();
  expect_same(y, x, "relu output");
  dispatch(
      x, [&](auto t) { using T = decltype(t); cpu::relu_forward(ptr<T>(y), ptr<T>(x), x.numel()); },
      [&] { SEQNET_CUDA_ONLY(cuda::relu_forward(y.f32(), x.f32(), x.numel(), cuda::stream())); });
}

void relu_backward(Tensor& dx, const Tensor& dy, const Tensor& y) {
  SEQNET_OP_TIMER();
  expect_same(dx, y, "relu input gradient");
  expect_same(dy, y, "relu output gradient");
  dispatch(
      y, [&](auto t) { using T = decltype(t); cpu::relu_backward(ptr<T>(dx), ptr<T>(dy), ptr<T>(y), y.numel()); },
      [&] { SEQNET_CUDA_ONLY(cuda::relu_backward(dx.f32(), dy.f32(), y.f32(), y.numel(), cuda::stream())); });
}

void sigmoid_forward(Tensor& y, const Tensor& x) {
  SEQNET_OP_TIMER();
  expect_same(y, x, "sigmoid output");
  dispatch(
      x, [&](auto t) { using T = decltype(t); cpu::sigmoid_forward(ptr<T>(y), ptr<T>(x), x.numel()); },
      [&] { SEQNET_CUDA_ONLY(cuda::sigmoid_forward(y.f32(), x.f32(), x.numel(), cuda::stream())); });
}

void sigmoid_backward(Tensor& dx, const Tensor& dy, const Tensor& y) {
  SEQNET_OP_TIMER();
  expect_same(dx, y, "sigmoid input gradient");
  expect_same(dy, y, "sigmoid output gradient");
  dispatch(
      y, [&](auto t) { using T = decltype(t); cpu::sigmoid_backward(ptr<T>(dx), ptr<T>(dy), ptr<T>(y), y.numel()); },
      [&] { SEQNET_CUDA_ONLY(cuda::sigmoid_backward(dx.f32(), dy.f32(), y.f32(), y.numel(), cuda::stream())); });
}

void dropout_forward(Tensor& y, const Tensor& x, float p, uint64_t seed) {
  SEQNET_OP_TIMER();
  expect_same(y, x, "dropout output");
  expect_dropout_probability(p);
  dispatch(
      x, [&](auto t) { using T = decltype(t); cpu::dropout_forward(ptr<T>(y), ptr<T>(x), x.numel(), p, seed); },
      [&] { SEQNET_CUDA_ONLY(cuda::dropout_forward(y.f32(), x.f32(), x.numel(), p, seed, cuda::stream())); });
}

void dropout_backward(Tensor& dx, const Tensor& dy, float p, uint64_t seed) {
  SEQNET_OP_TIMER();
  expect_same(dx, dy, "dropout input gradient");
  dispatch(
      dy, [&](auto t) { using T = decltype(t); cpu::dropout_backward(ptr<T>(dx), ptr<T>(dy), dy.numel(), p, seed); },
      [&] { SEQNET_CUDA_ONLY(cuda::dropout_backward(dx.f32(), dy.f32(), dy.numel(), p, seed, cuda::stream())); });
}

void add_inplace(Tensor& y, const Tensor& x) {
  SEQNET_OP_TIMER();
  expect_same(y, x, "gradient sum");
  dispatch(
      x, [&](auto t) { using T = decltype(t); cpu::add_inplace(ptr<T>(y), ptr<T>(x), x.numel()); },
      [&] { SEQNET_CUDA_ONLY(cuda::add_inplace(y.f32(), x.f32(), x.numel(), cuda::stream())); });
}

// ---- Channels ---------------------------------------------------------------------------------

namespace {
// Checks that `part` fits at channel `offset` of `whole` (same N, H, W).
void expect_channel_block(const Tensor& whole, const Tensor& part, int offset, const char* what) {
  expect_image(whole, what);
  expect_image(part, what);
  const Shape &a = whole.shape(), &b = part.shape();
  if (a.n() != b.n() || a.h() != b.h() || a.w() != b.w() || offset < 0 || offset + b.c() > a.c())
    throw ShapeError(std::string(what) + ": block " + b.str() + " at channel " + std::to_string(offset) +
                     " does not fit in " + a.str());
  expect_same_place({&whole, &part}, what);
}
}  // namespace

void copy_into_channels(Tensor& dst, const Tensor& src, int offset) {
  SEQNET_OP_TIMER();
  expect_channel_block(dst, src, offset, "concat");
  const int N = as_int(dst.shape().n()), Cd = as_int(dst.shape().c()), Cs = as_int(src.shape().c());
  const int64_t HW = dst.shape().h() * dst.shape().w();
  dispatch(
      src, [&](auto t) { using T = decltype(t); cpu::copy_into_channels(ptr<T>(dst), ptr<T>(src), N, Cd, offset, Cs, HW); },
      [&] { SEQNET_CUDA_ONLY(cuda::copy_into_channels(dst.f32(), src.f32(), N, Cd, offset, Cs, HW, cuda::stream())); });
}

void copy_from_channels(Tensor& dst, const Tensor& src, int offset) {
  SEQNET_OP_TIMER();
  expect_channel_block(src, dst, offset, "split");
  const int N = as_int(dst.shape().n()), Cd = as_int(dst.shape().c()), Cs = as_int(src.shape().c());
  const int64_t HW = dst.shape().h() * dst.shape().w();
  dispatch(
      src, [&](auto t) { using T = decltype(t); cpu::copy_from_channels(ptr<T>(dst), ptr<T>(src), N, Cs, offset, Cd, HW); },
      [&] { SEQNET_CUDA_ONLY(cuda::copy_from_channels(dst.f32(), src.f32(), N, Cs, offset, Cd, HW, cuda::stream())); });
}

void add_from_channels(Tensor& dst, const Tensor& src, int offset) {
  SEQNET_OP_TIMER();
  expect_channel_block(src, dst, offset, "split (accumulating)");
  const int N = as_int(dst.shape().n()), Cd = as_int(dst.shape().c()), Cs = as_int(src.shape().c());
  const int64_t HW = dst.shape().h() * dst.shape().w();
  dispatch(
      src, [&](auto t) { using T = decltype(t); cpu::add_from_channels(ptr<T>(dst), ptr<T>(src), N, Cs, offset, Cd, HW); },
      [&] { SEQNET_CUDA_ONLY(cuda::add_from_channels(dst.f32(), src.f32(), N, Cs, offset, Cd, HW, cuda::stream())); });
}

void broadcast_mul(Tensor& y, const Tensor& x, const Tensor& m) {
  SEQNET_OP_TIMER();
  expect_image(x, "broadcast multiply");
  const int N = as_int(x.shape().n()), C = as_int(x.shape().c());
  const int64_t HW = x.shape().h() * x.shape().w();
  expect_shape(y, x.shape(), "broadcast multiply output");
  expect_shape(m, {N, 1, x.shape().h(), x.shape().w()}, "broadcast multiply map");
  expect_same_place({&y, &x, &m}, "broadcast multiply");
  dispatch(
      x, [&](auto t) { using T = decltype(t); cpu::broadcast_mul(ptr<T>(y), ptr<T>(x), ptr<T>(m), N, C, HW); },
      [&] { SEQNET_CUDA_ONLY(cuda::broadcast_mul(y.f32(), x.f32(), m.f32(), N, C, HW, cuda::stream())); });
}

// ---- Loss and optimiser -----------------------------------------------------------------------

void bce_with_logits(Tensor& loss, Tensor& dx, const Tensor& logits, const Tensor& target) {
  SEQNET_OP_TIMER();
  expect_same(target, logits, "BCE target");
  expect_same(dx, logits, "BCE gradient");
  expect_shape(loss, {1}, "BCE loss");
  dispatch(
      logits,
      [&](auto t) {
        using T = decltype(t);
        ptr<T>(loss)[0] += static_cast<T>(cpu::bce_with_logits(ptr<T>(dx), ptr<T>(logits), ptr<T>(target), logits.numel()));
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::bce_with_logits(loss.f32(), dx.f32(), logits.f32(), target.f32(), logits.numel(),
                                               cuda::stream()));
      });
}

void bce_with_logits_weighted(Tensor& loss, Tensor& dx, const Tensor& logits, const Tensor& target,
                              const Tensor& weight, double weight_sum) {
  SEQNET_OP_TIMER();
  expect_same(target, logits, "BCE target");
  expect_same(weight, logits, "BCE weight");
  expect_same(dx, logits, "BCE gradient");
  expect_shape(loss, {1}, "BCE loss");
  dispatch(
      logits,
      [&](auto t) {
        using T = decltype(t);
        ptr<T>(loss)[0] += static_cast<T>(cpu::bce_with_logits_weighted(
            ptr<T>(dx), ptr<T>(logits), ptr<T>(target), ptr<T>(weight), weight_sum, logits.numel()));
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::bce_with_logits_weighted(loss.f32(), dx.f32(), logits.f32(), target.f32(), weight.f32(),
                                                        weight_sum, logits.numel(), cuda::stream()));
      });
}

void adam_update(Tensor& param, Tensor& m, Tensor& v, const Tensor& grad, const cpu::AdamSettings& s, int64_t step) {
  SEQNET_OP_TIMER();
  for (const Tensor* t : std::initializer_list<const Tensor*>{&m, &v, &grad}) expect_shape(*t, param.shape(), "Adam state");
  expect_same_place({&param, &m, &v, &grad}, "Adam");
  dispatch(
      param,
      [&](auto t) {
        using T = decltype(t);
        cpu::adam_update(ptr<T>(param), ptr<T>(m), ptr<T>(v), ptr<T>(grad), param.numel(), s, step);
      },
      [&] {
        SEQNET_CUDA_ONLY(cuda::adam_update(param.f32(), m.f32(), v.f32(), grad.f32(), param.numel(), s, step,
                                           cuda::stream()));
      });
}

}  // namespace seqnet::ops
