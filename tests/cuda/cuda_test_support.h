// cuda_test_support.h: what the CUDA test files share.
#pragma once

#include <string>

#include "kernels/cuda/runtime.h"

// Skips the test, saying why, where no GPU (or emulation of one) can run the kernels.
// scripts/skipped-tests.sh knows this skip by its words "no usable GPU": keep them.
#define SEQNET_REQUIRE_GPU()                                                       \
  std::string why;                                                                \
  if (!seqnet::cuda::available(&why)) GTEST_SKIP() << "no usable GPU: " << why;
