// mode.h: what a forward pass needs to know besides its input.
#pragma once

#include <cstdint>

namespace seqnet {

struct Mode {
  bool training = false;   // batch statistics and dropout on; evaluation otherwise
  uint64_t step_seed = 0;  // dropout masks are drawn from (step_seed, layer); a new seed each step
};

}  // namespace seqnet
