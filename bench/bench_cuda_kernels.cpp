// bench_cuda_kernels.cpp: the custom implicit-GEMM convolutions against cuDNN, in FP32 (true
// float32 on both sides) and TF32, at SeqNet's 3x3 shapes, plus cuBLAS SGEMM at a large square
// size as the chip's float32 reference line; and every other CUDA kernel (transposed conv,
// max-pool, batch-norm and its training fusion with ReLU and dropout, the element-wise kernels,
// concat, BCE, Adam) at the top level's map, in GB/s (BM_<kernel>/<shape>: bytes read and written
// once per element, per device-timed second).
//
// Names read as BM_conv_<pass>/<engine>/<shape>, so each custom line sits beside its cuDNN line
// and the naive kernel 1 (kernels/cuda/conv2d_naive.cu, one thread per output; docs/KERNELS.md):
//   BM_conv_fwd/naive/N1_C32_576x576_K32  BM_conv_fwd/custom/...  BM_conv_fwd/cudnn/...
//   BM_conv_fwd/tf32/...  BM_conv_fwd/cudnn_tf32/...
// (engine tf32: the custom kernels on tensor cores, --conv-precision tf32, forward and
// backward-input, the weight gradient being FP32 in the custom kernels; cudnn_tf32: cuDNN with
// tensor-op math, TF32 as PyTorch's default for convolutions, its fastest algorithm of any kind,
// all three passes, so its weight gradient shows what TF32 would give there).
// Shapes: the encoder/decoder levels of a 576x576 image, batch 1 (width 32 at 576 up to 512 at
// 36), and of 128x128 training crops, batch 24 (32 at 128 up to 512 at 8). Each iteration is
// timed on the device with CUDA events (UseManualTime); the GFLOP/s counter counts 2 flops per
// multiply-add of the convolution (2 N H W K C ks^2). Without a GPU one benchmark reports why.
//
// The forward convolution's progression in five steps (kernels/cuda/conv3x3_progression.h,
// docs/KERNELS.md), each step at four of the shapes above, timed the same way:
//   BM_conv3x3_progression/1_naive/N1_C32_576x576_K32 ... BM_conv3x3_progression/5_tensor_cores/...
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/runtime.h"

#if SEQNET_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/adam.h"
#include "kernels/cuda/batchnorm.h"
#include "kernels/cuda/channels.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv_transpose2x2.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/maxpool2x2.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv2d_naive.h"
#include "kernels/cuda/conv3x3_progression.h"
#include "kernels/cuda/cublas_gemm.h"
#include "kernels/cuda/cudnn_conv.h"
#include "kernels/tensor.h"

namespace {

using seqnet::Device;
using seqnet::Shape;
using seqnet::Tensor;

struct ConvShape {
  int N, C, H, W, K;
};

const std::vector<ConvShape> kShapes = {
    {1, 32, 576, 576, 32},  {1, 64, 288, 288, 64},  {1, 128, 144, 144, 128}, {1, 256, 72, 72, 256},
    {1, 512, 36, 36, 512},  {24, 32, 128, 128, 32}, {24, 64, 64, 64, 64},    {24, 128, 32, 32, 128},
    {24, 256, 16, 16, 256}, {24, 512, 8, 8, 512},
};
constexpr int kKsize = 3;

std::string shape_name(const ConvShape& s) {
  return "N" + std::to_string(s.N) + "_C" + std::to_string(s.C) + "_" + std::to_string(s.H) + "x" +
         std::to_string(s.W) + "_K" + std::to_string(s.K);
}

// A device tensor of normal random numbers: real data, never zeros (they can run faster).
Tensor random_device_tensor(const Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  Tensor host = Tensor::empty(shape);
  for (int64_t i = 0; i < host.numel(); ++i) host.f32()[i] = dist(rng);
  return host.to(Device::cuda);
}

// Times `run` per iteration with events on the program's stream, after one warm-up call
// (module load, cuDNN's algorithm search and workspace allocation stay out of the numbers).
template <typename Run>
void time_on_device(benchmark::State& state, double flops, Run run) {
  cudaStream_t stream = seqnet::cuda::stream();
  cudaEvent_t start, stop;
  SEQNET_CUDA_CHECK(cudaEventCreate(&start));
  SEQNET_CUDA_CHECK(cudaEventCreate(&stop));
  run(stream);
  SEQNET_CUDA_CHECK(cudaStreamSynchronize(stream));
  for (auto _ : state) {
    SEQNET_CUDA_CHECK(cudaEventRecord(start, stream));
    run(stream);
    SEQNET_CUDA_CHECK(cudaEventRecord(stop, stream));
    SEQNET_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    SEQNET_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  SEQNET_CUDA_CHECK(cudaEventDestroy(start));
  SEQNET_CUDA_CHECK(cudaEventDestroy(stop));
}

enum class Pass { forward, backward_input, backward_weight };
enum class Engine { naive, custom, cudnn, tf32, cudnn_tf32 };

// The three passes of one engine share their signatures.
struct ConvFunctions {
  decltype(&seqnet::cuda::conv2d_forward) forward;
  decltype(&seqnet::cuda::conv2d_backward_input) backward_input;
  decltype(&seqnet::cuda::conv2d_backward_weight) backward_weight;
};

ConvFunctions conv_functions(Engine engine) {
  switch (engine) {
    case Engine::naive:
      return {seqnet::cuda::naive::conv2d_forward, seqnet::cuda::naive::conv2d_backward_input,
              seqnet::cuda::naive::conv2d_backward_weight};
    case Engine::custom:
      return {seqnet::cuda::conv2d_forward, seqnet::cuda::conv2d_backward_input, seqnet::cuda::conv2d_backward_weight};
    case Engine::tf32:
      return {seqnet::cuda::conv2d_forward_tf32, seqnet::cuda::conv2d_backward_input_tf32,
              seqnet::cuda::conv2d_backward_weight};
    case Engine::cudnn_tf32:
      return {seqnet::cudnn::conv2d_forward_tf32, seqnet::cudnn::conv2d_backward_input_tf32,
              seqnet::cudnn::conv2d_backward_weight_tf32};
    case Engine::cudnn:
      break;
  }
  return {seqnet::cudnn::conv2d_forward, seqnet::cudnn::conv2d_backward_input, seqnet::cudnn::conv2d_backward_weight};
}

const char* engine_name(Engine engine) {
  switch (engine) {
    case Engine::naive: return "naive";
    case Engine::custom: return "custom";
    case Engine::tf32: return "tf32";
    case Engine::cudnn_tf32: return "cudnn_tf32";
    case Engine::cudnn: break;
  }
  return "cudnn";
}

void bm_conv(benchmark::State& state, ConvShape s, Pass pass, Engine engine) {
  const Tensor x = random_device_tensor({s.N, s.C, s.H, s.W}, 1);
  const Tensor w = random_device_tensor({s.K, s.C, kKsize, kKsize}, 2);
  const Tensor b = random_device_tensor({s.K}, 3);
  const Tensor dy = random_device_tensor({s.N, s.K, s.H, s.W}, 4);
  Tensor y = Tensor::empty({s.N, s.K, s.H, s.W}, Device::cuda), dx = Tensor::empty(x.shape(), Device::cuda);
  Tensor dw = random_device_tensor(w.shape(), 5);
  const double flops = 2.0 * s.N * s.H * s.W * double(s.K) * s.C * kKsize * kKsize;
  const ConvFunctions f = conv_functions(engine);
  switch (pass) {
    case Pass::forward:
      time_on_device(state, flops, [&](cudaStream_t stream) {
        f.forward(y.f32(), x.f32(), w.f32(), b.f32(), s.N, s.C, s.H, s.W, s.K, kKsize, stream);
      });
      break;
    case Pass::backward_input:
      time_on_device(state, flops, [&](cudaStream_t stream) {
        f.backward_input(dx.f32(), dy.f32(), w.f32(), s.N, s.C, s.H, s.W, s.K, kKsize, stream);
      });
      break;
    case Pass::backward_weight:
      time_on_device(state, flops, [&](cudaStream_t stream) {
        f.backward_weight(dw.f32(), dy.f32(), x.f32(), s.N, s.C, s.H, s.W, s.K, kKsize, stream);
      });
      break;
  }
}

void bm_progression_step(benchmark::State& state, ConvShape s, seqnet::cuda::progression::Forward forward) {
  const Tensor x = random_device_tensor({s.N, s.C, s.H, s.W}, 1);
  const Tensor w = random_device_tensor({s.K, s.C, kKsize, kKsize}, 2);
  const Tensor b = random_device_tensor({s.K}, 3);
  Tensor y = Tensor::empty({s.N, s.K, s.H, s.W}, Device::cuda);
  time_on_device(state, 2.0 * s.N * s.H * s.W * double(s.K) * s.C * kKsize * kKsize, [&](cudaStream_t stream) {
    forward(y.f32(), x.f32(), w.f32(), b.f32(), s.N, s.C, s.H, s.W, s.K, stream);
  });
}

// The top level (32 channels: half of a 64-row tile idle), two middle levels and the bottom one.
void register_progression() {
  const ConvShape shapes[] = {{1, 32, 576, 576, 32}, {1, 128, 144, 144, 128}, {1, 512, 36, 36, 512},
                              {24, 64, 64, 64, 64}};
  for (const auto& step : seqnet::cuda::progression::steps())
    for (const ConvShape& s : shapes) {
      const std::string name = std::string("BM_conv3x3_progression/") + step.name + "/" + shape_name(s);
      benchmark::RegisterBenchmark(name.c_str(), bm_progression_step, s, step.forward)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.2);
    }
}

void bm_sgemm_cublas(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const Tensor a = random_device_tensor({n, n}, 6), b = random_device_tensor({n, n}, 7);
  Tensor c = Tensor::empty({n, n}, Device::cuda);
  time_on_device(state, 2.0 * n * double(n) * n,
                 [&](cudaStream_t stream) { seqnet::cublas::sgemm(c.f32(), a.f32(), b.f32(), n, n, n, stream); });
}

// Times `run` like time_on_device and reports bytes/s for `bytes` moved per call.
template <typename Run>
void time_bytes_on_device(benchmark::State& state, double bytes, Run run) {
  time_on_device(state, 0.0, run);
  state.counters.erase("GFLOP/s");
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

enum class Kernel {
  upconv_forward, upconv_backward_input, upconv_backward_weight, maxpool_forward, maxpool_backward,
  batchnorm_train, batchnorm_eval, batchnorm_backward, batchnorm_relu_dropout_train, batchnorm_relu_dropout_backward,
  relu_forward, relu_backward, sigmoid_forward,
  dropout_forward, dropout_backward, add_inplace, concat, broadcast_mul, bce_with_logits, adam
};

// One map of the top level: (N, C, side, side), as the 3x3 shapes above.
void bm_kernel(benchmark::State& state, Kernel kernel, int N, int C, int side) {
  namespace cuda = seqnet::cuda;
  const int64_t HW = int64_t(side) * side, n = int64_t(N) * C * HW;
  const Tensor a = random_device_tensor({N, C, side, side}, 11), b = random_device_tensor({N, C, side, side}, 12);
  Tensor out = Tensor::empty({2 * n}, Device::cuda), out2 = Tensor::empty({n}, Device::cuda);
  const Tensor per_channel = random_device_tensor({C}, 13);
  Tensor var = Tensor::empty({C}, Device::cuda), stat1 = Tensor::empty({C}, Device::cuda);
  Tensor stat2 = Tensor::empty({C}, Device::cuda), grad1 = Tensor::zeros({C}).to(Device::cuda);
  var.fill(0.9);
  stat2.fill(1.0);
  Tensor grad2 = Tensor::zeros({C}).to(Device::cuda), loss = Tensor::zeros({1}).to(Device::cuda);
  Tensor argmax = Tensor::empty({n / 4}, Device::cuda, seqnet::DType::i32);
  const int half = side / 2;  // the transposed conv goes from (N, 2C, half, half) up to (N, C, side, side)
  const Tensor up_x = random_device_tensor({N, 2 * C, half, half}, 14);
  const Tensor up_w = random_device_tensor({2 * C, C, 2, 2}, 15);
  Tensor up_dw = random_device_tensor({2 * C, C, 2, 2}, 16), up_dx = Tensor::empty(up_x.shape(), Device::cuda);
  const double f = 4.0;  // bytes per float
  switch (kernel) {
    case Kernel::upconv_forward:
      time_on_device(state, 2.0 * n * 2 * C * 4 / 4, [&](cudaStream_t st) {
        cuda::conv_transpose2x2_forward(out.f32(), up_x.f32(), up_w.f32(), per_channel.f32(), N, 2 * C, half, half, C,
                                        st);
      });
      break;
    case Kernel::upconv_backward_input:
      time_on_device(state, 2.0 * n * 2 * C * 4 / 4, [&](cudaStream_t st) {
        cuda::conv_transpose2x2_backward_input(up_dx.f32(), a.f32(), up_w.f32(), N, 2 * C, half, half, C, st);
      });
      break;
    case Kernel::upconv_backward_weight:
      time_on_device(state, 2.0 * n * 2 * C * 4 / 4, [&](cudaStream_t st) {
        cuda::conv_transpose2x2_backward_weight(up_dw.f32(), a.f32(), up_x.f32(), N, 2 * C, half, half, C, st);
      });
      break;
    case Kernel::maxpool_forward:
      time_bytes_on_device(state, f * n + 2 * f * n / 4, [&](cudaStream_t st) {
        cuda::maxpool2x2_forward(out.f32(), argmax.i32(), a.f32(), N, C, side, side, st);
      });
      break;
    case Kernel::maxpool_backward:
      cuda::maxpool2x2_forward(out.f32(), argmax.i32(), a.f32(), N, C, side, side, seqnet::cuda::stream());
      time_bytes_on_device(state, f * n + 2 * f * n / 4, [&](cudaStream_t st) {
        cuda::maxpool2x2_backward(out2.f32(), b.f32(), argmax.i32(), N, C, side, side, st);
      });
      break;
    case Kernel::batchnorm_train:
      time_bytes_on_device(state, 4 * f * n, [&](cudaStream_t st) {
        cuda::batchnorm_forward_train(out.f32(), stat1.f32(), stat2.f32(), grad1.f32(), var.f32(), a.f32(),
                                      per_channel.f32(), per_channel.f32(), N, C, HW, 1e-5, 0.1, st);
      });
      break;
    case Kernel::batchnorm_eval:
      time_bytes_on_device(state, 2 * f * n, [&](cudaStream_t st) {
        cuda::batchnorm_forward_eval(out.f32(), a.f32(), per_channel.f32(), per_channel.f32(), per_channel.f32(),
                                     var.f32(), N, C, HW, 1e-5, st);
      });
      break;
    case Kernel::batchnorm_backward:
      time_bytes_on_device(state, 5 * f * n, [&](cudaStream_t st) {
        cuda::batchnorm_backward(out.f32(), grad1.f32(), grad2.f32(), b.f32(), a.f32(), per_channel.f32(),
                                 per_channel.f32(), stat2.f32(), N, C, HW, st);
      });
      break;
    case Kernel::batchnorm_relu_dropout_train:  // x twice, y once
      time_bytes_on_device(state, 3 * f * n, [&](cudaStream_t st) {
        cuda::batchnorm_relu_dropout_forward_train(out.f32(), stat1.f32(), stat2.f32(), grad1.f32(), var.f32(),
                                                   a.f32(), per_channel.f32(), per_channel.f32(), N, C, HW, 1e-5, 0.1,
                                                   0.1f, 42, st);
      });
      break;
    case Kernel::batchnorm_relu_dropout_backward:  // dy, x and y twice each, dx once
      time_bytes_on_device(state, 7 * f * n, [&](cudaStream_t st) {
        cuda::batchnorm_relu_dropout_backward(out.f32(), grad1.f32(), grad2.f32(), b.f32(), a.f32(), b.f32(),
                                              per_channel.f32(), per_channel.f32(), stat2.f32(), N, C, HW, 0.1f, st);
      });
      break;
    case Kernel::relu_forward:
      time_bytes_on_device(state, 2 * f * n, [&](cudaStream_t st) { cuda::relu_forward(out.f32(), a.f32(), n, st); });
      break;
    case Kernel::relu_backward:
      time_bytes_on_device(state, 3 * f * n,
                           [&](cudaStream_t st) { cuda::relu_backward(out.f32(), a.f32(), b.f32(), n, st); });
      break;
    case Kernel::sigmoid_forward:
      time_bytes_on_device(state, 2 * f * n,
                           [&](cudaStream_t st) { cuda::sigmoid_forward(out.f32(), a.f32(), n, st); });
      break;
    case Kernel::dropout_forward:
      time_bytes_on_device(state, 2 * f * n,
                           [&](cudaStream_t st) { cuda::dropout_forward(out.f32(), a.f32(), n, 0.1f, 42, st); });
      break;
    case Kernel::dropout_backward:
      time_bytes_on_device(state, 2 * f * n,
                           [&](cudaStream_t st) { cuda::dropout_backward(out.f32(), a.f32(), n, 0.1f, 42, st); });
      break;
    case Kernel::add_inplace:
      time_bytes_on_device(state, 3 * f * n, [&](cudaStream_t st) { cuda::add_inplace(out.f32(), a.f32(), n, st); });
      break;
    case Kernel::concat:
      time_bytes_on_device(state, 4 * f * n, [&](cudaStream_t st) {
        cuda::copy_into_channels(out.f32(), a.f32(), N, 2 * C, 0, C, HW, st);
        cuda::copy_into_channels(out.f32(), b.f32(), N, 2 * C, C, C, HW, st);
      });
      break;
    case Kernel::broadcast_mul:
      time_bytes_on_device(state, 2 * f * n + f * N * HW, [&](cudaStream_t st) {
        cuda::broadcast_mul(out.f32(), a.f32(), b.f32(), N, C, HW, st);
      });
      break;
    case Kernel::bce_with_logits:
      time_bytes_on_device(state, 3 * f * n, [&](cudaStream_t st) {
        cuda::bce_with_logits(loss.f32(), out.f32(), a.f32(), b.f32(), n, st);
      });
      break;
    case Kernel::adam: {
      Tensor param = random_device_tensor({n}, 17), m = Tensor::zeros({n}).to(Device::cuda);
      Tensor v = Tensor::zeros({n}).to(Device::cuda);
      int64_t step = 0;
      time_bytes_on_device(state, 7 * f * n, [&](cudaStream_t st) {
        cuda::adam_update(param.f32(), m.f32(), v.f32(), a.f32(), n, seqnet::cpu::AdamSettings{}, ++step, st);
      });
      break;
    }
  }
}

void register_other_kernels() {
  const struct {
    Kernel kernel;
    const char* name;
  } kernels[] = {{Kernel::upconv_forward, "BM_upconv_fwd"},
                 {Kernel::upconv_backward_input, "BM_upconv_bwd_input"},
                 {Kernel::upconv_backward_weight, "BM_upconv_bwd_weight"},
                 {Kernel::maxpool_forward, "BM_maxpool_fwd"},
                 {Kernel::maxpool_backward, "BM_maxpool_bwd"},
                 {Kernel::batchnorm_train, "BM_batchnorm_train"},
                 {Kernel::batchnorm_eval, "BM_batchnorm_eval"},
                 {Kernel::batchnorm_backward, "BM_batchnorm_bwd"},
                 {Kernel::batchnorm_relu_dropout_train, "BM_batchnorm_relu_dropout_train"},
                 {Kernel::batchnorm_relu_dropout_backward, "BM_batchnorm_relu_dropout_bwd"},
                 {Kernel::relu_forward, "BM_relu_fwd"},
                 {Kernel::relu_backward, "BM_relu_bwd"},
                 {Kernel::sigmoid_forward, "BM_sigmoid_fwd"},
                 {Kernel::dropout_forward, "BM_dropout_fwd"},
                 {Kernel::dropout_backward, "BM_dropout_bwd"},
                 {Kernel::add_inplace, "BM_add_inplace"},
                 {Kernel::concat, "BM_concat"},
                 {Kernel::broadcast_mul, "BM_broadcast_mul"},
                 {Kernel::bce_with_logits, "BM_bce_with_logits"},
                 {Kernel::adam, "BM_adam"}};
  const struct {
    int N, C, side;
  } maps[] = {{1, 32, 576}, {24, 32, 128}};
  for (const auto& k : kernels)
    for (const auto& m : maps) {
      const std::string name = std::string(k.name) + "/N" + std::to_string(m.N) + "_C" + std::to_string(m.C) + "_" +
                               std::to_string(m.side) + "x" + std::to_string(m.side);
      benchmark::RegisterBenchmark(name.c_str(), bm_kernel, k.kernel, m.N, m.C, m.side)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.1);
    }
}

void register_benchmarks() {
  std::string why_not;
  const bool with_cudnn = seqnet::cudnn::available(&why_not);
  if (!with_cudnn) std::fprintf(stderr, "cuDNN lines skipped: %s\n", why_not.c_str());
  const struct {
    Pass pass;
    const char* name;
  } passes[] = {{Pass::forward, "BM_conv_fwd"},
                {Pass::backward_input, "BM_conv_bwd_input"},
                {Pass::backward_weight, "BM_conv_bwd_weight"}};
  for (const auto& p : passes)
    for (const ConvShape& s : kShapes)
      for (Engine engine : {Engine::naive, Engine::custom, Engine::cudnn, Engine::tf32, Engine::cudnn_tf32}) {
        if ((engine == Engine::cudnn || engine == Engine::cudnn_tf32) && !with_cudnn) continue;
        if (engine == Engine::tf32 && p.pass == Pass::backward_weight) continue;  // same kernel as custom
        // The naive weight gradient sums N*H*W products in one thread: seconds per call at the
        // 576x576 and 24 x 128x128 top levels, so it is timed on the smaller planes only.
        if (engine == Engine::naive && p.pass == Pass::backward_weight && int64_t(s.N) * s.H * s.W > 65536) continue;
        const std::string name = std::string(p.name) + "/" + engine_name(engine) + "/" + shape_name(s);
        benchmark::RegisterBenchmark(name.c_str(), bm_conv, s, p.pass, engine)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.2);
      }
  register_progression();
  register_other_kernels();
  benchmark::RegisterBenchmark("BM_sgemm_cublas", bm_sgemm_cublas)
      ->Arg(8192)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->MinTime(0.5);
}

}  // namespace
#endif  // SEQNET_WITH_CUDA

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string why_not;
  if (seqnet::cuda::available(&why_not)) {
#if SEQNET_WITH_CUDA
    register_benchmarks();
#endif
  } else {
    benchmark::RegisterBenchmark("BM_cuda_kernels", [why_not](benchmark::State& state) {
      state.SkipWithError(("no usable GPU: " + why_not).c_str());
    });
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
