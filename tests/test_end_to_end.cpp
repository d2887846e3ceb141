// test_end_to_end.cpp: the whole job on synthetic images, as the built program (SEQNET_PROGRAM) in
// a temporary folder: synth draws a few tiny photographs, train fits a tiny model for a few steps,
// predict maps the held-out ones (post-processing on), evaluate scores them. No outside data.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/image.h"
#include "test_support.h"

namespace seqnet {
namespace {
namespace fs = std::filesystem;

using test::read_text;

// Runs `seqnet ARGS` with stdout and stderr into `dir`/LOG.txt; returns the exit status. One thread:
// these tensors are tiny, and on a machine whose cores are busy, threads waiting for each other
// made 10 training steps take 8 s instead of 0.7 s.
int run_program(const std::string& args, const test::TempDir& dir, const std::string& log) {
  setenv("OMP_NUM_THREADS", "1", 1);  // inherited by the program
  return test::run_seqnet(args, dir.str(log + ".txt"), dir.str(log + ".txt"));
}

// The training losses of RUNDIR/log.jsonl, in step order (validation lines carry no loss).
std::vector<double> logged_losses(const std::string& log_path) {
  std::ifstream in(log_path);
  std::vector<double> losses;
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record.value("event", "") == "step") losses.push_back(record["loss"].get<double>());
  }
  return losses;
}

void expect_unit_interval(const nlohmann::json& value, const std::string& name) {
  ASSERT_TRUE(value.is_number()) << name << " is not a number: " << value.dump();
  const double v = value.get<double>();
  EXPECT_TRUE(std::isfinite(v)) << name;
  EXPECT_GE(v, 0.0) << name;
  EXPECT_LE(v, 1.0) << name;
}

TEST(EndToEnd, SynthTrainPredictEvaluateOnTinySyntheticImages) {
  test::TempDir dir;
  const std::string train = dir.str("train"), held_out = dir.str("held_out"), run = dir.str("run"),
                    pred = dir.str("pred");
  ASSERT_EQ(run_program("synth -o " + train + " -n 3 --seed 5 --size 96x96", dir, "synth_train"), 0)
      << read_text(dir.str("synth_train.txt"));
  ASSERT_EQ(run_program("synth -o " + held_out + " -n 2 --seed 6 --size 96x96", dir, "synth_held_out"), 0)
      << read_text(dir.str("synth_held_out.txt"));

  // 3 images: 2 to train on, 1 validated (val-fraction holds out at least one). 16 steps of a
  // width-4 model on 48x48 crops take under a second.
  ASSERT_EQ(run_program("train --data " + train + " -o " + run +
                            " --width 4 --depth 3 --refine-depth 2 --seg-iterations 1 --cls-iterations 1"
                            " --size 96 --crop 48 --batch 4 --crops-per-image 2 --epochs 1 --steps-per-epoch 16"
                            " --log-every 1 --lr 1e-2 --dropout 0 --workers 1 --seed 3 --device cpu",
                        dir, "train"),
            0)
      << read_text(dir.str("train.txt"));
  for (const char* file : {"best.safetensors", "last.safetensors", "log.jsonl", "settings.json", "curves.png"})
    EXPECT_TRUE(fs::exists(fs::path(run) / file)) << file;

  // The loss fell: the mean of the last four steps is below that of the first four.
  const std::vector<double> losses = logged_losses(run + "/log.jsonl");
  ASSERT_EQ(losses.size(), 16u);
  double first = 0, last = 0;
  for (int i = 0; i < 4; ++i) {
    first += losses[i] / 4;
    last += losses[losses.size() - 1 - i] / 4;
  }
  EXPECT_LT(last, first) << "first steps " << first << ", last steps " << last;

  ASSERT_EQ(run_program("predict -i " + held_out + "/images -o " + pred + " --weights " + run +
                            "/best.safetensors --size 96 --device cpu",
                        dir, "predict"),
            0)
      << read_text(dir.str("predict.txt"));
  EXPECT_TRUE(nlohmann::json::parse(read_text(pred + "/predict.json"))["postprocess"].get<bool>());
  for (const char* folder : {"out_seg", "out_art", "out_vei", "out_final", "overlay"})
    for (const char* name : {"synth_000.png", "synth_001.png"}) {
      const Image map = read_image(pred + "/" + folder + "/" + name);
      EXPECT_EQ(map.width, 96) << folder << "/" << name;
      EXPECT_EQ(map.height, 96) << folder << "/" << name;
    }

  ASSERT_EQ(run_program("evaluate --pred " + pred + " --data " + held_out + " --json " + dir.str("report.json"), dir,
                        "evaluate"),
            0)
      << read_text(dir.str("evaluate.txt"));
  const auto report = nlohmann::json::parse(read_text(dir.str("report.json")));
  EXPECT_EQ(report["vessel"]["image_count"], 2);
  EXPECT_EQ(report["artery_vein"]["image_count"], 2);
  for (const char* aggregate : {"pooled", "mean"}) {
    const std::string where = std::string(aggregate) + ".";
    for (const char* metric : {"roc_auc", "pr_auc", "accuracy", "sensitivity", "specificity", "f1"})
      expect_unit_interval(report["vessel"][aggregate][metric], "vessel." + where + metric);
    for (const char* variant : {"all", "detected"})
      expect_unit_interval(report["artery_vein"][aggregate][variant]["accuracy"],
                           "artery_vein." + where + variant + ".accuracy");
    expect_unit_interval(report["artery_vein"][aggregate]["detected_fraction"],
                         "artery_vein." + where + "detected_fraction");
  }
  const std::string printed = read_text(dir.str("evaluate.txt"));
  EXPECT_NE(printed.find("Vessel segmentation (2 images)"), std::string::npos) << printed;
  EXPECT_NE(printed.find("Artery/vein classification (2 images)"), std::string::npos) << printed;
}

}  // namespace
}  // namespace seqnet
