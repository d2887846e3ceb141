// test_scratch_buffer.cpp: the kernels' grow-only scratch (kernels/cpu/scratch_buffer.h).
#include <gtest/gtest.h>

#include <cstdint>

#include "kernels/cpu/scratch_buffer.h"

namespace seqnet::cpu {
namespace {

TEST(ScratchBuffer, GrowsOnlyWhenAskedForMoreAndAlignsLargeBuffersToHugePages) {
  ScratchBuffer buffer;
  float* small = buffer.ensure(1000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 64, 0u);
  EXPECT_GE(buffer.size(), 1000u);
  EXPECT_EQ(buffer.ensure(10), small) << "a smaller request reuses the memory";
  small[999] = 1.0f;  // the whole request is writable

  float* large = buffer.ensure(size_t(1) << 20);  // 4 MB
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % (size_t(2) << 20), 0u) << "1 MB and more start on a 2 MB boundary";
  EXPECT_EQ(buffer.size() % ((size_t(2) << 20) / sizeof(float)), 0u) << "and fill whole huge pages";
  large[(size_t(1) << 20) - 1] = 2.0f;
  EXPECT_EQ(buffer.ensure(1000), large);
}

}  // namespace
}  // namespace seqnet::cpu
