// test_gpu_check_script.cpp: what scripts/gpu-check.sh (the first run on a lent GPU) must not do,
// checked without a GPU.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "test_support.h"

namespace seqnet {
namespace {

// NVIDIA_TF32_OVERRIDE=0 turns TF32 off inside cuDNN and cuBLAS as well, so the script's cuDNN TF32
// column would run float32 and its custom/cuDNN TF32 ratio would compare TF32 against float32.
TEST(GpuCheckScript, DoesNotTurnTf32OffInTheLibraries) {
  const std::string script = test::read_text(std::string(SEQNET_SOURCE_DIR) + "/scripts/gpu-check.sh");
  ASSERT_FALSE(script.empty()) << "scripts/gpu-check.sh not found";
  std::istringstream lines(script);
  const std::regex sets_override(R"(^[^#]*NVIDIA_TF32_OVERRIDE=)");
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    EXPECT_FALSE(std::regex_search(line, sets_override)) << "scripts/gpu-check.sh:" << number << " sets it: " << line;
  }
}

}  // namespace
}  // namespace seqnet
