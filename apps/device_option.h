// device_option.h: the --device option every command shares.
//
// "auto" (the default) picks cuda when this build has CUDA and a usable GPU answers, else cpu,
// and says which and why on stderr. Asking for cuda without a usable GPU is an error that says
// what is missing; there is no silent fallback.
#pragma once

#include <string>

#include "apps/args.h"
#include "kernels/tensor.h"

namespace seqnet::cli {

void add_device_option(Args& args);
Device chosen_device(const Args& args);  // reads --device; may throw UsageError / runtime_error

}  // namespace seqnet::cli
