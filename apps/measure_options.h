// measure_options.h: the options that set the measures' scale, shared by `seqnet measure` and
// `seqnet predict --measures`.
#pragma once

#include "apps/args.h"
#include "measure/photo_measures.h"

namespace seqnet::cli {

// Adds --pixel-size UM and --fov-degrees D.
void add_scale_options(Args& args);
// UsageError when both are given or either is not a positive number.
measure::ScaleOption scale_option(const Args& args);

}  // namespace seqnet::cli
