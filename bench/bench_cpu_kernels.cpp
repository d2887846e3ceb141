// bench_cpu_kernels.cpp: the CPU kernels (float) at SeqNet's real layer shapes.
//
// Default model: width 32, depth 5, so level l has 32<<l channels on a plane of size >> l.
// Two workloads: a full 576x576 image at batch 1 (inference / large-image training) and
// 128x128 crops at batch 24 (training). Each benchmark's arguments are N, channels, plane side.
// Convolutions report GFLOP/s (2*N*K*C*k*k*H*W per pass), the memory-bound kernels bytes/s.
// Rates are per wall-clock second (the kernels are multi-threaded). Iteration counts are fixed and
// small so the whole run takes about a minute on 2 cores.
// conv3x3/* runs the path the program would take (the direct kernel where it applies);
// conv3x3_direct/* the direct kernel itself in each instruction set the CPU has, conv3x3_winograd/*
// the Winograd F(2x2,3x3) kernel. Run with
// SEQNET_CONV=gemm to get the im2col + GEMM path in conv3x3/* and all three in one run.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "bench/bench_random.h"
#include "kernels/cpu/adam.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/channels.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv3x3_direct.h"
#include "kernels/cpu/conv3x3_winograd.h"
#include "kernels/cpu/conv_transpose2x2.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/maxpool2x2.h"

namespace {

using namespace seqnet;

constexpr int kWidth = 32, kDepth = 5;

using bench::random_floats;

// Every UNet level of both workloads: {N, channels, plane side}.
void unet_levels(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "C", "HW"});
  for (int l = 0; l < kDepth; ++l) b->Args({1, kWidth << l, 576 >> l});
  for (int l = 0; l < kDepth; ++l) b->Args({24, kWidth << l, 128 >> l});
}

// The up-sampling levels: output {N, channels, plane side} of the transposed conv that comes
// from the level below (2x the channels, half the side).
void upsampling_levels(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "K", "HW"});
  for (int l = 0; l < kDepth - 1; ++l) b->Args({1, kWidth << l, 576 >> l});
  for (int l = 0; l < kDepth - 1; ++l) b->Args({24, kWidth << l, 128 >> l});
}

enum class Pass { forward, input_grad, weight_grad };

// A 3x3 conv with C = K = the level's channels (the second conv of each UNet block).
void conv3x3(benchmark::State& state, Pass pass) {
  const int N = int(state.range(0)), C = int(state.range(1)), H = int(state.range(2)), W = H, K = C;
  const int64_t HW = int64_t(H) * W;
  auto x = random_floats(N * C * HW, 1), dy = random_floats(N * K * HW, 2), w = random_floats(int64_t(K) * C * 9, 3);
  std::vector<float> b(K, 0.1f), y(N * K * HW), dx(x.size()), dw(w.size());
  std::vector<float> workspace(cpu::conv2d_workspace_size(C, H, W, 3));
  for (auto _ : state) {
    switch (pass) {
      case Pass::forward:
        cpu::conv2d_forward(y.data(), x.data(), w.data(), b.data(), workspace.data(), N, C, H, W, K, 3);
        break;
      case Pass::input_grad:
        cpu::conv2d_backward_input(dx.data(), dy.data(), w.data(), workspace.data(), N, C, H, W, K, 3);
        break;
      case Pass::weight_grad:
        cpu::conv2d_backward_weight(dw.data(), dy.data(), x.data(), workspace.data(), N, C, H, W, K, 3);
        break;
    }
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * N * K * C * 9 * HW;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// The direct 3x3 kernel's forward pass in one instruction set, C = K = the level's channels.
void conv3x3_direct(benchmark::State& state, cpu::Conv3x3Isa isa) {
  if (!cpu::conv3x3_isa_supported(isa)) {
    state.SkipWithError("this CPU lacks the instruction set");
    return;
  }
  const int N = int(state.range(0)), C = int(state.range(1)), H = int(state.range(2)), W = H, K = C;
  const int64_t HW = int64_t(H) * W;
  auto x = random_floats(N * C * HW, 1), w = random_floats(int64_t(K) * C * 9, 3);
  std::vector<float> b(K, 0.1f), y(N * K * HW);
  for (auto _ : state) {
    cpu::conv3x3_forward_direct_with(isa, y.data(), x.data(), w.data(), b.data(), N, C, H, W, K);
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * N * K * C * 9 * HW;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// The Winograd F(2x2,3x3) forward pass on its own, C = K = the level's channels.
void conv3x3_winograd(benchmark::State& state) {
  const int N = int(state.range(0)), C = int(state.range(1)), H = int(state.range(2)), W = H, K = C;
  const int64_t HW = int64_t(H) * W;
  auto x = random_floats(N * C * HW, 1), w = random_floats(int64_t(K) * C * 9, 3);
  std::vector<float> b(K, 0.1f), y(N * K * HW);
  for (auto _ : state) {
    cpu::conv3x3_forward_winograd(y.data(), x.data(), w.data(), b.data(), N, C, H, W, K);
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * N * K * C * 9 * HW;  // the direct count, so the rates compare
  state.counters["GFLOP/s"] = benchmark::Counter(flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// The transposed conv from (N, 2K, H/2, W/2) up to (N, K, H, W).
void conv_transpose(benchmark::State& state, Pass pass) {
  const int N = int(state.range(0)), K = int(state.range(1)), H = int(state.range(2)) / 2, W = H, C = 2 * K;
  const int64_t HW = int64_t(H) * W;
  auto x = random_floats(N * C * HW, 1), dy = random_floats(N * K * 4 * HW, 2), w = random_floats(int64_t(C) * K * 4, 3);
  std::vector<float> b(K, 0.1f), y(dy.size()), dx(x.size()), dw(w.size());
  std::vector<float> workspace(cpu::conv_transpose2x2_workspace_size(K, H, W));
  for (auto _ : state) {
    switch (pass) {
      case Pass::forward:
        cpu::conv_transpose2x2_forward(y.data(), x.data(), w.data(), b.data(), workspace.data(), N, C, H, W, K);
        break;
      case Pass::input_grad:
        cpu::conv_transpose2x2_backward_input(dx.data(), dy.data(), w.data(), workspace.data(), N, C, H, W, K);
        break;
      case Pass::weight_grad:
        cpu::conv_transpose2x2_backward_weight(dw.data(), dy.data(), x.data(), workspace.data(), N, C, H, W, K);
        break;
    }
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * N * K * C * 4 * HW;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void maxpool(benchmark::State& state, bool backward) {
  const int N = int(state.range(0)), C = int(state.range(1)), H = int(state.range(2)), W = H;
  const int64_t in = int64_t(N) * C * H * W, out = in / 4;
  auto x = random_floats(in, 1), dy = random_floats(out, 2);
  std::vector<float> y(out), dx(in);
  std::vector<int32_t> argmax(out);
  cpu::maxpool2x2_forward(y.data(), argmax.data(), x.data(), N, C, H, W);
  for (auto _ : state) {
    if (backward) cpu::maxpool2x2_backward(dx.data(), dy.data(), argmax.data(), N, C, H, W);
    else cpu::maxpool2x2_forward(y.data(), argmax.data(), x.data(), N, C, H, W);
    benchmark::ClobberMemory();
  }
  // Forward reads x, writes y and argmax; backward writes dx, reads dy and argmax.
  state.SetBytesProcessed(state.iterations() * (in * 4 + out * 8));
}

void batchnorm(benchmark::State& state, bool backward) {
  const int N = int(state.range(0)), C = int(state.range(1)), H = int(state.range(2));
  const int64_t HW = int64_t(H) * H, numel = N * C * HW;
  auto x = random_floats(numel, 1), dy = random_floats(numel, 2);
  std::vector<float> y(numel), dx(numel), gamma(C, 1.0f), beta(C, 0.0f), mean(C), rstd(C), run_mean(C, 0.0f),
      run_var(C, 1.0f), dgamma(C), dbeta(C);
  cpu::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), run_mean.data(), run_var.data(), x.data(),
                               gamma.data(), beta.data(), N, C, HW, 1e-5, 0.1);
  for (auto _ : state) {
    if (backward)
      cpu::batchnorm_backward(dx.data(), dgamma.data(), dbeta.data(), dy.data(), x.data(), gamma.data(), mean.data(),
                              rstd.data(), N, C, HW);
    else
      cpu::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), run_mean.data(), run_var.data(), x.data(),
                                   gamma.data(), beta.data(), N, C, HW, 1e-5, 0.1);
    benchmark::ClobberMemory();
  }
  // Forward: x read twice (statistics) and once more for y, y written. Backward: dy and x read
  // twice (sums, then dx), dx written.
  const int64_t passes = backward ? 5 : 4;
  state.SetBytesProcessed(state.iterations() * passes * numel * 4);
}

// The memory-bound kernels on one level's map (N, C, side): bytes/s counts every float each
// kernel reads and writes once per element.
enum class Elementwise {
  relu_forward, relu_backward, sigmoid_forward, sigmoid_backward, dropout_forward, dropout_backward,
  add_inplace, batchnorm_eval, concat, broadcast_mul, bce_with_logits
};

void elementwise(benchmark::State& state, Elementwise kernel) {
  const int N = int(state.range(0)), C = int(state.range(1)), H = int(state.range(2));
  const int64_t HW = int64_t(H) * H, n = N * C * HW;
  auto a = random_floats(n, 1), b = random_floats(n, 2);
  std::vector<float> out(2 * n), gamma(C, 1.1f), beta(C, 0.1f), mean(C, 0.2f), var(C, 0.9f);
  int64_t floats_moved = 0;  // per call
  for (auto _ : state) {
    switch (kernel) {
      case Elementwise::relu_forward: cpu::relu_forward(out.data(), a.data(), n); floats_moved = 2 * n; break;
      case Elementwise::relu_backward:
        cpu::relu_backward(out.data(), a.data(), b.data(), n);
        floats_moved = 3 * n;
        break;
      case Elementwise::sigmoid_forward: cpu::sigmoid_forward(out.data(), a.data(), n); floats_moved = 2 * n; break;
      case Elementwise::sigmoid_backward:
        cpu::sigmoid_backward(out.data(), a.data(), b.data(), n);
        floats_moved = 3 * n;
        break;
      case Elementwise::dropout_forward:
        cpu::dropout_forward(out.data(), a.data(), n, 0.1f, 42);
        floats_moved = 2 * n;
        break;
      case Elementwise::dropout_backward:
        cpu::dropout_backward(out.data(), a.data(), n, 0.1f, 42);
        floats_moved = 2 * n;
        break;
      case Elementwise::add_inplace: cpu::add_inplace(out.data(), a.data(), n); floats_moved = 3 * n; break;
      case Elementwise::batchnorm_eval:
        cpu::batchnorm_forward_eval(out.data(), a.data(), gamma.data(), beta.data(), mean.data(), var.data(), N, C, HW,
                                    1e-5);
        floats_moved = 2 * n;
        break;
      case Elementwise::concat:  // both halves of a decoder's input, as UNetBody does
        cpu::copy_into_channels(out.data(), a.data(), N, 2 * C, 0, C, HW);
        cpu::copy_into_channels(out.data(), b.data(), N, 2 * C, C, C, HW);
        floats_moved = 4 * n;
        break;
      case Elementwise::broadcast_mul:  // (N, C, HW) times an (N, 1, HW) map
        cpu::broadcast_mul(out.data(), a.data(), b.data(), N, C, HW);
        floats_moved = 2 * n + N * HW;
        break;
      case Elementwise::bce_with_logits:
        benchmark::DoNotOptimize(cpu::bce_with_logits(out.data(), a.data(), b.data(), n));
        floats_moved = 3 * n;
        break;
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * floats_moved * 4);
}

// Adam on the default model's 16.5 M parameters: reads param, m, v, grad, writes param, m, v.
void adam(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto param = random_floats(n, 1), grad = random_floats(n, 2);
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  int64_t step = 0;
  for (auto _ : state) {
    cpu::adam_update(param.data(), m.data(), v.data(), grad.data(), n, cpu::AdamSettings{}, ++step);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 7 * n * 4);
}

// The 1x1 convolutions (the refiner's fuse layers and the heads): C -> K at the top level.
void conv1x1(benchmark::State& state) {
  const int N = int(state.range(0)), C = int(state.range(1)), H = int(state.range(2)), W = H, K = int(state.range(3));
  const int64_t HW = int64_t(H) * W;
  auto x = random_floats(N * C * HW, 1), w = random_floats(int64_t(K) * C, 3);
  std::vector<float> b(K, 0.1f), y(N * K * HW);
  for (auto _ : state) {
    cpu::conv2d_forward(y.data(), x.data(), w.data(), b.data(), static_cast<float*>(nullptr), N, C, H, W, K, 1);
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * N * K * C * HW;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(conv3x3, forward, Pass::forward)->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(conv3x3, input_grad, Pass::input_grad)
    ->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(conv3x3, weight_grad, Pass::weight_grad)
    ->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(conv3x3_direct, avx512, cpu::Conv3x3Isa::avx512)
    ->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(conv3x3_direct, avx2, cpu::Conv3x3Isa::avx2)
    ->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(conv3x3_direct, neon, cpu::Conv3x3Isa::neon)
    ->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK(conv3x3_winograd)->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(conv_transpose, forward, Pass::forward)
    ->Apply(upsampling_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK_CAPTURE(conv_transpose, input_grad, Pass::input_grad)
    ->Apply(upsampling_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK_CAPTURE(conv_transpose, weight_grad, Pass::weight_grad)
    ->Apply(upsampling_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK_CAPTURE(maxpool, forward, false)->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK_CAPTURE(maxpool, backward, true)->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK_CAPTURE(batchnorm, forward_train, false)->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK_CAPTURE(batchnorm, backward, true)->Apply(unet_levels)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

#define SEQNET_ELEMENTWISE(kernel)                                                                  \
  BENCHMARK_CAPTURE(elementwise, kernel, Elementwise::kernel)                                       \
      ->Args({1, kWidth, 576})                                                                      \
      ->Args({24, kWidth, 128})                                                                     \
      ->ArgNames({"N", "C", "HW"})                                                                  \
      ->Unit(benchmark::kMillisecond)                                                               \
      ->UseRealTime()                                                                               \
      ->Iterations(5);
SEQNET_ELEMENTWISE(relu_forward)
SEQNET_ELEMENTWISE(relu_backward)
SEQNET_ELEMENTWISE(sigmoid_forward)
SEQNET_ELEMENTWISE(sigmoid_backward)
SEQNET_ELEMENTWISE(dropout_forward)
SEQNET_ELEMENTWISE(dropout_backward)
SEQNET_ELEMENTWISE(add_inplace)
SEQNET_ELEMENTWISE(batchnorm_eval)
SEQNET_ELEMENTWISE(concat)
SEQNET_ELEMENTWISE(broadcast_mul)
SEQNET_ELEMENTWISE(bce_with_logits)
#undef SEQNET_ELEMENTWISE
BENCHMARK(adam)->ArgName("params")->Arg(16496012)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(conv1x1)
    ->ArgNames({"N", "C", "HW", "K"})
    ->Args({1, 2 * kWidth, 576, kWidth})
    ->Args({1, kWidth, 576, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// The ceiling for the convolutions: one large square float GEMM (C = A*B, n x n), 2*n^3 flops.
// The convolutions are GEMMs over smaller, skinnier matrices plus the image<->matrix copies, so
// their GFLOP/s above over this one says how close they get to this machine's peak.
void sgemm_peak(benchmark::State& state) {
  const int n = int(state.range(0));
  auto a = random_floats(int64_t(n) * n, 1), b = random_floats(int64_t(n) * n, 2);
  std::vector<float> c(int64_t(n) * n);
  for (auto _ : state) cpu::gemm<float>(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  const double flops = 2.0 * n * n * n;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(sgemm_peak)->ArgName("n")->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
