// test_bench_command.cpp: `seqnet bench` end to end on a tiny model: its JSON (the fields issue #8
// names, the per-layer profile) and the OpenMP wait policy the program picks for itself.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace seqnet {
namespace {

const char* const kTinyBench =
    " bench --width 2 --depth 2 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --batch 1 --crop 8"
    " --infer 16 --steps 1 --device cpu --json --profile";

// Runs `ENV seqnet bench ...` and returns its JSON.
nlohmann::json run_bench(const std::string& env, const test::TempDir& dir) {
  const std::string out = dir.str("out.json"), err = dir.str("err.txt");
  const std::string command = "env " + env + " " + SEQNET_PROGRAM + kTinyBench + " >" + out + " 2>" + err;
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command << "\n" << test::read_text(err);
  return nlohmann::json::parse(test::read_text(out));
}

TEST(BenchCommand, JsonHasTimesMemoryAndThePerLayerProfile) {
  test::TempDir dir;
  const nlohmann::json j = run_bench("OMP_NUM_THREADS=1", dir);
  EXPECT_GT(j.at("train_step_s").get<double>(), 0.0);
  EXPECT_GT(j.at("infer_s").get<double>(), 0.0);
  EXPECT_GT(j.at("peak_rss_mb").get<double>(), 0.0);
  EXPECT_EQ(j.at("device").get<std::string>(), "cpu");
  // Every convolution of a training step, by op and shape: forward, both gradients at least.
  const nlohmann::json& shapes = j.at("profile").at("train_step_by_shape");
  ASSERT_TRUE(shapes.is_array());
  bool forward = false, input_grad = false, weight_grad = false;
  for (const nlohmann::json& row : shapes) {
    EXPECT_FALSE(row.at("shape").get<std::string>().empty());
    EXPECT_GE(row.at("calls").get<int64_t>(), 1);
    const std::string op = row.at("op").get<std::string>();
    forward |= op == "conv2d_forward";
    input_grad |= op == "conv2d_backward_input";
    weight_grad |= op == "conv2d_backward_weight";
  }
  EXPECT_TRUE(forward && input_grad && weight_grad) << shapes.dump();
  EXPECT_TRUE(j.at("profile").at("infer_by_shape").is_array());
}

// apps/main.cpp: threads sleep between parallel regions unless the user chose a policy, and a
// policy the user chose is kept. The bench reports the policy it ran with.
TEST(BenchCommand, SleepsItsThreadsUnlessTheUserChoseAPolicy) {
  test::TempDir dir;
  const std::string chosen_by_program = run_bench("-u OMP_WAIT_POLICY OMP_NUM_THREADS=2", dir).at("cpu");
  EXPECT_NE(chosen_by_program.find("OMP_WAIT_POLICY passive"), std::string::npos) << chosen_by_program;
  const std::string chosen_by_user = run_bench("OMP_WAIT_POLICY=active OMP_NUM_THREADS=2", dir).at("cpu");
  EXPECT_NE(chosen_by_user.find("OMP_WAIT_POLICY active"), std::string::npos) << chosen_by_user;
}

}  // namespace
}  // namespace seqnet
