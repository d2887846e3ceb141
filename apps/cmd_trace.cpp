// cmd_trace.cpp: `seqnet trace`: one training step of a tiny SeqNet on one small image, with the
// numbers of every layer printed as they flow: forward (each layer's output), the loss, backward
// (the gradient each layer receives, in the order it is computed), the parameter gradients, and
// what one Adam step does to the parameters. For reading beside docs/WALKTHROUGH.md.
//
// The layers report through the model's trace hook (model/trace.h), under the same paths as
// `seqnet summary`. The step is the trainer's (train/trainer.cpp): zero the gradients, forward in
// training mode, loss and its gradient, backward, Adam.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/args.h"
#include "apps/device_option.h"
#include "apps/model_options.h"
#include "apps/registry.h"
#include "kernels/ops.h"
#include "layers/adam_optimizer.h"
#include "model/loss.h"
#include "model/seqnet.h"
#include "model/trace.h"

namespace seqnet::cli {
namespace {

// Tensors of at most this many elements are printed in full; larger ones as statistics only.
constexpr int64_t kMaxValuesShown = 8;

// The model the trace runs unless options say otherwise: 2 channels at the top, 3 levels
// (8x8, 4x4, 2x2 on an 8x8 image), one refiner iteration per branch.
ModelConfig tiny_config() {
  ModelConfig c;
  c.width = 2;
  c.depth = 3;
  c.refine_depth = 2;
  c.seg_iterations = 1;
  c.cls_iterations = 1;
  return c;
}

std::string shape_text(const Shape& s) { return s.str(); }

// "mean std min max" of a tensor, and its values when it is small.
std::string describe(const Tensor& t) {
  const std::vector<double> v = t.to_doubles();
  double sum = 0, lo = v.empty() ? 0 : v[0], hi = lo;
  for (double x : v) {
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const double mean = v.empty() ? 0 : sum / double(v.size());
  double squares = 0;
  for (double x : v) squares += (x - mean) * (x - mean);
  const double stddev = v.empty() ? 0 : std::sqrt(squares / double(v.size()));
  char buf[128];
  std::snprintf(buf, sizeof buf, "%11.4g %10.4g %11.4g %11.4g", mean, stddev, lo, hi);
  std::string out = buf;
  if (int64_t(v.size()) <= kMaxValuesShown) {
    out += "  [";
    for (size_t i = 0; i < v.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s%.4g", i ? " " : "", v[i]);
      out += buf;
    }
    out += "]";
  }
  return out;
}

void print_header(const char* first_column) {
  std::printf("  %-3s %-30s %-14s %11s %10s %11s %11s\n", "#", first_column, "shape", "mean", "std", "min", "max");
}

// With --values, every value of every tensor printed, under its row: a 4-D tensor plane by plane
// (one line per image row), anything else eight values a line. Each line starts with "|", so it
// is never read as a table row.
bool g_all_values = false;

void print_values(const Tensor& t) {
  const std::vector<double> v = t.to_doubles();
  const Shape& s = t.shape();
  const bool planes = s.rank() == 4;
  const int64_t width = planes ? s.w() : 8, plane = planes ? int64_t(s.h()) * s.w() : int64_t(v.size());
  for (int64_t p = 0; p * plane < int64_t(v.size()); ++p) {
    if (planes) std::printf("      | [%lld,%lld]\n", static_cast<long long>(p / s.c()), static_cast<long long>(p % s.c()));
    for (int64_t r = 0; r * width < plane; ++r) {
      std::printf("      |  ");
      for (int64_t i = r * width; i < std::min(plane, (r + 1) * width); ++i) std::printf(" %11.6g", v[p * plane + i]);
      std::printf("\n");
    }
  }
}

void print_row(int index, const std::string& name, const Tensor& t) {
  std::printf("  %-3d %-30s %-14s %s\n", index, name.c_str(), shape_text(t.shape()).c_str(), describe(t).c_str());
  if (g_all_values) print_values(t);
}

// A deterministic 8x8 (or HxW) scene: a vessel along the two diagonals, artery above the
// middle row and vein below; the image is brighter off the vessels, as in a fundus photograph.
struct Scene {
  Tensor image, vessel, artery, vein;
};

Scene make_scene(int size) {
  Scene s;
  s.image = Tensor::empty({1, 3, size, size});
  s.vessel = Tensor::zeros({1, 1, size, size});
  s.artery = Tensor::zeros({1, 1, size, size});
  s.vein = Tensor::zeros({1, 1, size, size});
  const int64_t plane = int64_t(size) * size;
  for (int i = 0; i < size; ++i)
    for (int j = 0; j < size; ++j) {
      const int64_t p = int64_t(i) * size + j;
      const bool on_vessel = i == j || i + j == size - 1;
      if (on_vessel) {
        s.vessel.f32()[p] = 1;
        (i < size / 2 ? s.artery : s.vein).f32()[p] = 1;
      }
      for (int c = 0; c < 3; ++c) s.image.f32()[c * plane + p] = (on_vessel ? 0.2f : 0.7f) + 0.1f * float(c);
    }
  return s;
}

// One head's term of the loss: the mean BCE of channel `channel` of `logits` against `target`.
double bce(const Tensor& logits, int channel, const Tensor& target) {
  const Shape& s = logits.shape();
  Tensor one = Tensor::empty({s.n(), 1, s.h(), s.w()}, logits.device(), logits.dtype());
  Tensor gradient = Tensor::empty(one.shape(), logits.device(), logits.dtype());
  Tensor sum = Tensor::zeros({1}, logits.device(), logits.dtype());
  ops::copy_from_channels(one, logits, channel);
  ops::bce_with_logits(sum, gradient, one, target);
  return sum.to_doubles().at(0);
}

int run(int argc, char** argv) {
  Args args("trace", "[--size N] [--seed N] [--lr X] [model options]",
            "Runs one training step of a tiny SeqNet (by default width 2, depth 3, refiner depth 2, one\n"
            "refiner iteration per branch) on one drawn NxN image and prints the numbers of every layer as they\n"
            "flow, under the paths `seqnet summary` uses:\n"
            "  1. forward, training mode: each layer's output (mean, standard deviation, min, max; the values\n"
            "     themselves for tensors of at most 8 elements);\n"
            "  2. the loss, head by head;\n"
            "  3. backward: the gradient each layer receives, dL/d(its output), in the order it is computed;\n"
            "  4. the gradient of every parameter tensor;\n"
            "  5. one Adam step: how far each parameter tensor moved.\n"
                        "The image is drawn, not read: vessels along both diagonals, artery in the top half, vein in the\n"
            "bottom half. Weights are initialised from --seed. Deterministic: the same options print the same\n"
            "numbers. With --values every value is printed too, the input and the weights first, so any\n"
            "layer's numbers can be checked by hand (docs/DERIVATIONS.md works some through).");
  args.option("size", "8", "image height and width (a multiple of 2^(depth-1), at least twice that with batch norm)",
              "N");
  args.option("seed", "1", "seed of the weights' initialisation and of the dropout masks", "N");
    args.option("lr", "0.001", "Adam's learning rate", "X");
  args.flag("values", "print every value of every tensor, each 4-D tensor plane by plane (N,C) under its row");
  add_model_options(args, tiny_config());
  add_device_option(args);
  if (!args.parse(argc, argv)) return 0;
  const ModelConfig config = model_config_from(args);
  const int size = args.integer("size");
  const int multiple = config.size_multiple();
  // The trace prints one small image's numbers; past this its tensors would not fit in memory.
  constexpr int kMaxTraceSize = 1024;
  if (size > kMaxTraceSize)
    throw UsageError("--size " + std::to_string(size) + " is too large for a trace (at most " +
                     std::to_string(kMaxTraceSize) + "; the trace is read by a person, 8 is the default)");
  if (size < multiple || size % multiple)
    throw UsageError("--size must be a positive multiple of " + std::to_string(multiple) + " for this depth, got " +
                     std::to_string(size));
  // One image: batch norm's training statistics need more than one pixel at the deepest level.
  if (config.norm == Norm::batch && size / multiple < 2)
    throw UsageError("--size must be at least " + std::to_string(2 * multiple) +
                     " with batch norm: the deepest level of one image needs more than one pixel, got " +
                     std::to_string(size));
  const int seed = args.integer("seed");
  if (seed < 0) throw UsageError("--seed must be at least 0, got " + std::to_string(seed));
  cpu::AdamSettings adam_settings;
  adam_settings.lr = args.number("lr");
  if (!(adam_settings.lr > 0)) throw UsageError("--lr must be positive, got " + args.str("lr"));
    const Device device = chosen_device(args);
  g_all_values = args.on("values");

  SeqNet model(config, device, DType::f32, uint64_t(seed));
  AdamOptimizer adam(model.params(), adam_settings);
  const Scene scene = make_scene(size);
  const Tensor x = scene.image.to(device);
  const SeqNetTargets targets{scene.vessel.to(device), scene.artery.to(device), scene.vein.to(device)};

  std::printf("seqnet trace: SeqNet %s, %lld parameters, on %s\n", config.describe().c_str(),
              static_cast<long long>(model.params().parameter_count()), device_name(device));
  std::printf("input %s: vessels on both diagonals (artery above the middle row, vein below)\n\n",
              x.shape().str().c_str());

    int index = 0;
  if (g_all_values) {
    std::printf("0. the input and the parameters before the step (batch-norm running statistics left out)\n");
    print_header("tensor");
    print_row(++index, "input", x);
    for (size_t id = 0; id < model.params().entries().size(); ++id)
      if (model.params().entries()[id].trainable)
        print_row(++index, model.params().entries()[id].name, model.params().value(int(id)));
    std::printf("\n");
    index = 0;
  }
  set_trace_hook([&](const std::string& path, TracePass, const Tensor& t) { print_row(++index, path, t); });
  std::printf("1. forward, training mode (batch statistics, dropout %g): each layer's output\n", config.dropout);
  print_header("layer");
  // The training step, as train/trainer.cpp runs it.
  model.params().zero_grads();
  const SeqNetOutputs& logits = model.forward(x, Mode{true, uint64_t(seed)});
  SeqNetLoss loss;
  loss.forward_backward(logits, targets);

  std::printf("\n2. loss: mean binary cross-entropy on logits of every head, summed\n");
  for (size_t k = 0; k < logits.seg.size(); ++k)
    std::printf("  seg.heads.%zu  BCE(s_%zu, vessel)                          %.6f\n", k, k,
                bce(logits.seg[k], 0, targets.vessel));
  for (size_t k = 0; k < logits.cls.size(); ++k)
    std::printf("  cls.heads.%zu  BCE(c_%zu[0], artery) + BCE(c_%zu[1], vein)   %.6f + %.6f\n", k, k, k,
                bce(logits.cls[k], 0, targets.artery), bce(logits.cls[k], 1, targets.vein));
  std::printf("  L = %.6f\n", loss.value());

  std::printf("\n3. backward: the gradient each layer receives, dL/d(its output), in the order computed\n");
  std::printf("   (the cls branch first; nothing flows from it into the seg branch: Block BP)\n");
  print_header("layer");
  index = 0;
  model.backward(loss.gradients());
  set_trace_hook(nullptr);

  ParameterStore& store = model.params();
  std::printf("\n4. parameter gradients dL/dp (a refiner weight's is the sum over its iterations)\n");
  print_header("parameter");
  index = 0;
  std::vector<int> ids;
  for (size_t id = 0; id < store.entries().size(); ++id)
    if (store.entries()[id].trainable) ids.push_back(int(id));
  for (int id : ids) print_row(++index, store.entries()[id].name, store.grad(id));

  std::vector<Tensor> before;
  for (int id : ids) before.push_back(store.value(id).to(Device::cpu));
  adam.step();
  std::printf("\n5. one Adam step (lr %g, step t = 1): the change of each parameter tensor. At t = 1 the\n"
              "   bias-corrected moments are m^ = g and v^ = g^2, so each value moves by lr * g / (|g| + eps):\n"
              "   lr against the sign of its gradient, whatever the gradient's size.\n",
              adam_settings.lr);
  print_header("parameter change");
  index = 0;
  for (size_t n = 0; n < ids.size(); ++n) {
    Tensor change = store.value(ids[n]).to(Device::cpu);
    const Tensor& old = before[n];
    for (int64_t i = 0; i < change.numel(); ++i) change.f32()[i] -= old.f32()[i];
    print_row(++index, store.entries()[ids[n]].name, change);
  }
  return 0;
}

const bool registered =
    register_command({"trace", "one training step of a tiny model, every layer's numbers printed", 55, run});

}  // namespace
}  // namespace seqnet::cli
