// test_trainer.cpp: training on a tiny synthetic dataset: the loss falls, a resumed run equals an
// uninterrupted one bit for bit, and bad data or a non-finite loss stop with a message naming
// the cause.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/image.h"
#include "io/safetensors.h"
#include "kernels/cpu/conv3x3_algorithm.h"
#include "synth/fundus.h"
#include "test_support.h"
#include "train/plot.h"
#include "train/trainer.h"

namespace seqnet {
namespace {

namespace fs = std::filesystem;

// A tiny model and run: seconds on one core.
TrainSettings tiny_settings(const std::string& data, const std::string& run) {
  TrainSettings s;
  s.data_dirs = {data};
  s.run_dir = run;
  s.model = test::tiny_model_config();
  s.size = 64;
  s.crop = 32;
  s.batch = 4;
  s.crops_per_image = 2;
  s.epochs = 2;
  s.steps_per_epoch = 3;
  s.seed = 7;
  s.log_every = 1;
  s.val_fraction = 0.2;
  return s;
}

void write_dataset(const std::string& dir, int n) { write_synthetic_set(dir, n, 3, 128, 128); }

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The error message of train(s), or "" when it succeeds.
std::string train_error(const TrainSettings& s) {
  try {
    train(s, nullptr);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(Trainer, LossFallsOnASmallDataset) {
  test::TempDir dir;
  write_dataset(dir.str("data"), 6);
  TrainSettings s = tiny_settings(dir.str("data"), dir.str("run"));
  s.epochs = 3;
  s.steps_per_epoch = 20;
  s.model.dropout = 0;
  s.lr = 3e-3;
  const TrainSummary summary = train(s, nullptr);
  EXPECT_EQ(summary.steps, 60);

  std::vector<double> losses;
  int validations = 0;
  std::ifstream log(dir.str("run/log.jsonl"));
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["event"] == "step") losses.push_back(j["loss"]);
    if (j["event"] == "validation") {
      ++validations;
      EXPECT_GE(j["vessel_auc"].get<double>(), 0.0);
      EXPECT_LE(j["av_accuracy"].get<double>(), 1.0);
    }
  }
  ASSERT_EQ(losses.size(), 60u);
  EXPECT_EQ(validations, 3);
  const double first = (losses[0] + losses[1] + losses[2] + losses[3] + losses[4]) / 5;
  const double last = (losses[55] + losses[56] + losses[57] + losses[58] + losses[59]) / 5;
  EXPECT_LT(last, 0.8 * first) << "first steps " << first << ", last steps " << last;

  for (const char* name : {"last.safetensors", "best.safetensors", "settings.json", "curves.png"})
    EXPECT_TRUE(fs::exists(dir.str("run/") + name)) << name;
  const Image curves = read_image(dir.str("run/curves.png"));
  EXPECT_EQ(curves.width, 800);
  // The checkpoint is also a plain weights file holding the optimizer state beside it.
  const TensorFile checkpoint = read_safetensors(dir.str("run/last.safetensors"));
  EXPECT_TRUE(checkpoint.tensors.count("optimizer.m"));
  EXPECT_EQ(nlohmann::json::parse(checkpoint.metadata.at("training"))["step"], 60);
  // And the 3x3 algorithms this process chose, so that a resumed run rounds the same.
  const auto conv3x3 = nlohmann::json::parse(checkpoint.metadata.at("conv3x3"));
  EXPECT_EQ(conv3x3["machine"], cpu::conv3x3_timing_machine());
  EXPECT_EQ(conv3x3["choices"].size(), cpu::conv3x3_choices().size());
}

TEST(Trainer, ResumedRunEqualsUninterruptedRun) {
  test::TempDir dir;
  write_dataset(dir.str("data"), 5);
  TrainSettings straight = tiny_settings(dir.str("data"), dir.str("straight"));
  straight.epochs = 4;
  train(straight, nullptr);

  TrainSettings first_half = tiny_settings(dir.str("data"), dir.str("resumed"));
  first_half.epochs = 2;
  train(first_half, nullptr);
  TrainSettings second_half = stored_run_settings(dir.str("resumed"));
  second_half.epochs = 4;
  second_half.resume = true;
  EXPECT_EQ(train(second_half, nullptr).steps, 12);

  const TensorFile a = read_safetensors(dir.str("straight/last.safetensors"));
  const TensorFile b = read_safetensors(dir.str("resumed/last.safetensors"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, tensor] : a.tensors) {
    ASSERT_TRUE(b.tensors.count(name)) << name;
    EXPECT_EQ(tensor.to_floats(), b.tensors.at(name).to_floats()) << name;  // bit for bit
  }
  EXPECT_EQ(a.metadata.at("training"), b.metadata.at("training"));
  // The resumed log continues the first one: one line per step of all four epochs.
  int steps = 0;
  std::ifstream log(dir.str("resumed/log.jsonl"));
  for (std::string line; std::getline(log, line);) steps += nlohmann::json::parse(line)["event"] == "step";
  EXPECT_EQ(steps, 12);
}

TEST(Trainer, LabelOfTheWrongSizeIsNamedBeforeTraining) {
  test::TempDir dir;
  write_dataset(dir.str("data"), 3);
  const std::string label = dir.str("data/av/synth_001.png");
  write_png(label, Image(64, 64, 3));
  const std::string error = train_error(tiny_settings(dir.str("data"), dir.str("run")));
  EXPECT_NE(error.find(label), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir.str("run"))) << "nothing may be written before the data is checked";
}

TEST(Trainer, OffColourLabelIsNamedBeforeTraining) {
  test::TempDir dir;
  write_dataset(dir.str("data"), 3);
  const std::string label = dir.str("data/av/synth_002.png");
  Image yellow(128, 128, 3);
  for (int y = 0; y < 128; ++y)
    for (int x = 0; x < 128; ++x) yellow.at(y, x, 0) = yellow.at(y, x, 1) = 0.8f;
  write_png(label, yellow);
  const std::string error = train_error(tiny_settings(dir.str("data"), dir.str("run")));
  EXPECT_NE(error.find(label), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir.str("run")));
}

TEST(Trainer, UnreadableImageIsNamedBeforeTraining) {
  test::TempDir dir;
  write_dataset(dir.str("data"), 3);
  const std::string image = dir.str("data/images/synth_000.png");
  std::ofstream(image, std::ios::binary) << "not a picture";
  const std::string error = train_error(tiny_settings(dir.str("data"), dir.str("run")));
  EXPECT_NE(error.find(image), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir.str("run")));
}

TEST(Trainer, EmptyImageFolderIsNamed) {
  test::TempDir dir;
  fs::create_directories(dir.str("data/images"));
  fs::create_directories(dir.str("data/av"));
  const std::string error = train_error(tiny_settings(dir.str("data"), dir.str("run")));
  EXPECT_NE(error.find(dir.str("data/images")), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir.str("run")));
}

TEST(Trainer, NonFiniteLossStopsAndKeepsTheLastGoodCheckpoint) {
  test::TempDir dir;
  write_dataset(dir.str("data"), 3);
  TrainSettings s = tiny_settings(dir.str("data"), dir.str("run"));
  s.model.norm = Norm::none;  // without normalisation, weights of 1e30 overflow to inf - inf = nan
  s.epochs = 1;
  train(s, nullptr);
  const std::string last = dir.str("run/last.safetensors");
  const std::string good = file_bytes(last);

  TrainSettings blowup = stored_run_settings(dir.str("run"));
  blowup.epochs = 3;
  blowup.lr = 1e30;
  blowup.resume = true;
  try {
    train(blowup, nullptr);
    FAIL() << "a learning rate of 1e30 should make the loss non-finite";
  } catch (const NonFiniteLossError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("loss became"), std::string::npos) << message;
    EXPECT_NE(message.find(last + " (step 3) kept"), std::string::npos) << message;
  }
  EXPECT_EQ(file_bytes(last), good) << "the last good checkpoint must be left as it was";
}

// A non-finite gradient under a finite loss (injected at step 5 of 6, after the step-3 checkpoint
// of epoch 1) stops training before Adam spreads it into the weights.
TEST(Trainer, NonFiniteGradientStopsAndKeepsTheLastGoodCheckpoint) {
  test::TempDir dir;
  write_dataset(dir.str("data"), 3);
  TrainSettings s = tiny_settings(dir.str("data"), dir.str("run"));
  s.epochs = 2;
  setenv("SEQNET_TEST_NAN_GRADIENT_AT_STEP", "5", 1);
  try {
    train(s, nullptr);
    ADD_FAILURE() << "a nan gradient must stop training";
  } catch (const NonFiniteLossError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("gradients became nan or inf at step 5"), std::string::npos) << message;
    EXPECT_NE(message.find("(step 3) kept"), std::string::npos) << message;
  }
  unsetenv("SEQNET_TEST_NAN_GRADIENT_AT_STEP");
  const TensorFile last = read_safetensors(dir.str("run/last.safetensors"));
  EXPECT_EQ(nlohmann::json::parse(last.metadata.at("training"))["step"], 3);
}

TEST(Trainer, CurvesPlotDrawsLossAndScores) {
  TrainingCurves curves;
  for (int step = 1; step <= 100; ++step) curves.loss.push_back({double(step), 2.0 / step});
  curves.vessel_auc = {{50, 0.7}, {100, 0.9}};
  curves.av_accuracy = {{50, 0.6}, {100, 0.8}};
  const Image image = plot_curves(curves, 400, 300);
  ASSERT_EQ(image.width, 400);
  ASSERT_EQ(image.height, 300);
  int black = 0, red = 0, blue = 0;
  // Text is dark grey (0.15, not the smoothed loss's black): count it where the labels belong.
  int title = 0, values_top = 0, values_bottom = 0, steps_left = 0, steps_right = 0, text_elsewhere = 0;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const float r = image.at(y, x, 0), g = image.at(y, x, 1), b = image.at(y, x, 2);
      black += r == 0 && g == 0 && b == 0;
      red += r > 0.8f && g < 0.2f && b < 0.2f;
      blue += b > 0.8f && r < 0.2f;
      // The loss panel is the top half, the scores the bottom half.
      if (r > 0.8f && g < 0.2f && b < 0.2f) EXPECT_GT(y, image.height / 2) << "AUC drawn in the loss panel";
      if (!(r == g && g == b && r > 0.1f && r < 0.2f)) continue;
      const bool top_row = y < 20, left_strip = x < 35, bottom_row = y >= image.height - 14;
      title += top_row && x < image.width / 2;                          // "training loss"
      values_top += left_strip && y >= 20 && y < image.height / 2;      // 0 ... 2 at the loss grid
      values_bottom += left_strip && y >= image.height / 2 && !bottom_row;  // 0.0 ... 1.0
      steps_left += bottom_row && x < image.width / 4;                  // "step 0"
      steps_right += bottom_row && x >= image.width * 3 / 4;            // "step 100"
      text_elsewhere += !top_row && !left_strip && !bottom_row && y < image.height / 2 - 20;
    }
  EXPECT_GT(black, 100);  // the smoothed loss curve
  EXPECT_GT(red, 50);
  EXPECT_GT(blue, 50);
  EXPECT_GT(title, 40);
  EXPECT_GT(values_top, 40);
  EXPECT_GT(values_bottom, 60);
  EXPECT_GT(steps_left, 20);
  EXPECT_GT(steps_right, 20);
  EXPECT_GT(steps_right, steps_left) << "\"step 100\" is longer than \"step 0\"";
  // The inside of the loss panel holds no text: the legend is in the title row above it.
  EXPECT_LT(text_elsewhere, 40);
  EXPECT_THROW(plot_curves(curves, 100, 80), std::invalid_argument);
}

}  // namespace
}  // namespace seqnet
