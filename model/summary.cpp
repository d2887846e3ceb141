// summary.cpp: the layer table of SeqNet (summary.h).
#include "model/summary.h"

#include <cstdio>
#include <set>
#include <stdexcept>

namespace seqnet {
namespace {

constexpr int64_t kBytesPerValue = sizeof(float);

// Walks the model in forward order, as model/*.cpp build and run it, adding one row per layer.
class SummaryWalker {
 public:
  SummaryWalker(const ModelConfig& config, ModelSummary& out) : cfg_(config), out_(out) {}

  void seqnet(const Shape& x) {
    const Shape seg_last = branch("seg", x, 1, cfg_.seg_iterations, cfg_.segmentation_width());
    // Block BP: m = sigmoid(s_T) * x feeds the cls branch; no gradient flows back through it.
    row("block_bp.sigmoid", "Sigmoid", seg_last, 0, 0);
    const Shape m = x;
    row("block_bp.mul", "Multiply (stop grad)", m, 0, m.numel());
    branch("cls", m, 2, cfg_.cls_iterations, cfg_.classification_width());
  }

 private:
  // Returns the shape of the last head's logits.
  Shape branch(const std::string& name, const Shape& x, int out_channels, int iterations, int width) {
    std::vector<Shape> features{unet(name + ".unet", x, width, cfg_.depth)};
    const Shape first = image(x.n(), width, x.h(), x.w());
    for (int i = 0; i < iterations; ++i) features.push_back(refiner_iteration(name + ".refine", features.back(), first, i, width));
    Shape logits;
    for (size_t k = 0; k < features.size(); ++k)
      logits = conv(name + ".heads." + std::to_string(k), features[k], out_channels, 1, true);
    return logits;
  }

  Shape unet(const std::string& name, const Shape& x, int width, int depth) {
    return unet_body(name, double_conv(name + ".enc.0", x, width), width, depth);
  }

  Shape refiner_iteration(const std::string& name, const Shape& f, const Shape& first, int i, int width) {
    const Shape e = double_conv(name + ".enc.0", f, width);
    // concat(F) holds the branch UNet's first-level features and every iteration's enc.0 output.
    const Shape cat = image(f.n(), first.c() + int64_t(width) * (i + 1), e.h(), e.w());
    row(name + ".fuse." + std::to_string(i) + ".cat", "Concat", cat, 0, 0);
    const Shape g = conv(name + ".fuse." + std::to_string(i), cat, width, 1, true);
    return unet_body(name, g, width, cfg_.refine_depth);
  }

  Shape unet_body(const std::string& name, const Shape& s0, int width, int depth) {
    std::vector<Shape> skips{s0};
    for (int l = 1; l < depth; ++l) {
      const Shape& above = skips.back();
      const Shape pooled = image(above.n(), above.c(), above.h() / 2, above.w() / 2);
      row(name + ".pool." + std::to_string(l), "MaxPool2d 2x2", pooled, 0, 0);
      skips.push_back(double_conv(name + ".enc." + std::to_string(l), pooled, width << l));
    }
    Shape x = skips.back();
    for (int l = depth - 2; l >= 0; --l) {
      const std::string up = name + ".up." + std::to_string(l);
      const Shape u = image(x.n(), width << l, x.h() * 2, x.w() * 2);
      param_row(up, "ConvTranspose2d 2x2", u, x.c() * u.c() * 4 + u.c(), u.numel() * x.c());
      const Shape cat = image(u.n(), 2 * u.c(), u.h(), u.w());
      row(name + ".dec." + std::to_string(l) + ".cat", "Concat", cat, 0, 0);
      x = double_conv(name + ".dec." + std::to_string(l), cat, width << l);
    }
    return x;
  }

  Shape double_conv(const std::string& name, const Shape& x, int out_channels) {
    Shape y = x;
    for (const char* stage : {"1", "2"}) {
      y = conv(name + ".conv" + stage, y, out_channels, 3, cfg_.norm == Norm::none);
      if (cfg_.norm == Norm::batch) param_row(name + ".bn" + stage, "BatchNorm2d", y, 2 * int64_t(out_channels), y.numel());
      row(name + ".relu" + stage, "ReLU (in place)", y, 0, 0, false);
      row(name + ".drop" + stage, "Dropout (in place)", y, 0, 0, false);
    }
    return y;
  }

  Shape conv(const std::string& name, const Shape& x, int out_channels, int k, bool bias) {
    const Shape y = image(x.n(), out_channels, x.h(), x.w());
    const int64_t weights = int64_t(out_channels) * x.c() * k * k;
    const std::string type = "Conv2d " + std::to_string(k) + "x" + std::to_string(k) + (bias ? " +bias" : "");
    param_row(name, type, y, weights + (bias ? out_channels : 0), y.numel() * x.c() * k * k);
    return y;
  }

  // A layer with weights: counted once per path, like ParameterStore's names.
  void param_row(const std::string& path, const std::string& type, const Shape& y, int64_t params, int64_t macs) {
    const bool shared = !seen_.insert(path).second;
    row(path, type, y, shared ? 0 : params, macs);
    out_.rows.back().shared = shared;
  }

  void row(const std::string& path, const std::string& type, const Shape& y, int64_t params, int64_t macs,
           bool new_buffer = true) {
    SummaryRow r;
    r.path = path;
    r.type = type;
    r.output = y;
    r.parameters = params;
    r.macs = macs;
    r.activation_bytes = new_buffer ? y.numel() * kBytesPerValue : 0;
    out_.parameters += r.parameters;
    out_.macs += r.macs;
    out_.activation_bytes += r.activation_bytes;
    out_.rows.push_back(std::move(r));
  }

  static Shape image(int64_t n, int64_t c, int64_t h, int64_t w) { return Shape{n, c, h, w}; }

  const ModelConfig& cfg_;
  ModelSummary& out_;
  std::set<std::string> seen_;
};

std::string with_commas(int64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// MiB with two decimals, or the exact byte count where that would round to 0.00 (tiny models).
std::string mib(int64_t bytes) {
  char buf[32];
  if (bytes < 5243) return with_commas(bytes) + " B";  // under 0.005 MiB
  std::snprintf(buf, sizeof buf, "%.2f MiB", bytes / 1048576.0);
  return buf;
}

// Millions with one decimal ("3057.6 M"), or the exact count where that would round to 0.0.
std::string millions(int64_t count) {
  char buf[32];
  if (count < 50000) return with_commas(count);
  std::snprintf(buf, sizeof buf, "%.1f M", count / 1e6);
  return buf;
}

// Billions with two decimals, or the exact count where that would round to 0.00.
std::string billions(int64_t count) {
  char buf[32];
  if (count < 5000000) return with_commas(count);
  std::snprintf(buf, sizeof buf, "%.2f G", count / 1e9);
  return buf;
}

}  // namespace

ModelSummary summarize_model(const ModelConfig& config, int batch, int height, int width) {
  config.validate();
  const int m = config.size_multiple();
  if (batch < 1) throw std::invalid_argument("summary batch must be at least 1, got " + std::to_string(batch));
  if (height < m || width < m || height % m || width % m)
    throw std::invalid_argument("summary input size must be a positive multiple of " + std::to_string(m) +
                                " for this depth, got " + std::to_string(height) + "x" + std::to_string(width));
  // Every layer's cost is proportional to the pixels, so the smallest input tells whether this
  // one's counts fit in 64 bits (a batch of 10^9 images of 8192x8192 does not).
  ModelSummary unit;
  unit.config = config;
  unit.input = Shape{1, 3, m, m};
  SummaryWalker(config, unit).seqnet(unit.input);
  const double scale = double(batch) * height * width / (double(m) * m);
  if (double(unit.macs) * scale > 9e18 || double(unit.activation_bytes) * scale > 9e18)
    throw std::invalid_argument("summary of " + std::to_string(batch) + " images of " + std::to_string(height) + "x" +
                                std::to_string(width) + " is too large to count (more than 2^63 multiply-adds or bytes)");
  ModelSummary s;
  s.config = config;
  s.input = Shape{batch, 3, height, width};
  SummaryWalker(config, s).seqnet(s.input);
  return s;
}

std::vector<std::string> summary_cells(const SummaryRow& r) {
  return {r.path,
          r.type,
          r.output.str(),
          r.shared ? "shared" : r.parameters ? with_commas(r.parameters) : "-",
          r.macs ? millions(r.macs) : "-",
          r.activation_bytes ? mib(r.activation_bytes) : "-"};
}

std::string summary_totals(const ModelSummary& s) {
  return std::to_string(s.rows.size()) + " layers; parameters " + with_commas(s.parameters) + "; forward " +
         billions(s.macs) + " multiply-adds; activations " + mib(s.activation_bytes);
}

std::string format_summary(const ModelSummary& s) {
  std::string out = "SeqNet " + s.config.describe() + ", input " + s.input.str() + "\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-38s %-22s %-20s %12s %12s %12s\n", "layer", "type", "output", "parameters",
                "MACs", "activation");
  out += line;
  for (const SummaryRow& r : s.rows) {
    const std::vector<std::string> c = summary_cells(r);
    std::snprintf(line, sizeof line, "%-38s %-22s %-20s %12s %12s %12s\n", c[0].c_str(), c[1].c_str(), c[2].c_str(),
                  c[3].c_str(), c[4].c_str(), c[5].c_str());
    out += line;
  }
  out += "\n" + summary_totals(s) + "\n";
  out += "(\"shared\": the refiner's UNet applied again with the weights of iteration 0; activations are the\n"
         " output buffers of one forward pass, float32, in-place ReLU/Dropout adding none; M = 10^6, G = 10^9,\n"
         " MiB = 2^20 bytes; counts too small for those units are exact)\n";
  return out;
}

}  // namespace seqnet
