// test_lr_schedule.cpp: the learning-rate schedules of train/lr_schedule.h.
#include <gtest/gtest.h>

#include "train/lr_schedule.h"

namespace seqnet {
namespace {

TEST(LrSchedule, ConstantIsTheRateAtEveryStep) {
  for (int64_t step : {0, 7, 99}) EXPECT_EQ(learning_rate_at(LrSchedule::constant, 2e-3, step, 100), 2e-3);
}

TEST(LrSchedule, CosineFallsFromTheRateToTheFloorWithoutRising) {
  const double lr = 2e-3;
  const int64_t total = 1001;  // step 500 is exactly half way
  EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::cosine, lr, 0, total), lr);
  EXPECT_NEAR(learning_rate_at(LrSchedule::cosine, lr, total - 1, total), kCosineFloor * lr, 1e-15);
  EXPECT_NEAR(learning_rate_at(LrSchedule::cosine, lr, 500, total), lr * (1 + kCosineFloor) / 2, 1e-6 * lr);
  double previous = lr;
  for (int64_t step = 1; step < total; ++step) {
    const double now = learning_rate_at(LrSchedule::cosine, lr, step, total);
    ASSERT_LE(now, previous) << step;
    previous = now;
  }
  EXPECT_EQ(learning_rate_at(LrSchedule::cosine, lr, total + 5, total), kCosineFloor * lr);  // past the end: the floor
}

TEST(LrSchedule, NamesRoundTripAndBadNamesAreRefused) {
  EXPECT_EQ(lr_schedule_from(to_string(LrSchedule::cosine)), LrSchedule::cosine);
  EXPECT_EQ(lr_schedule_from("constant"), LrSchedule::constant);
  EXPECT_THROW(lr_schedule_from("linear"), std::invalid_argument);
}

}  // namespace
}  // namespace seqnet
