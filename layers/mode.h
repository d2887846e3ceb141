// mode.h: what a forward pass needs to know besides its input.
#pragma once

#include <cstdint>

namespace seqnet {

struct BatchNormSync;

struct Mode {
  bool training = false;   // batch statistics and dropout on; evaluation otherwise
  uint64_t step_seed = 0;  // dropout masks are drawn from (step_seed, layer); a new seed each step
  // Training over several ranks with --sync-batchnorm: batch statistics over every rank's batch
  // (kernels/batchnorm_sync.h); null: this batch's own.
  const BatchNormSync* batchnorm_sync = nullptr;
};

}  // namespace seqnet
