// weights.cpp: SeqNet weights files (weights.h).
#include "model/weights.h"

#include <cmath>
#include <iterator>
#include <stdexcept>

#include "io/safetensors.h"

namespace seqnet {

void save_weights(const std::string& path, const SeqNet& model, const std::map<std::string, std::string>& extra) {
  TensorFile file;
  file.tensors = model.params().to_named_tensors();
  file.metadata = extra;
  file.metadata["config"] = model.config().to_json();
  file.metadata["format"] = "seqnet-weights";
  write_safetensors(path, file);
}

namespace {
ModelConfig config_of(const TensorFile& file, const std::string& path, const ModelConfig& fallback) {
  auto it = file.metadata.find("config");
  if (it == file.metadata.end()) return fallback;
  try {
    return ModelConfig::from_json(it->second);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": metadata 'config' is not a SeqNet configuration: " + e.what());
  }
}

// The model's own tensors: PyTorch's num_batches_tracked counters (unused here) and a training
// checkpoint's "optimizer." tensors are left out.
std::map<std::string, Tensor> without_counters(const std::map<std::string, Tensor>& tensors) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : tensors) {
    const bool counter = name.size() >= 20 && name.compare(name.size() - 20, 20, ".num_batches_tracked") == 0;
    if (!counter && name.rfind(kOptimizerPrefix, 0) != 0) out[name] = t;
  }
  return out;
}
// Refuses what no SeqNet can use, before anything is loaded: a file none of whose tensors is one
// of the model's (the weights of another network), and values that are not finite (a diverged
// training run), naming the tensor.
void check_usable(const std::map<std::string, Tensor>& tensors, const SeqNet& model, const std::string& path) {
  const std::map<std::string, Tensor> expected = model.params().to_named_tensors();
  size_t known = 0;
  for (const auto& entry : tensors) known += expected.count(entry.first);
  if (known == 0) {
    std::string names;
    for (auto it = tensors.begin(); it != tensors.end() && std::distance(tensors.begin(), it) < 3; ++it)
      names += (names.empty() ? "'" : ", '") + it->first + "'";
    throw std::runtime_error(path + " is not a SeqNet weights file: none of its " + std::to_string(tensors.size()) +
                             " tensors (" + (names.empty() ? "none" : names + (tensors.size() > 3 ? ", ..." : "")) +
                             ") is a SeqNet parameter; give the .safetensors file seqnet train wrote");
  }
  for (const auto& [name, t] : tensors) {
    int64_t nan = 0, inf = 0;
    const float* v = t.f32();
    for (int64_t i = 0; i < t.numel(); ++i) {
      nan += std::isnan(v[i]);
      inf += std::isinf(v[i]);
    }
    if (nan + inf > 0)
      throw std::runtime_error(path + ": tensor '" + name + "' holds " + std::to_string(nan) + " NaN and " +
                               std::to_string(inf) + " infinite value(s) of " + std::to_string(t.numel()) +
                               "; these weights are unusable (did the training that wrote them diverge?)");
  }
}

// Loads the model's tensors of `file`, with what its metadata claims in the error when they do not fit.
void load_checked(SeqNet& model, const TensorFile& file, const std::string& path) {
  const std::map<std::string, Tensor> tensors = without_counters(file.tensors);
  check_usable(tensors, model, path);
  try {
    model.params().load_named_tensors(tensors, path);
  } catch (const std::runtime_error& e) {
    const bool described = file.metadata.count("config") > 0;
    throw std::runtime_error(std::string(e.what()) + "\n(the model: " + model.config().describe() +
                             (described ? ", as the file's metadata describes it" : ", from the model options: the file describes none") + ")");
  }
}

}  // namespace

ModelConfig weights_config(const std::string& path, const ModelConfig& fallback) {
  return config_of(read_safetensors(path), path, fallback);
}

bool weights_carry_config(const std::string& path) { return read_safetensors(path).metadata.count("config") > 0; }

std::unique_ptr<SeqNet> load_model(const std::string& path, Device device, const ModelConfig& undescribed) {
  TensorFile file = read_safetensors(path);
  ModelConfig cfg = config_of(file, path, undescribed);
  auto model = std::make_unique<SeqNet>(cfg, device);
  load_checked(*model, file, path);
  return model;
}

void load_weights_into(SeqNet& model, const std::string& path) { load_checked(model, read_safetensors(path), path); }

}  // namespace seqnet
