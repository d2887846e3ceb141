// lr_schedule.cpp: learning_rate_at and the schedule names (lr_schedule.h).
#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace seqnet {

std::string to_string(LrSchedule schedule) { return schedule == LrSchedule::constant ? "constant" : "cosine"; }

LrSchedule lr_schedule_from(const std::string& name) {
  if (name == "constant") return LrSchedule::constant;
  if (name == "cosine") return LrSchedule::cosine;
  throw std::invalid_argument("learning-rate schedule must be 'constant' or 'cosine', got '" + name + "'");
}

double learning_rate_at(LrSchedule schedule, double lr, int64_t step, int64_t total) {
  if (schedule == LrSchedule::constant || total <= 1) return lr;
  const double progress = std::clamp(double(step) / double(total - 1), 0.0, 1.0);
  return lr * (kCosineFloor + (1 - kCosineFloor) * 0.5 * (1 + std::cos(std::numbers::pi * progress)));
}

}  // namespace seqnet
