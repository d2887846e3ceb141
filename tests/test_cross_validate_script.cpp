// test_cross_validate_script.cpp: scripts/cross-validate.sh, the tool behind every cross-validated
// figure of docs/MODEL.md, run end to end on two tiny synthetic datasets: two folds trained for a
// few steps, scored the default way, then prediction variants (flips; an ensemble) scored beside it
// without touching the default scores, and the variants it must refuse.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace seqnet {
namespace {

namespace fs = std::filesystem;

// Runs `bash scripts/cross-validate.sh ARGS` with ENV (VAR=value words) and SEQNET set to a
// wrapper of the built program (a cross build's program is an emulator's command line);
// returns the exit status, the output in `output`.
int run_script(const test::TempDir& dir, const std::string& env, const std::string& args, std::string& output) {
  const std::string wrapper = dir.str("seqnet.sh");
  if (!fs::exists(wrapper)) {
    std::ofstream(wrapper) << "#!/bin/sh\nexec " << SEQNET_PROGRAM << " \"$@\"\n";
    fs::permissions(wrapper, fs::perms::owner_all);
  }
  const std::string log = dir.str("script.log");
  const std::string command = "cd " + dir.str("") + " && env SEQNET=" + wrapper + " " + env + " bash " +
                              SEQNET_SOURCE_DIR + "/scripts/cross-validate.sh " + args + " >" + log + " 2>&1";
  const int status = std::system(command.c_str());
  output = test::read_text(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A synthetic dataset in DIR whose file names start with `prefix` (two datasets' photographs must
// not share a name: predict writes one folder of maps).
void synthetic_dataset(const test::TempDir& dir, const std::string& name, int seed, const std::string& prefix) {
  const std::string out = dir.str(name + ".log");
  ASSERT_EQ(test::run_seqnet("synth -o " + dir.str(name) + " -n 4 --size 64x64 --seed " + std::to_string(seed), out, out), 0)
      << test::read_text(out);
  for (const char* sub : {"images", "av", "mask"})
    for (const auto& entry : fs::directory_iterator(dir.str(name + "/" + sub)))
      fs::rename(entry.path(), entry.path().parent_path() / (prefix + entry.path().filename().string()));
}

TEST(CrossValidateScript, ScoresFoldsAndKeepsAVariantApartFromTheDefaultScores) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0)
    GTEST_FAIL() << "scripts/cross-validate.sh needs python3 (scripts/install-deps.sh installs it)";
  test::TempDir dir;
  synthetic_dataset(dir, "a", 1, "a_");
  synthetic_dataset(dir, "b", 2, "b_");
  for (int fold = 1; fold <= 2; ++fold) {
    const std::string out = dir.str("train.log");
    ASSERT_EQ(test::run_seqnet("train --folds 2 --fold " + std::to_string(fold) + " -o " + dir.str("cv/fold-" + std::to_string(fold)) +
                                   " --data " + dir.str("a") + " --data " + dir.str("b") +
                                   " --width 4 --depth 2 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 64"
                                   " --crop 32 --batch 2 --crops-per-image 1 --epochs 1 --steps-per-epoch 2 --ema 0.5"
                                   " --device cpu --workers 1",
                               out, out),
              0)
        << test::read_text(out);
  }
  std::string output;
  ASSERT_EQ(run_script(dir, "SCORE_ONLY=1", "cv 2", output), 0) << output;
  const nlohmann::json summary = nlohmann::json::parse(test::read_text(dir.str("cv/summary.json")));
  ASSERT_EQ(summary["folds"].size(), 2u);
  EXPECT_EQ(summary["weights"], "average");
  EXPECT_EQ(summary["predict_options"], "");
  for (const auto& fold : summary["folds"]) {
    EXPECT_EQ(fold["steps"], 2);
    EXPECT_GE(fold["av_all"].get<double>(), 0.0);
    EXPECT_FALSE(fold["train_av_all"].is_null());  // both parts scored
  }
  EXPECT_TRUE(fs::exists(dir.str("cv/fold-1/score/validation-maps/out_final")));

  // A variant: the last step's weights, predicted with flips, validation photographs only.
  ASSERT_EQ(run_script(dir, "SCORE_ONLY=1 SCORE_NAME=flips PREDICT_OPTIONS=--flips PARTS=validation WEIGHTS=trained",
                       "cv 2", output),
            0)
      << output;
  const nlohmann::json variant = nlohmann::json::parse(test::read_text(dir.str("cv/summary-flips.json")));
  EXPECT_EQ(variant["predict_options"], "--flips");
  EXPECT_EQ(variant["weights"], "trained");
  ASSERT_EQ(variant["folds"].size(), 2u);
  EXPECT_TRUE(variant["folds"][0]["train_av_all"].is_null());  // PARTS=validation
  EXPECT_FALSE(variant["mean"].contains("train_av_all"));
  EXPECT_TRUE(fs::exists(dir.str("cv/fold-1/model-trained.safetensors")));
  EXPECT_TRUE(fs::exists(dir.str("cv/fold-2/flips/validation.json")));
  EXPECT_FALSE(fs::exists(dir.str("cv/fold-2/flips/training.json")));
  // The default scores are those of before.
  EXPECT_EQ(nlohmann::json::parse(test::read_text(dir.str("cv/summary.json"))), summary);

  // An ensemble variant: {fold} in PREDICT_OPTIONS is the fold's number. The fold's own model
  // given again scores as the model alone (an ensemble of one model twice is that model's maps).
  ASSERT_EQ(run_script(dir,
                       "SCORE_ONLY=1 SCORE_NAME=self PARTS=validation "
                       "PREDICT_OPTIONS='--weights cv/fold-{fold}/model.safetensors'",
                       "cv 2", output),
            0)
      << output;
  const nlohmann::json self = nlohmann::json::parse(test::read_text(dir.str("cv/summary-self.json")));
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(self["folds"][k]["av_all"], summary["folds"][k]["av_all"]) << "fold " << k + 1;
    EXPECT_EQ(self["folds"][k]["vessel_auc"], summary["folds"][k]["vessel_auc"]) << "fold " << k + 1;
    const std::string fold = "fold-" + std::to_string(k + 1);
    const std::string maps = dir.str("cv/" + fold + "/self/validation-maps");
    const auto record = nlohmann::json::parse(test::read_text(maps + "/predict.json"));
    EXPECT_EQ(record["weights"], "cv/" + fold + "/model.safetensors + cv/" + fold + "/model.safetensors");
  }

  // Variants that would write over the default scores, and settings it does not know.
  for (const std::string env : {"SCORE_ONLY=1 PREDICT_OPTIONS=--flips", "SCORE_ONLY=1 WEIGHTS=trained",
                                "SCORE_ONLY=1 SCORE_NAME=../x PREDICT_OPTIONS=--flips", "SCORE_ONLY=1 PARTS=training",
                                "SCORE_ONLY=1 WEIGHTS=best SCORE_NAME=x", "SCORE_ONLY=1 JOBS=0",
                                "SCORE_ONLY=1 JOBS=two"}) {
    EXPECT_NE(run_script(dir, env, "cv 2", output), 0) << env;
    EXPECT_NE(output.find("cross-validate.sh: "), std::string::npos) << env << ": " << output;
  }
  EXPECT_EQ(nlohmann::json::parse(test::read_text(dir.str("cv/summary.json"))), summary);
}

// JOBS=2 trains the folds side by side, each with its log and exit status, and a fold that fails
// is named (with the end of its log) while the other still finishes.
TEST(CrossValidateScript, TrainsFoldsSideBySideAndNamesTheOneThatFailed) {
  test::TempDir dir;
  synthetic_dataset(dir, "a", 1, "a_");
  synthetic_dataset(dir, "b", 2, "b_");
  const std::string train_options = " --data " + dir.str("a") + " --data " + dir.str("b") +
                                    " --width 4 --depth 2 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 64"
                                    " --crop 32 --batch 2 --crops-per-image 1 --epochs 1 --steps-per-epoch 2"
                                    " --device cpu --workers 1";
  std::string output;
  ASSERT_EQ(run_script(dir, "TRAIN_ONLY=1 JOBS=2", "cv 2" + train_options, output), 0) << output;
  for (int fold = 1; fold <= 2; ++fold) {
    const std::string run = dir.str("cv/fold-" + std::to_string(fold));
    EXPECT_TRUE(fs::exists(run + "/last.safetensors")) << output;
    EXPECT_EQ(test::read_text(dir.str("cv/fold-" + std::to_string(fold) + ".status")), "0\n");
    EXPECT_NE(test::read_text(dir.str("cv/fold-" + std::to_string(fold) + ".log")).find("train"), std::string::npos);
    const auto settings = nlohmann::json::parse(test::read_text(run + "/settings.json"));
    EXPECT_EQ(settings["fold"], fold);
  }
  EXPECT_NE(output.find("fold 2 of 2: started beside the others"), std::string::npos) << output;

  // A second recipe whose fold 2 cannot resume (its checkpoint is not a safetensors file).
  fs::create_directories(dir.str("broken/fold-2"));
  std::ofstream(dir.str("broken/fold-2/last.safetensors")) << "not a checkpoint";
  EXPECT_NE(run_script(dir, "TRAIN_ONLY=1 JOBS=2", "broken 2" + train_options, output), 0);
  EXPECT_NE(output.find("cross-validate.sh: fold 2 failed"), std::string::npos) << output;
  EXPECT_EQ(output.find("cross-validate.sh: fold 1 failed"), std::string::npos) << output;
  EXPECT_NE(output.find("last.safetensors"), std::string::npos) << "the end of fold 2's log: " << output;
  EXPECT_TRUE(fs::exists(dir.str("broken/fold-1/last.safetensors"))) << "fold 1 finished beside the failure";
}

}  // namespace
}  // namespace seqnet
