// bench_onednn.cpp: seqnet's CPU convolutions against oneDNN's, at every convolution shape SeqNet
// runs, with this CPU's FMA peak measured in the same process.
//
// The shapes are not typed in: each workload below runs once under `seqnet bench --profile`'s
// per-layer profile (train/step_bench.h) and every (op, shape) it records becomes a row, with
// the number of calls per step. Workloads: the default model (model/config.h) and the shipped
// one (its config read from models/seqnet-av-drive-les.safetensors), each as a training step (the
// default: `seqnet bench`'s 4 crops of 128x128; the shipped: its recipe's batch and crop, read from
// the file's "settings" metadata, 2 crops of 256x256 for the file of 2026-12-07) and as inference on
// one 576x576 image (the size `predict` resizes photographs to). Passes: 3x3 and 1x1 forward,
// input gradient and weight gradient, and the 2x2 stride-2 transposed convolution's three.
//
// Each row times, in one process, alternating, one call of each and reports medians:
//   seqnet          the kernel the program runs (kernels/cpu/conv2d.h: the chooser's measured
//                   choice for a 3x3; conv_transpose2x2.h), on seqnet's (N,C,H,W) tensors;
//   onednn_nchw     oneDNN on the same plain tensors (nchw data, oihw / iohw weights);
//   onednn_blocked  oneDNN in the layouts it prefers (format `any`: nChw16c / nChw8c and blocked
//                   weights), its best algorithm (convolution_auto, which may take Winograd, or
//                   direct, whichever ran faster), the tensors already in that layout;
//   reorders        what the blocked run costs on top in seqnet's layout: its inputs from plain to
//                   blocked and its output back, weights included (they change every training step).
// The counters give each as milliseconds and as a fraction of the FMA peak: the register-only
// loop of fma_peak below, run for about 10 ms between the rounds (the same load) on the
// convolutions' threads with the vector width they use (512-bit, or 256-bit where the direct
// kernel runs AVX2: an AVX2-only CPU or SEQNET_CONV=avx2; x86-64 only, elsewhere no fractions).
// ratio = seqnet / the faster oneDNN in seqnet's layout
// (nchw, or blocked + reorders); ratio_kernel = seqnet / blocked alone; ratio_min = ratio from each
// engine's fastest round (on a loaded machine the least disturbed one). After the rows the program
// prints them as a Markdown table, per workload the shapes that carry 80% of its convolution time
// (calls x seqnet's median), and where seqnet is slower.
//
// oneDNN is only a comparison engine: without it (apt-get install -y libdnnl-dev, then reconfigure)
// the rows time seqnet alone and say so. The AVX2 imitation:
//   SEQNET_CONV=avx2 OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2 build/bench/seqnet_bench_onednn
// Rows are named conv/<workload>/<pass>/<shape>; a filter that names no workload (e.g. fma_peak)
// profiles none: --benchmark_filter=shipped runs the shipped model's two.
#include <benchmark/benchmark.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <unordered_map>
#include <vector>

#ifdef SEQNET_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

#include <nlohmann/json.hpp>

#include "bench/bench_random.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv3x3_bf16.h"
#include "kernels/cpu/conv3x3_direct.h"
#include "kernels/cpu/conv_transpose2x2.h"
#include "model/config.h"
#include "io/safetensors.h"
#include "model/weights.h"
#include "train/step_bench.h"

namespace {

using namespace seqnet;
using Clock = std::chrono::steady_clock;

// ---- The FMA peak -------------------------------------------------------------------------------
// A register-only loop: independent fused multiply-add chains (more than the FMA units' count
// times their latency, so they never wait on each other), no loads or stores: 24 of the 32
// AVX-512 registers, 12 of the 16 AVX2 ones (two more hold the operands).
#if defined(__x86_64__)
template <int kSums>
__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iterations) {
  __m512 s[kSums];
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
#pragma GCC unroll 32
  for (int i = 0; i < kSums; ++i) s[i] = _mm512_set1_ps(float(i));
  for (int64_t it = 0; it < iterations; ++it)
#pragma GCC unroll 32
    for (int i = 0; i < kSums; ++i) s[i] = _mm512_fmadd_ps(s[i], a, b);
#pragma GCC unroll 32
  for (int i = 1; i < kSums; ++i) s[0] = _mm512_add_ps(s[0], s[i]);
  return _mm512_reduce_add_ps(s[0]);
}

template <int kSums>
__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iterations) {
  __m256 s[kSums];
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
#pragma GCC unroll 32
  for (int i = 0; i < kSums; ++i) s[i] = _mm256_set1_ps(float(i));
  for (int64_t it = 0; it < iterations; ++it)
#pragma GCC unroll 32
    for (int i = 0; i < kSums; ++i) s[i] = _mm256_fmadd_ps(s[i], a, b);
#pragma GCC unroll 32
  for (int i = 1; i < kSums; ++i) s[0] = _mm256_add_ps(s[0], s[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, s[0]);
  return lanes[0] + lanes[7];
}
#endif

// GFLOP/s of the loop on every OpenMP thread at once (the convolutions' threads).
// 0 off x86-64 (the loop is written for its vectors).
double fma_gflops(bool avx512, int64_t iterations) {
#if !defined(__x86_64__)
  (void)avx512, (void)iterations;
  return 0;
#else
  int threads = 1;
  float sink = 0;
  const Clock::time_point start = Clock::now();
#pragma omp parallel reduction(+ : sink)
  {
#pragma omp single nowait
    threads = omp_get_num_threads();
    sink += avx512 ? fma_loop_avx512<24>(iterations) : fma_loop_avx2<12>(iterations);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  benchmark::DoNotOptimize(sink);
  return 2.0 * threads * iterations * (avx512 ? 24 * 16 : 12 * 8) / seconds / 1e9;
#endif
}

// The best of a few 1-second runs.
double measure_fma_peak(bool avx512) {
  double best = 0;
  for (int repeat = 0; repeat < 3; ++repeat) best = std::max(best, fma_gflops(avx512, avx512 ? 40'000'000 : 80'000'000));
  return best;
}

bool uses_avx512() { return cpu::conv3x3_direct_isa() == cpu::Conv3x3Isa::avx512; }
double g_peak_gflops = 0;  // measured at start, for the summary line

void fma_peak(benchmark::State& state, bool avx512) {
  if (fma_gflops(false, 1) == 0 || !cpu::conv3x3_isa_supported(avx512 ? cpu::Conv3x3Isa::avx512 : cpu::Conv3x3Isa::avx2)) {
    state.SkipWithError("this CPU lacks the instruction set");
    return;
  }
  double gflops = 0;
  for (auto _ : state) gflops = measure_fma_peak(avx512);
  state.counters["GFLOP/s"] = gflops;
  state.counters["threads"] = omp_get_max_threads();
}
BENCHMARK_CAPTURE(fma_peak, avx512, true)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(fma_peak, avx2, false)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// ---- The shapes SeqNet runs -------------------------------------------------------------------

enum class Op { conv_forward, conv_input_grad, conv_weight_grad, upconv_forward, upconv_input_grad, upconv_weight_grad };

const char* op_name(Op op) {
  switch (op) {
    case Op::conv_forward: return "conv_fwd";
    case Op::conv_input_grad: return "conv_dx";
    case Op::conv_weight_grad: return "conv_dw";
    case Op::upconv_forward: return "upconv_fwd";
    case Op::upconv_input_grad: return "upconv_dx";
    case Op::upconv_weight_grad: return "upconv_dw";
  }
  return "?";
}
bool is_upconv(Op op) { return op >= Op::upconv_forward; }

// One row: a pass at one shape, as ops.cpp describes it (conv_shape): N, C>K, H x W, kernel side;
// for the transposed conv, H x W and C are its input's, the output 2H x 2W with K channels.
struct ConvCase {
  std::string workload;  // "default_train", "shipped_infer", ...
  Op op;
  int N, C, H, W, K, ks;
  int64_t calls = 0;  // per step (or per inference)
  double flops() const { return 2.0 * N * K * C * ks * ks * H * W; }
  std::string shape() const {
    char text[96];
    std::snprintf(text, sizeof text, "N%d C%d>K%d %dx%d k%d", N, C, K, H, W, ks);
    return text;
  }
};

struct Workload {
  std::string name;
  ModelConfig model;
  int batch;
  int crop;
  bool train;
};

// The op names of kernels/ops.cpp that describe a convolution's shape.
std::optional<Op> op_of(const std::string& name) {
  static const std::map<std::string, Op> ops = {
      {"conv2d_forward", Op::conv_forward},
      {"conv2d_batchnorm_relu_eval", Op::conv_forward},
      {"conv2d_backward_input", Op::conv_input_grad},
      {"conv2d_backward_weight", Op::conv_weight_grad},
      {"conv_transpose2x2_forward", Op::upconv_forward},
      {"conv_transpose2x2_backward_input", Op::upconv_input_grad},
      {"conv_transpose2x2_backward_weight", Op::upconv_weight_grad},
  };
  const auto it = ops.find(name);
  if (it == ops.end()) return std::nullopt;
  return it->second;
}

// The training batch and crop side of the recipe that made a weights file (its "settings"
// metadata, train/settings.h), so the shipped model's row set is the step its file was trained
// with; 8 crops of 128x128 (the spec's recipe) when the file does not say.
std::pair<int, int> recipe_batch_and_crop(const std::string& path) {
  const TensorFile file = read_safetensors(path);
  const auto settings = file.metadata.find("settings");
  if (settings == file.metadata.end()) return {8, 128};
  const nlohmann::json recipe = nlohmann::json::parse(settings->second);
  return {recipe.value("batch", 8), recipe.value("crop", 128)};
}

// Runs the workload once (after a warm-up) under the per-layer profile and lists its shapes,
// the most called first within each pass.
std::vector<ConvCase> profile_shapes(const Workload& w) {
  StepBenchSettings s;
  s.model = w.model;
  s.batch = w.batch;
  s.crop = w.crop;
  s.infer = 576;
  s.steps = 1;
  s.profile = true;
  const StepBenchResult r = run_step_bench(s);
  std::vector<ConvCase> cases;
  for (const ops::OpTime& t : w.train ? r.train_shapes : r.infer_shapes) {
    const std::optional<Op> op = op_of(t.op);
    if (!op) continue;
    ConvCase c{w.name, *op, 0, 0, 0, 0, 0, 0, t.calls};
    if (std::sscanf(t.shape.c_str(), "N%d C%d>K%d %dx%d k%d", &c.N, &c.C, &c.K, &c.H, &c.W, &c.ks) != 6) continue;
    const auto same = std::find_if(cases.begin(), cases.end(), [&](const ConvCase& o) {
      return o.op == c.op && o.N == c.N && o.C == c.C && o.H == c.H && o.W == c.W && o.K == c.K && o.ks == c.ks;
    });
    if (same != cases.end()) same->calls += c.calls;  // the fused eval forward and the plain one
    else cases.push_back(c);
  }
  std::stable_sort(cases.begin(), cases.end(), [](const ConvCase& a, const ConvCase& b) { return a.op < b.op; });
  return cases;
}

using bench::random_floats;

// ---- seqnet's kernels -------------------------------------------------------------------------

// The tensors of one row, in seqnet's layouts: x (N,C,H,W), w (K,C,k,k) or (C,K,2,2) for the
// transposed conv, y (N,K,H,W) or (N,K,2H,2W); the gradients alike.
struct Tensors {
  std::vector<float> x, w, b, y, dx, dw, dy, workspace;
  explicit Tensors(const ConvCase& c) {
    const int64_t in = int64_t(c.N) * c.C * c.H * c.W;
    const int64_t out = int64_t(c.N) * c.K * c.H * c.W * (is_upconv(c.op) ? 4 : 1);
    const int64_t weights = int64_t(c.K) * c.C * c.ks * c.ks;
    x = random_floats(in, 1), dy = random_floats(out, 2), w = random_floats(weights, 3);
    b.assign(c.K, 0.1f), y.resize(out), dx.resize(in), dw.resize(weights);
    workspace.resize(is_upconv(c.op) ? cpu::conv_transpose2x2_workspace_size(c.K, c.H, c.W)
                                     : cpu::conv2d_workspace_size(c.C, c.H, c.W, c.ks));
  }
};

void run_seqnet(const ConvCase& c, Tensors& t) {
  float* ws = t.workspace.empty() ? nullptr : t.workspace.data();
  switch (c.op) {
    case Op::conv_forward:
      cpu::conv2d_forward(t.y.data(), t.x.data(), t.w.data(), t.b.data(), ws, c.N, c.C, c.H, c.W, c.K, c.ks);
      break;
    case Op::conv_input_grad:
      cpu::conv2d_backward_input(t.dx.data(), t.dy.data(), t.w.data(), ws, c.N, c.C, c.H, c.W, c.K, c.ks);
      break;
    case Op::conv_weight_grad:
      cpu::conv2d_backward_weight(t.dw.data(), t.dy.data(), t.x.data(), ws, c.N, c.C, c.H, c.W, c.K, c.ks);
      break;
    case Op::upconv_forward:
      cpu::conv_transpose2x2_forward(t.y.data(), t.x.data(), t.w.data(), t.b.data(), ws, c.N, c.C, c.H, c.W, c.K);
      break;
    case Op::upconv_input_grad:
      cpu::conv_transpose2x2_backward_input(t.dx.data(), t.dy.data(), t.w.data(), ws, c.N, c.C, c.H, c.W, c.K);
      break;
    case Op::upconv_weight_grad:
      cpu::conv_transpose2x2_backward_weight(t.dw.data(), t.dy.data(), t.x.data(), ws, c.N, c.C, c.H, c.W, c.K);
      break;
  }
}

// ---- oneDNN -----------------------------------------------------------------------------------

#ifdef SEQNET_WITH_DNNL
using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

// One oneDNN primitive on its tensors, with what it takes to feed it from seqnet's plain ones.
struct DnnlRun {
  dnnl::primitive primitive;
  std::unordered_map<int, memory> args;
  std::string impl;
  std::vector<std::pair<dnnl::reorder, std::pair<memory, memory>>> reorders;  // in and out of the layout

  void run() {
    primitive.execute(stream(), args);
    stream().wait();
  }
  void run_reorders() {
    for (auto& [r, mems] : reorders) r.execute(stream(), mems.first, mems.second);
    stream().wait();
  }
};

// The argument `arg` in the layout `want`: the plain tensor itself when that is its layout,
// else a new buffer with a reorder (into it for inputs, out of it for the output).
memory bind(DnnlRun& run, int arg, const memory::desc& want, const memory::desc& plain, float* data, bool output) {
  memory user(plain, engine(), data);
  if (want == plain) return run.args[arg] = user;
  memory mine(want, engine());
  if (output) run.reorders.push_back({dnnl::reorder(mine, user), {mine, user}});
  else {
    run.reorders.push_back({dnnl::reorder(user, mine), {user, mine}});
    run.reorders.back().first.execute(stream(), user, mine);  // the blocked input holds the data
  }
  return run.args[arg] = mine;
}

// The primitive for a row: plain (seqnet's layouts) or blocked (`any`, oneDNN's choice) with the
// given algorithm (convolution_auto / _direct; the transposed conv has only deconvolution_direct).
// With `bf16` (blocked only) the operands the pass reads are bfloat16 in oneDNN's layout (its
// avx512_core_bf16 kernels: products of bf16 pairs summed in fp32, `vdpbf16ps`) and what it writes
// is fp32: PyTorch's CPU autocast, the precision issue #32's item 3 asks seqnet for.
DnnlRun make_dnnl(const ConvCase& c, Tensors& t, bool blocked, dnnl::algorithm conv_algorithm, bool train,
                  bool bf16 = false) {
  using dt = memory::data_type;
  const memory::dim N = c.N, C = c.C, H = c.H, W = c.W, K = c.K, ks = c.ks;
  const bool up = is_upconv(c.op);
  const memory::dims x_dims{N, C, H, W}, y_dims = up ? memory::dims{N, K, 2 * H, 2 * W} : memory::dims{N, K, H, W};
  const memory::dims w_dims{K, C, ks, ks}, b_dims{K};
  const memory::dims strides = up ? memory::dims{2, 2} : memory::dims{1, 1};
  const memory::dims pad = up ? memory::dims{0, 0} : memory::dims{ks / 2, ks / 2};
  const memory::desc x_plain(x_dims, dt::f32, Tag::nchw), y_plain(y_dims, dt::f32, Tag::nchw),
      w_plain(w_dims, dt::f32, up ? Tag::iohw : Tag::oihw), b_md(b_dims, dt::f32, Tag::x);
  const Tag any = Tag::any;
  // bf16: what the pass reads in bf16 (forward: x, w; input gradient: dy, w; weight gradient: x,
  // dy), what it writes in fp32.
  const bool reads_x = c.op != Op::conv_input_grad && c.op != Op::upconv_input_grad;
  const bool reads_y = c.op != Op::conv_forward && c.op != Op::upconv_forward;
  const bool reads_w = c.op != Op::conv_weight_grad && c.op != Op::upconv_weight_grad;
  const auto type = [&](bool read) { return bf16 && read ? dt::bf16 : dt::f32; };
  const memory::desc x_md = blocked ? memory::desc(x_dims, type(reads_x), any) : x_plain,
                     y_md = blocked ? memory::desc(y_dims, type(reads_y), any) : y_plain,
                     w_md = blocked ? memory::desc(w_dims, type(reads_w), any) : w_plain;
  // The forward primitive (also the backward passes' hint): with bf16, x and w in bf16, and y in
  // bf16 where a backward pass reads it (oneDNN's bf16 backward kernels want such a hint).
  const memory::desc fx_md = bf16 ? memory::desc(x_dims, dt::bf16, any) : x_md,
                     fw_md = bf16 ? memory::desc(w_dims, dt::bf16, any) : w_md;
  const memory::desc& fy_md = y_md;
  const dnnl::prop_kind prop = train ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  DnnlRun r;
  if (!up) {
    const dnnl::algorithm alg = conv_algorithm;
    dnnl::convolution_forward::primitive_desc fwd(
        dnnl::convolution_forward::desc(prop, alg, fx_md, fw_md, b_md, fy_md, strides, pad, pad), engine());
    if (c.op == Op::conv_forward) {
      bind(r, DNNL_ARG_SRC, fwd.src_desc(), x_plain, t.x.data(), false);
      bind(r, DNNL_ARG_WEIGHTS, fwd.weights_desc(), w_plain, t.w.data(), false);
      bind(r, DNNL_ARG_BIAS, fwd.bias_desc(), b_md, t.b.data(), false);
      bind(r, DNNL_ARG_DST, fwd.dst_desc(), y_plain, t.y.data(), true);
      r.primitive = dnnl::convolution_forward(fwd), r.impl = fwd.impl_info_str();
    } else if (c.op == Op::conv_input_grad) {
      dnnl::convolution_backward_data::primitive_desc pd(
          dnnl::convolution_backward_data::desc(alg, x_md, w_md, y_md, strides, pad, pad), engine(), fwd);
      bind(r, DNNL_ARG_DIFF_DST, pd.diff_dst_desc(), y_plain, t.dy.data(), false);
      bind(r, DNNL_ARG_WEIGHTS, pd.weights_desc(), w_plain, t.w.data(), false);
      bind(r, DNNL_ARG_DIFF_SRC, pd.diff_src_desc(), x_plain, t.dx.data(), true);
      r.primitive = dnnl::convolution_backward_data(pd), r.impl = pd.impl_info_str();
    } else {
      dnnl::convolution_backward_weights::primitive_desc pd(
          dnnl::convolution_backward_weights::desc(alg, x_md, w_md, y_md, strides, pad, pad), engine(), fwd);
      bind(r, DNNL_ARG_SRC, pd.src_desc(), x_plain, t.x.data(), false);
      bind(r, DNNL_ARG_DIFF_DST, pd.diff_dst_desc(), y_plain, t.dy.data(), false);
      bind(r, DNNL_ARG_DIFF_WEIGHTS, pd.diff_weights_desc(), w_plain, t.dw.data(), true);
      r.primitive = dnnl::convolution_backward_weights(pd), r.impl = pd.impl_info_str();
    }
  } else {
    const dnnl::algorithm alg = dnnl::algorithm::deconvolution_direct;
    dnnl::deconvolution_forward::primitive_desc fwd(
        dnnl::deconvolution_forward::desc(prop, alg, fx_md, fw_md, b_md, fy_md, strides, pad, pad), engine());
    if (c.op == Op::upconv_forward) {
      bind(r, DNNL_ARG_SRC, fwd.src_desc(), x_plain, t.x.data(), false);
      bind(r, DNNL_ARG_WEIGHTS, fwd.weights_desc(), w_plain, t.w.data(), false);
      bind(r, DNNL_ARG_BIAS, fwd.bias_desc(), b_md, t.b.data(), false);
      bind(r, DNNL_ARG_DST, fwd.dst_desc(), y_plain, t.y.data(), true);
      r.primitive = dnnl::deconvolution_forward(fwd), r.impl = fwd.impl_info_str();
    } else if (c.op == Op::upconv_input_grad) {
      dnnl::deconvolution_backward_data::primitive_desc pd(
          dnnl::deconvolution_backward_data::desc(alg, x_md, w_md, y_md, strides, pad, pad), engine(), fwd);
      bind(r, DNNL_ARG_DIFF_DST, pd.diff_dst_desc(), y_plain, t.dy.data(), false);
      bind(r, DNNL_ARG_WEIGHTS, pd.weights_desc(), w_plain, t.w.data(), false);
      bind(r, DNNL_ARG_DIFF_SRC, pd.diff_src_desc(), x_plain, t.dx.data(), true);
      r.primitive = dnnl::deconvolution_backward_data(pd), r.impl = pd.impl_info_str();
    } else {
      dnnl::deconvolution_backward_weights::primitive_desc pd(
          dnnl::deconvolution_backward_weights::desc(alg, x_md, w_md, y_md, strides, pad, pad), engine(), fwd);
      bind(r, DNNL_ARG_SRC, pd.src_desc(), x_plain, t.x.data(), false);
      bind(r, DNNL_ARG_DIFF_DST, pd.diff_dst_desc(), y_plain, t.dy.data(), false);
      bind(r, DNNL_ARG_DIFF_WEIGHTS, pd.diff_weights_desc(), w_plain, t.dw.data(), true);
      r.primitive = dnnl::deconvolution_backward_weights(pd), r.impl = pd.impl_info_str();
    }
  }
  stream().wait();
  return r;
}
#endif

// ---- The rows ---------------------------------------------------------------------------------

struct Row {
  ConvCase c;
  double seqnet = 0, nchw = 0, blocked = 0, reorders = 0;  // median seconds; 0: not run
  double peak = 0;  // the FMA loop's GFLOP/s between the rounds, median
  // The fastest round of each: on a loaded machine the least disturbed, so the better estimate
  // of what each engine does alone (the medians say what a loaded step sees).
  double seqnet_min = 0, nchw_min = 0, blocked_min = 0, reorders_min = 0;
  double ratio_min() const { return seqnet_min / std::min(nchw_min, blocked_min + reorders_min); }
  double bf16 = 0;  // oneDNN's bf16 kernel, median seconds (SEQNET_BENCH_BF16=1); 0: not run
  double seqnet_bf16 = 0;  // seqnet's (conv3x3_bf16.h), likewise
  std::string nchw_impl, blocked_impl, bf16_impl;
  double best_onednn_plain() const {  // oneDNN fed seqnet's layout
    if (nchw == 0) return 0;
    return blocked > 0 ? std::min(nchw, blocked + reorders) : nchw;
  }
};
std::vector<Row> g_rows;

bool bench_bf16() {
  const char* want = std::getenv("SEQNET_BENCH_BF16");
  return want && std::string(want) == "1";
}

double seconds_of(const std::function<void()>& f) {
  const Clock::time_point start = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void compare(benchmark::State& state, const ConvCase& c) {
  Tensors t(c);
  Row row{c};
  std::vector<std::function<void()>> engines{[&] { run_seqnet(c, t); }};
  int bf16_engine = -1, seqnet_bf16_engine = -1;  // their indices in engines, when run
#ifdef SEQNET_WITH_DNNL
  const bool train = c.workload.find("train") != std::string::npos;
  DnnlRun plain = make_dnnl(c, t, false, dnnl::algorithm::convolution_direct, train);
  DnnlRun blocked = make_dnnl(c, t, true, dnnl::algorithm::convolution_auto, train);
  if (!is_upconv(c.op)) {  // auto may take Winograd; keep direct too where it is a different kernel
    DnnlRun direct = make_dnnl(c, t, true, dnnl::algorithm::convolution_direct, train);
    if (direct.impl != blocked.impl) {
      const double auto_s = std::min(seconds_of([&] { blocked.run(); }), seconds_of([&] { blocked.run(); }));
      const double direct_s = std::min(seconds_of([&] { direct.run(); }), seconds_of([&] { direct.run(); }));
      if (direct_s < auto_s) blocked = std::move(direct);
    }
  }
  row.nchw_impl = plain.impl, row.blocked_impl = blocked.impl;
  engines.push_back([&] { plain.run(); });
  engines.push_back([&] { blocked.run(); });
  engines.push_back([&] { blocked.run_reorders(); });
  // SEQNET_BENCH_BF16=1: oneDNN's bf16 kernel too (operands already in bf16), what item 3 could buy.
  std::optional<DnnlRun> bf16;
  if (bench_bf16()) {
    try {
      bf16 = make_dnnl(c, t, true, dnnl::algorithm::convolution_auto, train, true);
      row.bf16_impl = bf16->impl;
      bf16_engine = int(engines.size());
      engines.push_back([&] { bf16->run(); });
    } catch (const dnnl::error& e) {
      row.bf16_impl = std::string("no bf16 kernel: ") + e.what();
    }
  }
#endif
  // And seqnet's own bf16 kernel where it has one (the 3x3 forward on AVX-512 BF16).
  if (bench_bf16() && c.op == Op::conv_forward && c.ks == 3 && cpu::conv3x3_bf16_supported()) {
    seqnet_bf16_engine = int(engines.size());
    engines.push_back([&] { cpu::conv3x3_forward_bf16(t.y.data(), t.x.data(), t.w.data(), t.b.data(), c.N, c.C, c.H, c.W, c.K); });
  }
  std::vector<std::vector<double>> times(engines.size());
  std::vector<double> peaks;
  for (auto _ : state) {
    // One untimed call each (first-touch of the buffers, oneDNN's JIT), then rounds alternating
    // between the engines and a short run of the FMA loop (the peak under the same load): about
    // 0.3 s of seqnet's work, 5 to 21 rounds.
    double first = 0;
    for (size_t e = 0; e < engines.size(); ++e) {
      const double s = seconds_of(engines[e]);
      if (e == 0) first = s;
    }
    const int rounds = std::clamp(int(0.3 / std::max(first, 1e-6)), 5, 21) | 1;
    for (int r = 0; r < rounds; ++r) {
      for (size_t e = 0; e < engines.size(); ++e) times[e].push_back(seconds_of(engines[e]));
      peaks.push_back(fma_gflops(uses_avx512(), 5'000'000));  // about 10 ms
    }
    state.SetIterationTime(median(times[0]));
  }
  row.peak = median(peaks);
  row.seqnet = median(times[0]);
  if (engines.size() > 1) row.nchw = median(times[1]), row.blocked = median(times[2]), row.reorders = median(times[3]);
  const auto fastest = [&](size_t e) { return *std::min_element(times[e].begin(), times[e].end()); };
  row.seqnet_min = fastest(0);
  if (engines.size() > 1)
    row.nchw_min = fastest(1), row.blocked_min = fastest(2), row.reorders_min = fastest(3);
  if (bf16_engine >= 0) row.bf16 = median(times[bf16_engine]);
  if (seqnet_bf16_engine >= 0) row.seqnet_bf16 = median(times[seqnet_bf16_engine]);
  const double gflop = c.flops() / 1e9;
  state.counters["calls"] = double(c.calls);
  state.counters["seqnet_ms"] = row.seqnet * 1e3;
  if (row.peak > 0) {
    state.counters["peak_GFLOP/s"] = row.peak;
    state.counters["seqnet_peak"] = gflop / row.seqnet / row.peak;
  }
  if (row.nchw > 0) {
    state.counters["nchw_ms"] = row.nchw * 1e3;
    state.counters["blocked_ms"] = row.blocked * 1e3;
    state.counters["reorders_ms"] = row.reorders * 1e3;
    if (row.peak > 0) state.counters["onednn_peak"] = gflop / std::min(row.nchw, row.blocked) / row.peak;
    state.counters["ratio"] = row.seqnet / row.best_onednn_plain();
    state.counters["ratio_kernel"] = row.seqnet / row.blocked;
    state.counters["ratio_min"] = row.ratio_min();
    state.counters["seqnet_min_ms"] = row.seqnet_min * 1e3;
    state.counters["blocked_min_ms"] = row.blocked_min * 1e3;
    if (row.bf16 > 0) {
      state.counters["bf16_ms"] = row.bf16 * 1e3;
      state.counters["bf16_speedup"] = row.blocked / row.bf16;  // over oneDNN's fp32 kernel
    }
    if (row.seqnet_bf16 > 0) {
      state.counters["seqnet_bf16_ms"] = row.seqnet_bf16 * 1e3;
      state.counters["seqnet_bf16_speedup"] = row.seqnet / row.seqnet_bf16;  // over seqnet's fp32
      if (row.bf16 > 0) state.counters["seqnet_bf16_ratio"] = row.seqnet_bf16 / row.bf16;  // against oneDNN bf16
    }
    state.SetLabel(row.blocked_impl + (row.bf16_impl.empty() ? "" : "; bf16: " + row.bf16_impl));
  } else {
    state.SetLabel("no oneDNN in this build (apt-get install -y libdnnl-dev, then reconfigure)");
  }
  g_rows.push_back(row);
}

// ---- The summary --------------------------------------------------------------------------------

void print_table() {
  if (g_rows.empty()) return;
  std::printf("\nFMA peak at start %.0f GFLOP/s (%s, %d threads); each row's fractions are of the peak\n"
              "measured between its rounds; times are medians in ms.\n\n", g_peak_gflops,
              uses_avx512() ? "512-bit" : "256-bit", omp_get_max_threads());
  std::printf("| workload | pass | shape | calls | share | seqnet ms | oneDNN nchw ms | oneDNN blocked ms | "
              "reorders ms | **ratio** | ratio to kernel | ratio, fastest rounds | seqnet of peak | oneDNN of peak | "
              "oneDNN kernel |\n");
  std::printf("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
  std::map<std::string, double> total;  // per workload: calls x seqnet's median
  for (const Row& r : g_rows) total[r.c.workload] += r.c.calls * r.seqnet;
  for (const Row& r : g_rows) {
    const double gflop = r.c.flops() / 1e9;
    std::printf("| %s | %s | %s | %lld | %.1f%% | %.3f |", r.c.workload.c_str(), op_name(r.c.op), r.c.shape().c_str(),
                static_cast<long long>(r.c.calls), 100 * r.c.calls * r.seqnet / total[r.c.workload], r.seqnet * 1e3);
    if (r.nchw > 0)
      std::printf(" %.3f | %.3f | %.3f | **%.2f** | %.2f | %.2f | %.0f%% | %.0f%% | %s |\n", r.nchw * 1e3,
                  r.blocked * 1e3, r.reorders * 1e3, r.seqnet / r.best_onednn_plain(), r.seqnet / r.blocked, r.ratio_min(),
                  100 * gflop / r.seqnet / r.peak, 100 * gflop / std::min(r.nchw, r.blocked) / r.peak,
                  r.blocked_impl.c_str());
    else
      std::printf(" - | - | - | - | - | - | %.0f%% | - | - |\n", 100 * gflop / r.seqnet / r.peak);
  }
  // Per workload: the rows that carry 80% of its convolution time, and the whole's peak fraction.
  for (const auto& [workload, seconds] : total) {
    std::vector<const Row*> rows;
    std::vector<double> peaks;
    double flops = 0, onednn = 0;
    for (const Row& r : g_rows)
      if (r.c.workload == workload) {
        rows.push_back(&r);
        peaks.push_back(r.peak);
        flops += r.c.calls * r.c.flops();
        onednn += r.c.calls * (r.nchw > 0 ? std::min(r.best_onednn_plain(), r.blocked) : 0);
      }
    std::sort(rows.begin(), rows.end(), [](const Row* a, const Row* b) { return a->c.calls * a->seqnet > b->c.calls * b->seqnet; });
    const double peak = median(peaks);
    std::printf("\n%s: convolutions %.1f ms per step at %.0f%% of the peak (%.0f GFLOP/s, median of its rows)",
                workload.c_str(), seconds * 1e3, 100 * flops / 1e9 / seconds / peak, peak);
    if (onednn > 0)
      std::printf(" (oneDNN, best per shape: %.1f ms, %.0f%% of peak)", onednn * 1e3, 100 * flops / 1e9 / onednn / peak);
    double bf16 = 0, f32_of_those = 0;  // oneDNN bf16 against its own fp32 kernel, rows that have both
    for (const Row* r : rows)
      if (r->bf16 > 0) bf16 += r->c.calls * r->bf16, f32_of_those += r->c.calls * r->blocked;
    if (bf16 > 0)
      std::printf(" (oneDNN bf16 on the shapes it runs: %.1f ms against its fp32 %.1f ms, %.2fx)", bf16 * 1e3,
                  f32_of_those * 1e3, f32_of_those / bf16);
    std::printf("; 80%% of it in:\n");
    double sum = 0;
    for (const Row* r : rows) {
      if (sum >= 0.8 * seconds) break;
      sum += r->c.calls * r->seqnet;
      std::printf("  %-10s %-24s %5.1f%%  ratio %s%s\n", op_name(r->c.op), r->c.shape().c_str(),
                  100 * r->c.calls * r->seqnet / seconds,
                  r->nchw > 0 ? std::to_string(r->seqnet / r->best_onednn_plain()).substr(0, 4).c_str() : "-",
                  r->bf16 > 0 ? ("  oneDNN bf16 " + std::to_string(r->blocked / r->bf16).substr(0, 4) + "x its fp32").c_str()
                              : "");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  g_peak_gflops = measure_fma_peak(uses_avx512());
  std::fprintf(stderr, "FMA peak, every thread, %s: %.0f GFLOP/s\n", uses_avx512() ? "512-bit" : "256-bit",
               g_peak_gflops);

  const std::string shipped_file = SEQNET_SOURCE_DIR "/models/seqnet-av-drive-les.safetensors";
  const ModelConfig shipped = weights_config(shipped_file, ModelConfig{});
  const auto [shipped_batch, shipped_crop] = recipe_batch_and_crop(shipped_file);
  const std::vector<Workload> workloads{{"default_train", ModelConfig{}, 4, 128, true},
                                        {"default_infer", ModelConfig{}, 4, 128, false},
                                        {"shipped_train", shipped, shipped_batch, shipped_crop, true},
                                        {"shipped_infer", shipped, shipped_batch, shipped_crop, false}};
  const std::string filter = benchmark::GetBenchmarkFilter();
  for (const Workload& w : workloads) {
    // Profiling a workload takes a while (the default model's inference most): only those the
    // filter names, e.g. --benchmark_filter=shipped_infer or shipped_train/.*_k1, or all without one.
    const bool all = filter.empty() || filter == "all" || filter == ".";
    if (!all && filter.find(w.name) == std::string::npos && !std::regex_search("conv/" + w.name + "/", std::regex(filter)))
      continue;
    std::fprintf(stderr, "profiling %s (%s) for its shapes\n", w.name.c_str(), w.model.describe().c_str());
    for (const ConvCase& c : profile_shapes(w)) {
      char name[160];
      std::snprintf(name, sizeof name, "conv/%s/%s/N%d_C%d_%dx%d_K%d_k%d", c.workload.c_str(), op_name(c.op), c.N, c.C,
                    c.H, c.W, c.K, c.ks);
      benchmark::RegisterBenchmark(name, compare, c)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_table();
  return 0;
}
