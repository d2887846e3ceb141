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
// Sets the convolutions' precision by its --conv-precision name (fp32, tf32, bf16); a name it does
// not know, or bf16 on a CPU without AVX-512 BF16, is a UsageError saying so. chosen_device calls
// it with the option's value; `train --resume` with the run's stored one.
void use_conv_precision(const std::string& name);

}  // namespace seqnet::cli
