// weights.cpp: SeqNet weights files (weights.h).
#include "model/weights.h"

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
}  // namespace

ModelConfig weights_config(const std::string& path, const ModelConfig& fallback) {
  return config_of(read_safetensors(path), path, fallback);
}

std::unique_ptr<SeqNet> load_model(const std::string& path, Device device) {
  TensorFile file = read_safetensors(path);
  ModelConfig cfg = config_of(file, path, ModelConfig{});
  auto model = std::make_unique<SeqNet>(cfg, device);
  model->params().load_named_tensors(without_counters(file.tensors), path);
  return model;
}

void load_weights_into(SeqNet& model, const std::string& path) {
  model.params().load_named_tensors(without_counters(read_safetensors(path).tensors), path);
}

}  // namespace seqnet
