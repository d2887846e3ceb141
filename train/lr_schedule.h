// lr_schedule.h: the learning rate of each training step.
//
//   constant: lr at every step (the original's: Adam with no schedule).
//   cosine:   lr * (f + (1 - f) * (1 + cos(pi * step / total)) / 2), f = kCosineFloor: from lr at
//             step 0 down to f * lr at the last step, slowly at both ends. Late steps then refine
//             instead of jumping around the minimum, which is where a constant rate leaves the
//             validation scores swinging from one epoch to the next.
#pragma once

#include <cstdint>
#include <string>

namespace seqnet {

enum class LrSchedule { constant, cosine };

inline constexpr double kCosineFloor = 0.01;

std::string to_string(LrSchedule schedule);              // "constant" or "cosine"
LrSchedule lr_schedule_from(const std::string& name);    // throws std::invalid_argument

// The rate of step `step` (0-based) of `total` steps.
double learning_rate_at(LrSchedule schedule, double lr, int64_t step, int64_t total);

}  // namespace seqnet
