// bench_cuda_kernels.cpp: the custom implicit-GEMM convolutions against cuDNN (true float32 on
// both sides) at SeqNet's 3x3 shapes, plus cuBLAS SGEMM at a large square size as the chip's
// float32 reference line.
//
// Names read as BM_conv_<pass>/<engine>/<shape>, so each custom line sits beside its cuDNN line:
//   BM_conv_fwd/custom/N1_C32_576x576_K32      BM_conv_fwd/cudnn/N1_C32_576x576_K32
// Shapes: the encoder/decoder levels of a 576x576 image, batch 1 (width 32 at 576 up to 512 at
// 36), and of 128x128 training crops, batch 24 (32 at 128 up to 512 at 8). Each iteration is
// timed on the device with CUDA events (UseManualTime); the GFLOP/s counter counts 2 flops per
// multiply-add of the convolution (2 N H W K C ks^2). Without a GPU one benchmark reports why.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/runtime.h"

#if SEQNET_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d.h"
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
enum class Engine { custom, cudnn };

void bm_conv(benchmark::State& state, ConvShape s, Pass pass, Engine engine) {
  const Tensor x = random_device_tensor({s.N, s.C, s.H, s.W}, 1);
  const Tensor w = random_device_tensor({s.K, s.C, kKsize, kKsize}, 2);
  const Tensor b = random_device_tensor({s.K}, 3);
  const Tensor dy = random_device_tensor({s.N, s.K, s.H, s.W}, 4);
  Tensor y = Tensor::empty({s.N, s.K, s.H, s.W}, Device::cuda), dx = Tensor::empty(x.shape(), Device::cuda);
  Tensor dw = random_device_tensor(w.shape(), 5);
  const double flops = 2.0 * s.N * s.H * s.W * double(s.K) * s.C * kKsize * kKsize;
  const bool custom = engine == Engine::custom;
  switch (pass) {
    case Pass::forward:
      time_on_device(state, flops, [&](cudaStream_t stream) {
        (custom ? seqnet::cuda::conv2d_forward : seqnet::cudnn::conv2d_forward)(
            y.f32(), x.f32(), w.f32(), b.f32(), s.N, s.C, s.H, s.W, s.K, kKsize, stream);
      });
      break;
    case Pass::backward_input:
      time_on_device(state, flops, [&](cudaStream_t stream) {
        (custom ? seqnet::cuda::conv2d_backward_input : seqnet::cudnn::conv2d_backward_input)(
            dx.f32(), dy.f32(), w.f32(), s.N, s.C, s.H, s.W, s.K, kKsize, stream);
      });
      break;
    case Pass::backward_weight:
      time_on_device(state, flops, [&](cudaStream_t stream) {
        (custom ? seqnet::cuda::conv2d_backward_weight : seqnet::cudnn::conv2d_backward_weight)(
            dw.f32(), dy.f32(), x.f32(), s.N, s.C, s.H, s.W, s.K, kKsize, stream);
      });
      break;
  }
}

void bm_sgemm_cublas(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const Tensor a = random_device_tensor({n, n}, 6), b = random_device_tensor({n, n}, 7);
  Tensor c = Tensor::empty({n, n}, Device::cuda);
  time_on_device(state, 2.0 * n * double(n) * n,
                 [&](cudaStream_t stream) { seqnet::cublas::sgemm(c.f32(), a.f32(), b.f32(), n, n, n, stream); });
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
      for (Engine engine : {Engine::custom, Engine::cudnn}) {
        if (engine == Engine::cudnn && !with_cudnn) continue;
        const std::string name =
            std::string(p.name) + (engine == Engine::custom ? "/custom/" : "/cudnn/") + shape_name(s);
        benchmark::RegisterBenchmark(name.c_str(), bm_conv, s, p.pass, engine)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.2);
      }
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
