// conv3x3_choices_json.h: the 3x3 convolution algorithm choices of this process
// (kernels/cpu/conv3x3_algorithm.h) as JSON, for `seqnet bench --json` and for training
// checkpoints, and back.
//
//   {"machine": "<conv3x3_timing_machine()>",
//    "choices": [{"pass": "forward", "N": 8, "C": 16, "K": 16, "H": 128, "W": 128,
//                 "chosen": "winograd", "seconds": {"gemm": 0.0021, ...}}, ...]}
//
// A checkpoint stores them so that `train --resume` computes with the algorithms the interrupted
// run measured (each rounds differently), and so continues exactly as it would have.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace seqnet {

// The choices made so far in this process, with the machine they were measured on.
nlohmann::json conv3x3_choices_to_json();

// Presets the choices of `j` (as conv3x3_choices_to_json writes) when they were measured on this
// machine (the same conv3x3_timing_machine() line); returns a sentence for the user saying what was
// done. Throws std::runtime_error naming `source` for JSON of the wrong shape.
std::string preset_conv3x3_choices_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace seqnet
