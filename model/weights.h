// weights.h: SeqNet weights as safetensors files, named exactly as PyTorch's state_dict() names
// the same model built as a PyTorch module tree (docs/ARCHITECTURE.md, "Parameter names"), with
// the configuration in the metadata ("config", the JSON of ModelConfig::to_json). A file written
// by PyTorch loads here and one written here loads in PyTorch (load_state_dict, strict=False for
// num_batches_tracked).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "model/seqnet.h"

namespace seqnet {

// Tensors whose names start with this are a training checkpoint's optimizer state, stored in the
// same file as the weights (one atomic write); loading weights skips them.
inline constexpr const char* kOptimizerPrefix = "optimizer.";
// A checkpoint of a run with a weight average (`seqnet train --ema`) also holds the average of the
// flat parameter buffer and of the running statistics (train/weight_average.h).
inline constexpr const char* kAverageWeightsTensor = "optimizer.ema_weights";
inline constexpr const char* kAverageStatisticsTensor = "optimizer.ema_statistics";

// Writes every parameter and running statistic of `model` (plus `extra_metadata`) atomically.
void save_weights(const std::string& path, const SeqNet& model,
                  const std::map<std::string, std::string>& extra_metadata = {});

// The configuration stored in a weights file; when the file has none, `fallback`.
ModelConfig weights_config(const std::string& path, const ModelConfig& fallback);
// Whether the file stores its configuration (a PyTorch state_dict saved as safetensors does not).
bool weights_carry_config(const std::string& path);

// Builds the model the file describes on `device` and loads it. Errors name the file and say
// what is wrong: not a SeqNet file (no tensor is a SeqNet parameter), a tensor with NaN or
// infinite values (named), or tensors missing, unexpected or mis-shaped for the configuration.
// A truncated or malformed file is refused by read_safetensors.
// `undescribed` is the model built when the file stores no configuration.
std::unique_ptr<SeqNet> load_model(const std::string& path, Device device, const ModelConfig& undescribed = ModelConfig{});

// Loads a file's tensors into an existing model (same errors).
void load_weights_into(SeqNet& model, const std::string& path);

}  // namespace seqnet
