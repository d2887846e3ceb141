// default_model.h: the trained model that ships with seqnet (models/ in the source tree,
// share/seqnet/models/ once installed), used by `predict` when no --weights is given.
#pragma once

#include <string>

namespace seqnet::cli {

// The file name of the shipped model, the same in the source tree and the install tree.
inline constexpr const char* kShippedModelName = "seqnet-av-drive-les.safetensors";

// Where the shipped model is: $SEQNET_MODEL when set (must exist); else the first of
// <program dir>/../share/seqnet/models, <program dir>/../models (a build folder in the source
// tree), and the source tree's models/ as compiled in. Throws UsageError naming every place looked.
std::string shipped_model_path();

}  // namespace seqnet::cli
