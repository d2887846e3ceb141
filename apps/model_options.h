// model_options.h: the model settings as options, the same wherever a model is built
// (train, summary, bench): --width --depth --refine-depth --seg-iterations --cls-iterations
// --norm --dropout, with spec/ARCHITECTURE.md's defaults.
#pragma once

#include "apps/args.h"
#include "model/config.h"

namespace seqnet::cli {

void add_model_options(Args& args);
ModelConfig model_config_from(const Args& args);  // UsageError naming a bad value

}  // namespace seqnet::cli
