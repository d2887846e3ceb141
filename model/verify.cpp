// verify.cpp: rerunning reference dumps (verify.h).
#include "model/verify.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "io/safetensors.h"
#include "kernels/ops.h"
#include "layers/activations.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/maxpool2d.h"
#include "model/loss.h"
#include "model/seqnet.h"
#include "layers/adam_optimizer.h"

namespace seqnet {

bool VerifyResult::pass() const {
  if (rows.empty()) return false;
  for (const VerifyRow& r : rows)
    if (!r.pass()) return false;
  return true;
}

namespace {

double relative_error(const Tensor& got, const Tensor& ref) {
  if (got.numel() != ref.numel())
    throw std::runtime_error("result has " + std::to_string(got.numel()) + " values, reference " +
                             std::to_string(ref.numel()));
  std::vector<double> a = got.to_doubles(), b = ref.to_doubles();
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  double rel = std::sqrt(num) / std::max(std::sqrt(den), 1e-12);
  return std::isfinite(rel) ? rel : INFINITY;
}

// A dump being rerun: its tensors, its metadata, the device, and the rows found so far.
class Dump {
 public:
  Dump(const std::string& path, Device device) : path_(path), device_(device), file_(read_safetensors(path)) {}

  const std::string& op() const {
    static const std::string none;
    auto it = file_.metadata.find("op");
    return it == file_.metadata.end() ? none : it->second;
  }
  bool has(const std::string& name) const { return file_.tensors.count(name) > 0; }
  // The tensor on the run's device; an error naming the file when it is absent.
  Tensor get(const std::string& name) const { return host(name).to(device_); }
  const Tensor& host(const std::string& name) const {
    auto it = file_.tensors.find(name);
    if (it == file_.tensors.end()) throw std::runtime_error(path_ + ": dump has no tensor '" + name + "'");
    return it->second;
  }
  std::string meta(const std::string& key, const std::string& fallback) const {
    auto it = file_.metadata.find(key);
    return it == file_.metadata.end() ? fallback : it->second;
  }
  double meta_number(const std::string& key, double fallback) const {
    std::string v = meta(key, "");
    if (v.empty()) return fallback;
    try {
      return std::stod(v);
    } catch (const std::exception&) {
      throw std::runtime_error(path_ + ": metadata '" + key + "' is not a number: " + v);
    }
  }
  const std::map<std::string, Tensor>& tensors() const { return file_.tensors; }
  Device device() const { return device_; }
  const std::string& path() const { return path_; }

  // One row per tensor (layer dumps).
  void compare(const std::string& name, const Tensor& got, double bound = kLayerDumpTolerance) {
    const Tensor& ref = host(name);
    if (got.numel() != ref.numel())
      throw std::runtime_error(path_ + ": '" + name + "' has shape " + ref.shape().str() + " but the result is " +
                               got.shape().str());
    rows.push_back({name, name, relative_error(got, ref), bound});
  }
  std::vector<VerifyRow> rows;

 private:
  std::string path_;
  Device device_;
  TensorFile file_;
};

// Model dumps report one row per group: the worst tensor of the group.
struct GroupRows {
  std::map<std::string, VerifyRow> rows;
  std::vector<std::string> order;
  std::vector<VerifyRow> details;
  void add(const std::string& group, const std::string& name, double rel, double bound) {
    details.push_back({group, name, rel, bound});
    if (!rows.count(group)) {
      order.push_back(group);
      rows[group] = {group, name, rel, bound};
    } else if (rel > rows[group].rel_error || std::isnan(rel)) {
      rows[group].rel_error = rel;
      rows[group].worst = name;
    }
  }
};

void expect_meta(const Dump& d, const std::string& key, double expected) {
  double v = d.meta_number(key, expected);
  if (v != expected)
    throw std::runtime_error(d.path() + ": " + d.op() + " with " + key + " " + d.meta(key, "") +
                             " is not a SeqNet layer (this program runs " + key + " " + std::to_string(int(expected)) +
                             ")");
}

void run_conv2d(Dump& d) {
  expect_meta(d, "stride", 1);
  const Tensor& w = d.host("weight");
  const int k = int(w.shape()[2]);
  if (k != 1 && k != 3) throw std::runtime_error(d.path() + ": conv2d kernel " + std::to_string(k) + " is not 1 or 3");
  expect_meta(d, "padding", k / 2);
  const bool bias = d.has("bias");
  ParameterStore store;
  Conv2d conv(store, "conv", int(w.shape()[1]), int(w.shape()[0]), k, bias);
  store.allocate(d.device(), DType::f32, 0);
  std::map<std::string, Tensor> params{{"conv.weight", w}};
  if (bias) params["conv.bias"] = d.host("bias");
  store.load_named_tensors(params, d.path());
  d.compare("y", conv.forward(d.get("x")));
  d.compare("dx", conv.backward(d.get("dy")));
  d.compare("dweight", store.grad(store.id("conv.weight")));
  if (bias) d.compare("dbias", store.grad(store.id("conv.bias")));
}

void run_conv_transpose2d(Dump& d) {
  expect_meta(d, "kernel", 2);
  expect_meta(d, "stride", 2);
  const Tensor& w = d.host("weight");
  ParameterStore store;
  ConvTranspose2d up(store, "up", int(w.shape()[0]), int(w.shape()[1]));
  store.allocate(d.device(), DType::f32, 0);
  store.load_named_tensors({{"up.weight", w}, {"up.bias", d.host("bias")}}, d.path());
  d.compare("y", up.forward(d.get("x")));
  d.compare("dx", up.backward(d.get("dy")));
  d.compare("dweight", store.grad(store.id("up.weight")));
  d.compare("dbias", store.grad(store.id("up.bias")));
}

void run_maxpool2d(Dump& d) {
  expect_meta(d, "kernel", 2);
  expect_meta(d, "stride", 2);
  MaxPool2d pool;
  d.compare("y", pool.forward(d.get("x")));
  d.compare("dx", pool.backward(d.get("dy")));
}

// Batch-norm runs the kernels directly so that the dump's own eps and momentum are used.
void run_batchnorm2d(Dump& d) {
  const double eps = d.meta_number("eps", 1e-5), momentum = d.meta_number("momentum", 0.1);
  Tensor x = d.get("x"), gamma = d.get("weight"), beta = d.get("bias");
  Tensor rm = d.get("running_mean"), rv = d.get("running_var");
  const int64_t C = x.shape().c();
  Tensor y = Tensor::empty(x.shape(), d.device());
  ops::batchnorm_forward_eval(y, x, gamma, beta, rm, rv, eps);
  d.compare("y_eval", y);
  Tensor mean = Tensor::empty({C}, d.device()), rstd = Tensor::empty({C}, d.device());
  ops::batchnorm_forward_train(y, mean, rstd, rm, rv, x, gamma, beta, eps, momentum);
  d.compare("y", y);
  d.compare("running_mean_out", rm);
  d.compare("running_var_out", rv);
  Tensor dx = Tensor::empty(x.shape(), d.device());
  Tensor dgamma = Tensor::zeros({C}, d.device()), dbeta = Tensor::zeros({C}, d.device());
  ops::batchnorm_backward(dx, dgamma, dbeta, d.get("dy"), x, gamma, mean, rstd);
  d.compare("dx", dx);
  d.compare("dweight", dgamma);
  d.compare("dbias", dbeta);
}

void run_bce(Dump& d) {
  if (d.meta("reduction", "mean") != "mean")
    throw std::runtime_error(d.path() + ": only the mean reduction is implemented, dump has " + d.meta("reduction", ""));
  Tensor x = d.get("x");
  Tensor loss = Tensor::zeros({1}, d.device()), dx = Tensor::empty(x.shape(), d.device());
  ops::bce_with_logits(loss, dx, x, d.get("target"));
  d.compare("loss", loss);
  d.compare("dx", dx);
}

void run_relu(Dump& d) {
  ReLU relu;
  Tensor x = d.get("x");  // a fresh device copy: ReLU works in place
  relu.forward(x);
  d.compare("y", x);
  Tensor dy = d.get("dy");
  relu.backward(dy);
  d.compare("dx", dy);
}

void run_sigmoid(Dump& d) {
  Sigmoid sigmoid;
  d.compare("y", sigmoid.forward(d.get("x")));
  d.compare("dx", sigmoid.backward(d.get("dy")));
}

cpu::AdamSettings adam_settings(const Dump& d, const nlohmann::json& j) {
  cpu::AdamSettings s;
  auto num = [&](const char* key, double fallback) {
    if (j.is_object() && j.contains(key)) return j[key].get<double>();
    return d.meta_number(key, fallback);
  };
  s.lr = num("lr", s.lr);
  s.beta1 = num("beta1", s.beta1);
  s.beta2 = num("beta2", s.beta2);
  s.eps = num("eps", s.eps);
  return s;
}

void run_adam(Dump& d) {
  const cpu::AdamSettings s = adam_settings(d, nlohmann::json());
  const Tensor& grads = d.host("grads");
  Tensor p = d.get("param");
  const int64_t n = p.numel();
  if (grads.shape().rank() != 2 || grads.shape()[1] != n)
    throw std::runtime_error(d.path() + ": 'grads' must be (steps, " + std::to_string(n) + "), got " +
                             grads.shape().str());
  Tensor m = Tensor::zeros(p.shape(), d.device()), v = Tensor::zeros(p.shape(), d.device());
  for (int64_t step = 0; step < grads.shape()[0]; ++step) {
    Tensor g = grads.slice0(step, 1).reshaped(p.shape()).to(d.device());
    ops::adam_update(p, m, v, g, s, step + 1);
  }
  d.compare("param_out", p);
}

// ---- The whole model ----------------------------------------------------------------------------

nlohmann::json parse_meta_json(const Dump& d, const std::string& key) {
  nlohmann::json j = nlohmann::json::parse(d.meta(key, "{}"), nullptr, false);
  if (j.is_discarded()) throw std::runtime_error(d.path() + ": metadata '" + key + "' is not valid JSON");
  return j;
}

void run_seqnet(Dump& d, DType dtype, std::vector<VerifyRow>& out, std::vector<VerifyRow>& details) {
  const ModelConfig cfg = ModelConfig::from_json(d.meta("config", "{}"));
  const nlohmann::json tol = parse_meta_json(d, "tolerance");
  auto bound = [&](const std::string& group) {
    static const std::map<std::string, double> floors{{"eval", 1e-4}, {"train", 1e-4}, {"loss", 1e-4},
                                                      {"grad", 1e-3}, {"after", 1e-3}};
    return tol.contains(group) ? tol[group].get<double>() : floors.at(group);
  };
  const int steps = int(d.meta_number("steps", 1));
  const cpu::AdamSettings adam = adam_settings(d, parse_meta_json(d, "optimizer"));

  SeqNet model(cfg, d.device(), dtype);
  std::map<std::string, Tensor> params;
  for (const auto& [name, t] : d.tensors())
    if (name.rfind("param.", 0) == 0) params[name.substr(6)] = t;
  model.params().load_named_tensors(params, d.path());

  GroupRows groups;
  auto input = [&](const std::string& name) { return d.host(name).to(dtype).to(d.device()); };
  const Tensor x = input("input");
  SeqNetTargets targets{input("target.vessel"), input("target.artery"), input("target.vein")};
  auto compare_outputs = [&](const std::string& group, const SeqNetOutputs& out_logits) {
    for (const auto& [branch, logits] : {std::pair{"seg", &out_logits.seg}, std::pair{"cls", &out_logits.cls}}) {
      for (size_t k = 0; k < logits->size(); ++k) {
        const std::string name = group + "." + branch + "." + std::to_string(k);
        if (!d.has(name)) throw std::runtime_error(d.path() + ": dump has no '" + name + "' for this configuration");
        Tensor prob = Tensor::empty((*logits)[k].shape(), d.device(), dtype);
        ops::sigmoid_forward(prob, (*logits)[k]);
        groups.add(group, name, relative_error(prob, d.host(name)), bound(group));
      }
    }
  };

  compare_outputs("eval", model.forward(x, Mode{false, 0}));

  AdamOptimizer optimizer(model.params(), adam);
  SeqNetLoss loss;
  std::vector<float> losses;
  const ParameterStore& store = model.params();
  for (int step = 0; step < steps; ++step) {
    model.params().zero_grads();
    const SeqNetOutputs& out = model.forward(x, Mode{true, uint64_t(step)});
    loss.forward_backward(out, targets);
    model.backward(loss.gradients());
    losses.push_back(float(loss.value()));
    if (step == 0) {
      compare_outputs("train", out);
      for (size_t i = 0; i < store.entries().size(); ++i) {
        const auto& e = store.entries()[i];
        if (e.trainable) groups.add("grad", "grad." + e.name, relative_error(store.grad(int(i)), d.host("grad." + e.name)), bound("grad"));
        else groups.add("train", "running." + e.name, relative_error(store.value(int(i)), d.host("running." + e.name)), bound("train"));
      }
    }
    optimizer.step();
  }
  groups.add("loss", "train.loss", relative_error(Tensor::from_vector({int64_t(losses.size())}, losses), d.host("train.loss")),
             bound("loss"));
  for (size_t i = 0; i < store.entries().size(); ++i) {
    const auto& e = store.entries()[i];
    groups.add("after", "after." + e.name, relative_error(store.value(int(i)), d.host("after." + e.name)), bound("after"));
  }
  for (const std::string& g : groups.order) out.push_back(groups.rows[g]);
  details = groups.details;
}

}  // namespace

VerifyResult verify_dump(const std::string& path, Device device, DType dtype) {
  Dump d(path, device);
  VerifyResult result{path, d.op(), {}, {}};
  try {
    const std::string& op = d.op();
    if (op == "conv2d") run_conv2d(d);
    else if (op == "conv_transpose2d") run_conv_transpose2d(d);
    else if (op == "maxpool2d") run_maxpool2d(d);
    else if (op == "batchnorm2d") run_batchnorm2d(d);
    else if (op == "bce_with_logits") run_bce(d);
    else if (op == "relu") run_relu(d);
    else if (op == "sigmoid") run_sigmoid(d);
    else if (op == "adam") run_adam(d);
    else if (op == "seqnet") run_seqnet(d, dtype, d.rows, result.details);
    else if (op.empty()) throw std::runtime_error("no 'op' in the metadata: not a reference dump");
    else throw std::runtime_error("unknown op '" + op + "' in the metadata");
  } catch (const SafetensorsError&) {
    throw;
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    throw std::runtime_error(msg.rfind(path, 0) == 0 ? msg : path + ": " + msg);
  }
  result.rows = d.rows;
  return result;
}

}  // namespace seqnet
