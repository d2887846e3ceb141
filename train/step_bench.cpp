// step_bench.cpp: training-step and inference timing (step_bench.h).
#include "train/step_bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <random>
#include <stdexcept>

#include "kernels/cpu/conv3x3_algorithm.h"
#include "kernels/cpu/conv3x3_direct.h"
#include "kernels/cuda/runtime.h"
#include "train/conv3x3_choices_json.h"
#include "model/loss.h"
#include "model/seqnet.h"
#include "layers/adam_optimizer.h"
#include "train/distributed.h"

namespace seqnet {
namespace {

using Clock = std::chrono::steady_clock;

// Host tensor of uniform [0,1) values, or of 0/1 with P(1) = 0.2 (a vessel-like share), moved
// to the device.
Tensor random_tensor(const Shape& shape, Device device, std::mt19937& rng, bool binary) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(shape.numel());
  for (float& x : v) x = binary ? (u(rng) > 0.8f ? 1.0f : 0.0f) : u(rng);
  return Tensor::from_vector(shape, v).to(device);
}

void wait_for(Device device) {
  if (device == Device::cuda) cuda::synchronize();
}

TimingStats stats_of(std::vector<double> seconds) {
  TimingStats t;
  t.seconds = seconds;
  std::sort(seconds.begin(), seconds.end());
  t.median = seconds[seconds.size() / 2];
  for (double x : seconds) t.mean += x / seconds.size();
  t.min = seconds.front();
  t.max = seconds.back();
  return t;
}

// Runs `once` one time untimed, then `steps` times timed; with profile, the op totals of the
// timed runs, divided by `steps`, go to `ops_out` (and those per op and shape to `shapes_out`).
template <typename F>
TimingStats time_repeats(F once, int steps, Device device, bool profile, std::vector<ops::OpTime>& ops_out,
                         std::vector<ops::OpTime>& shapes_out) {
  once();
  wait_for(device);
  ops::reset_op_times();
  ops::set_op_timing(profile, device == Device::cuda);
  std::vector<double> seconds;
  for (int i = 0; i < steps; ++i) {
    const Clock::time_point start = Clock::now();
    once();
    wait_for(device);
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  ops::set_op_timing(false);
  if (profile) {
    ops_out = ops::op_times();
    shapes_out = ops::op_shape_times();
    for (std::vector<ops::OpTime>* list : {&ops_out, &shapes_out})
      for (ops::OpTime& t : *list) {
        t.seconds /= steps;
        t.calls /= steps;
      }
  }
  return stats_of(seconds);
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux reports kilobytes
}

void check_side(int side, int multiple, const char* what) {
  if (side < multiple || side % multiple)
    throw std::invalid_argument(std::string(what) + " must be a positive multiple of " +
                                std::to_string(multiple) + " for this model, got " + std::to_string(side));
}

void append_profile(std::string& out, const char* title, const std::vector<ops::OpTime>& ops, double step_s) {
  double total = 0;
  for (const ops::OpTime& t : ops) total += t.seconds;
  char line[160];
  std::snprintf(line, sizeof line, "\n%s, mean per repeat (%.3f s in ops of %.3f s measured):\n", title, total, step_s);
  out += line;
  std::snprintf(line, sizeof line, "  %-34s %8s %10s %7s\n", "op", "calls", "seconds", "share");
  out += line;
  for (const ops::OpTime& t : ops) {
    std::snprintf(line, sizeof line, "  %-34s %8lld %10.4f %6.1f%%\n", t.op.c_str(), static_cast<long long>(t.calls),
                  t.seconds, 100.0 * t.seconds / step_s);
    out += line;
  }
  std::snprintf(line, sizeof line, "  %-34s %8s %10.4f %6.1f%%\n", "(outside ops)", "", step_s - total,
                100.0 * (step_s - total) / step_s);
  out += line;
}

// The longest (op, shape) totals: which layers the convolution time goes to.
void append_shape_profile(std::string& out, const char* title, const std::vector<ops::OpTime>& shapes,
                          double step_s) {
  constexpr size_t kRows = 15;
  char line[200];
  std::snprintf(line, sizeof line, "\n%s, the %zu longest of %zu (op, shape) pairs, mean per repeat:\n", title,
                std::min(kRows, shapes.size()), shapes.size());
  out += line;
  std::snprintf(line, sizeof line, "  %-34s %-26s %6s %10s %7s\n", "op", "shape", "calls", "seconds", "share");
  out += line;
  for (size_t i = 0; i < std::min(kRows, shapes.size()); ++i) {
    const ops::OpTime& t = shapes[i];
    std::snprintf(line, sizeof line, "  %-34s %-26s %6lld %10.4f %6.1f%%\n", t.op.c_str(), t.shape.c_str(),
                  static_cast<long long>(t.calls), t.seconds, 100.0 * t.seconds / step_s);
    out += line;
  }
}

nlohmann::json profile_json(const std::vector<ops::OpTime>& ops) {
  nlohmann::json j = nlohmann::json::object();
  for (const ops::OpTime& t : ops) j[t.op] = {{"calls", t.calls}, {"seconds", t.seconds}};
  return j;
}

nlohmann::json shape_profile_json(const std::vector<ops::OpTime>& shapes) {
  nlohmann::json j = nlohmann::json::array();
  for (const ops::OpTime& t : shapes)
    j.push_back({{"op", t.op}, {"shape", t.shape}, {"calls", t.calls}, {"seconds", t.seconds}});
  return j;
}

}  // namespace

StepBenchResult run_step_bench(const StepBenchSettings& s) {
  s.model.validate();
  if (s.batch < 1) throw std::invalid_argument("--batch must be at least 1, got " + std::to_string(s.batch));
  if (s.steps < 1) throw std::invalid_argument("--steps must be at least 1, got " + std::to_string(s.steps));
  const int multiple = s.model.size_multiple();
  check_side(s.crop, multiple, "--crop");
  if (s.infer != 0) check_side(s.infer, multiple, "--infer");

  StepBenchResult r;
  Communicator& comm = world();
  r.ranks = s.mpi ? comm.ranks() : 1;
  if (s.batch % r.ranks)
    throw std::invalid_argument("--batch " + std::to_string(s.batch) + " does not split over " + std::to_string(r.ranks) +
                                " ranks: give a multiple of " + std::to_string(r.ranks));
  const int local_batch = s.batch / r.ranks;
  SeqNet model(s.model, s.device);
  r.parameters = model.params().parameter_count();
  AdamOptimizer adam(model.params(), cpu::AdamSettings{});
  SeqNetLoss loss;
  std::mt19937 rng(1234);
  const Shape crops{local_batch, 3, s.crop, s.crop}, labels{local_batch, 1, s.crop, s.crop};
  const Tensor x = random_tensor(crops, s.device, rng, false);
  const SeqNetTargets targets{random_tensor(labels, s.device, rng, true), random_tensor(labels, s.device, rng, true),
                              random_tensor(labels, s.device, rng, true)};

  uint64_t step_seed = 0;
  std::vector<double> allreduce_seconds, wait_seconds;
  auto train_step = [&] {
    model.params().zero_grads();
    const SeqNetOutputs& out = model.forward(x, Mode{true, ++step_seed});
    loss.forward_backward(out, targets);
    model.backward(loss.gradients());
    if (s.mpi) {
      wait_for(s.device);
      const Clock::time_point arrived = Clock::now();
      comm.barrier();
      const Clock::time_point start = Clock::now();
      comm.average(model.params().grads());
      wait_seconds.push_back(std::chrono::duration<double>(start - arrived).count());
      allreduce_seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    adam.step();
  };
  r.train_step = time_repeats(train_step, s.steps, s.device, s.profile, r.train_ops, r.train_shapes);
  r.patches_per_s = s.batch / r.train_step.median;
  if (s.mpi) {  // the timed repeats, after the warm-up
    r.allreduce = stats_of({allreduce_seconds.begin() + 1, allreduce_seconds.end()});
    r.rank_wait = stats_of({wait_seconds.begin() + 1, wait_seconds.end()});
  }

  if (s.infer != 0) {
    const Tensor image = random_tensor({1, 3, s.infer, s.infer}, s.device, rng, false);
    auto infer = [&] { model.forward(image, Mode{false, 0}); };
    r.infer = time_repeats(infer, s.steps, s.device, s.profile, r.infer_ops, r.infer_shapes);
  }
  r.peak_rss_mb = peak_rss_mb();
  if (s.device == Device::cuda) r.peak_device_mb = cuda::peak_allocated_bytes() / 1048576.0;
  return r;
}

// How the CPU runs: threads, the OpenMP wait policy (apps/main.cpp may have chosen it), and
// how the 3x3 convolutions are chosen (kernels/cpu/conv3x3_algorithm.h), so that a recorded
// number says what made it.
std::string cpu_engine_description() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const auto forced = cpu::forced_conv3x3_algorithm();
  std::string conv = forced ? std::string(cpu::conv3x3_algorithm_name(*forced)) : "fastest measured per shape of gemm";
  if (!forced)
    for (cpu::Conv3x3Algorithm a : cpu::conv3x3_algorithms_available())
      if (a != cpu::Conv3x3Algorithm::gemm) conv += std::string(", ") + cpu::conv3x3_algorithm_name(a);
  if (cpu::conv3x3_direct_available() && (!forced || *forced == cpu::Conv3x3Algorithm::direct))
    conv += std::string(" (direct in ") + cpu::conv3x3_isa_name(*cpu::conv3x3_direct_isa()) + ")";
  return std::to_string(omp_get_max_threads()) + " threads, OMP_WAIT_POLICY " + (policy ? policy : "unset") +
         ", 3x3 convolutions: " + conv;
}

// The measured choice per 3x3 shape and pass, with every candidate's best time.
void append_conv_choices(std::string& out) {
  const auto choices = cpu::conv3x3_choices();
  if (choices.empty()) return;
  out += "\n3x3 convolution chosen per shape (best of the timed runs, ms):\n";
  char line[256];
  for (const cpu::Conv3x3Choice& c : choices) {
    std::snprintf(line, sizeof line, "  %-15s N%d C%d>K%d %dx%d  %-8s", cpu::conv3x3_pass_name(c.shape.pass), c.shape.N,
                  c.shape.C, c.shape.K, c.shape.H, c.shape.W, cpu::conv3x3_algorithm_name(c.algorithm));
    out += line;
    for (const auto& [algorithm, seconds] : c.seconds) {
      std::snprintf(line, sizeof line, "  %s %.2f", cpu::conv3x3_algorithm_name(algorithm), seconds * 1e3);
      out += line;
    }
    out += "\n";
  }
}

std::string format_step_bench_text(const StepBenchSettings& s, const StepBenchResult& r) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "seqnet bench: %s (%lld parameters) on %s\n", s.model.describe().c_str(),
                static_cast<long long>(r.parameters), device_name(s.device));
  out += line;
  if (s.device == Device::cpu) out += "cpu: " + cpu_engine_description() + "\n";
  std::snprintf(line, sizeof line, "%d timed repeats after 1 warm-up; seconds as median (min .. max)\n\n", s.steps);
  out += line;
  std::snprintf(line, sizeof line, "train step  %d x 3x%dx%d   %8.4f s (%.4f .. %.4f)   %.2f patches/s\n", s.batch,
                s.crop, s.crop, r.train_step.median, r.train_step.min, r.train_step.max, r.patches_per_s);
  out += line;
  if (s.mpi) {
    const double mb = double(r.parameters) * 4 / 1048576.0;
    std::snprintf(line, sizeof line,
                  "  all-reduce %.2f MB      %8.4f s (%.4f .. %.4f)   %.1f%% of the step; %d ranks x %d crops\n", mb,
                  r.allreduce.median, r.allreduce.min, r.allreduce.max, 100 * r.allreduce.median / r.train_step.median,
                  r.ranks, s.batch / r.ranks);
    out += line;
    std::snprintf(line, sizeof line, "  rank wait                %8.4f s (%.4f .. %.4f)   before it, for the slowest rank\n",
                  r.rank_wait.median, r.rank_wait.min, r.rank_wait.max);
    out += line;
  }
  if (s.infer != 0) {
    std::snprintf(line, sizeof line, "inference   1 x 3x%dx%d    %8.4f s (%.4f .. %.4f)\n", s.infer, s.infer,
                  r.infer.median, r.infer.min, r.infer.max);
    out += line;
  }
  std::snprintf(line, sizeof line, "peak memory %.1f MB resident (host)", r.peak_rss_mb);
  out += line;
  if (s.device == Device::cuda) {
    std::snprintf(line, sizeof line, ", %.1f MB allocated on the GPU", r.peak_device_mb);
    out += line;
  }
  out += "\n";
  if (s.profile) {
    append_profile(out, "training step by op", r.train_ops, r.train_step.mean);
    append_shape_profile(out, "training step by layer shape", r.train_shapes, r.train_step.mean);
    if (s.infer != 0) {
      append_profile(out, "inference by op", r.infer_ops, r.infer.mean);
      append_shape_profile(out, "inference by layer shape", r.infer_shapes, r.infer.mean);
    }
    if (s.device == Device::cpu) append_conv_choices(out);
  }
  return out;
}

std::string format_step_bench_json(const StepBenchSettings& s, const StepBenchResult& r) {
  nlohmann::json j;
  j["config"] = nlohmann::json::parse(s.model.to_json());
  j["config"]["batch"] = s.batch;
  j["config"]["crop"] = s.crop;
  j["config"]["infer"] = s.infer;
  j["config"]["steps"] = s.steps;
  j["device"] = s.device == Device::cuda ? cuda::device_description() : std::string("cpu");
  if (s.device == Device::cpu) j["cpu"] = cpu_engine_description();
  j["parameters"] = r.parameters;
  j["train_step_s"] = r.train_step.median;
  j["train_step_min_s"] = r.train_step.min;
  j["train_step_max_s"] = r.train_step.max;
  j["patches_per_s"] = r.patches_per_s;
  if (s.mpi) {
    j["ranks"] = r.ranks;
    j["allreduce_s"] = r.allreduce.median;
    j["allreduce_min_s"] = r.allreduce.min;
    j["allreduce_max_s"] = r.allreduce.max;
    j["allreduce_bytes"] = r.parameters * 4;
    j["rank_wait_s"] = r.rank_wait.median;
  }
  if (s.infer != 0) {
    j["infer_s"] = r.infer.median;
    j["infer_min_s"] = r.infer.min;
    j["infer_max_s"] = r.infer.max;
  } else {
    j["infer_s"] = nullptr;
  }
  j["peak_rss_mb"] = r.peak_rss_mb;
  if (s.device == Device::cuda) j["peak_gpu_mb"] = r.peak_device_mb;
  if (s.profile) {
    j["profile"]["train_step"] = profile_json(r.train_ops);
    j["profile"]["train_step_by_shape"] = shape_profile_json(r.train_shapes);
    if (s.infer != 0) {
      j["profile"]["infer"] = profile_json(r.infer_ops);
      j["profile"]["infer_by_shape"] = shape_profile_json(r.infer_shapes);
    }
    if (s.device == Device::cpu) j["profile"]["conv3x3_choices"] = conv3x3_choices_to_json()["choices"];
  }
  return j.dump();
}

}  // namespace seqnet
