// model_options.h: the model settings as options, the same wherever a model is built
// (train, summary, bench): --width --depth --refine-depth --seg-iterations --cls-iterations
// --norm --dropout, with docs/ARCHITECTURE.md's defaults (or a command's own, as trace has).
#pragma once

#include <cstdio>
#include <string>

#include "apps/args.h"
#include "model/config.h"

namespace seqnet::cli {

// The defaults are `defaults` (the spec model unless a command, like trace, starts smaller).
void add_model_options(Args& args, const ModelConfig& defaults = ModelConfig{});
ModelConfig model_config_from(const Args& args);  // UsageError naming a bad value

// The model to build for the weights file `weights`: the configuration it stores (a model option
// given with another value is a UsageError), or, for a file that stores none (a PyTorch
// state_dict), the model options; which one is said on `log`.
ModelConfig model_config_for_weights(const Args& args, const std::string& weights, std::FILE* log);

}  // namespace seqnet::cli
