// test_predict_evaluate.cpp: the `seqnet predict` and `seqnet evaluate` commands end to end, run as
// the built program (SEQNET_PROGRAM) on files in a temporary folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "io/image.h"
#include "io/safetensors.h"
#include "io/sha256.h"
#include "model/weights.h"
#include "test_support.h"

namespace seqnet {
namespace {
namespace fs = std::filesystem;

using test::read_text;

// Runs `seqnet ARGS`, stdout and stderr into files under `dir`; returns the exit status.
int run_program(const std::string& args, const test::TempDir& dir) {
  return test::run_seqnet(args, dir.str("stdout.txt"), dir.str("stderr.txt"));
}

// A tiny randomly-initialised model saved where the commands can load it.
std::string save_tiny_model(const test::TempDir& dir) {
  SeqNet model(test::tiny_model_config(), Device::cpu, DType::f32, 9);
  const std::string path = dir.str("tiny.safetensors");
  save_weights(path, model);
  return path;
}

Image gradient_photo(int width, int height) {
  Image image(width, height, 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      image.at(y, x, 0) = float(x) / width;
      image.at(y, x, 1) = float(y) / height;
      image.at(y, x, 2) = float((x * 7 + y * 3) % 11) / 11;
    }
  return image;
}

TEST(PredictCommand, WritesFiveMapsPerImageAndSkipsAnUnreadableFile) {
  test::TempDir dir;
  const std::string weights = save_tiny_model(dir);
  fs::create_directories(dir.path() / "in");
  write_png(dir.str("in/first.png"), gradient_photo(75, 53));
  write_png(dir.str("in/second.png"), gradient_photo(40, 64));
  std::ofstream(dir.str("in/broken.png")) << "this is not a picture";

  const int status = run_program("predict -i " + dir.str("in") + " -o " + dir.str("out") + " --weights " + weights +
                                     " --size 64 --device cpu",
                                 dir);
  const std::string err = read_text(dir.str("stderr.txt"));
  EXPECT_EQ(status, 1) << err;
  EXPECT_NE(err.find("broken.png"), std::string::npos) << err;
  EXPECT_NE(err.find("1 of 3 images could not be read"), std::string::npos) << err;
  for (const char* folder : {"out_seg", "out_art", "out_vei", "out_final", "overlay"}) {
    const Image first = read_image(dir.str(std::string("out/") + folder + "/first.png"));
    EXPECT_EQ(first.width, 75) << folder;
    EXPECT_EQ(first.height, 53) << folder;
    const Image second = read_image(dir.str(std::string("out/") + folder + "/second.png"));
    EXPECT_EQ(second.width, 40) << folder;
    EXPECT_EQ(second.height, 64) << folder;
    EXPECT_FALSE(fs::exists(dir.str(std::string("out/") + folder + "/broken.png"))) << folder;
  }
  EXPECT_EQ(read_image(dir.str("out/out_seg/first.png")).channels, 1);
  EXPECT_EQ(read_image(dir.str("out/out_final/first.png")).channels, 3);
}

TEST(PredictCommand, TiledWithoutPostprocessingSucceeds) {
  test::TempDir dir;
  const std::string weights = save_tiny_model(dir);
  write_png(dir.str("photo.png"), gradient_photo(50, 45));
  const int status = run_program("predict -i " + dir.str("photo.png") + " -o " + dir.str("out") + " --weights " +
                                     weights + " --size 64 --tiled --tile 32 --stride 16 --no-postprocess --device cpu",
                                 dir);
  EXPECT_EQ(status, 0) << read_text(dir.str("stderr.txt"));
  EXPECT_EQ(read_image(dir.str("out/overlay/photo.png")).width, 50);
  const auto record = nlohmann::json::parse(read_text(dir.str("out/predict.json")));
  EXPECT_EQ(record["tiled"], true);
  EXPECT_EQ(record["postprocess"], false);
}

// Flips are predict's default (the photograph and its three mirror images, averaged): recorded in
// predict.json; --no-flips predicts the photograph alone and differs; the two maps are not mixed
// in one folder, and --flips with --no-flips is a usage error.
TEST(PredictCommand, FlipsAreTheDefaultAndNoFlipsTurnsThemOff) {
  test::TempDir dir;
  const std::string weights = save_tiny_model(dir);
  write_png(dir.str("photo.png"), gradient_photo(50, 45));
  const std::string predict = "predict -i " + dir.str("photo.png") + " --weights " + weights + " --size 64 --device cpu -o ";
  ASSERT_EQ(run_program(predict + dir.str("default"), dir), 0) << read_text(dir.str("stderr.txt"));
  ASSERT_EQ(run_program(predict + dir.str("alone") + " --no-flips", dir), 0) << read_text(dir.str("stderr.txt"));
  EXPECT_EQ(nlohmann::json::parse(read_text(dir.str("default/predict.json")))["flips"], true);
  EXPECT_EQ(nlohmann::json::parse(read_text(dir.str("alone/predict.json")))["flips"], false);
  EXPECT_NE(read_image(dir.str("default/out_seg/photo.png")).pixels, read_image(dir.str("alone/out_seg/photo.png")).pixels)
      << "a gradient photograph is not mirror-symmetric: its mirrored maps must change the average";
  EXPECT_EQ(run_program(predict + dir.str("alone"), dir), 2) << "default (flips) maps into a --no-flips folder";
  EXPECT_NE(read_text(dir.str("stderr.txt")).find("flips"), std::string::npos) << read_text(dir.str("stderr.txt"));
  EXPECT_EQ(run_program(predict + dir.str("both") + " --flips --no-flips", dir), 2);
  EXPECT_NE(read_text(dir.str("stderr.txt")).find("give one"), std::string::npos) << read_text(dir.str("stderr.txt"));
}

// Several --weights are an ensemble: the maps are the mean of the models' (a model given twice
// gives its own maps exactly), predict.json and the table name every member in order, and maps
// made by another ensemble are not taken for finished ones.
TEST(PredictCommand, SeveralWeightsAreAnEnsemble) {
  test::TempDir dir;
  const std::string first = save_tiny_model(dir);
  const std::string second = dir.str("second.safetensors");
  save_weights(second, SeqNet(test::tiny_model_config(), Device::cpu, DType::f32, 3));
  write_png(dir.str("photo.png"), gradient_photo(50, 45));
  auto predict = [&](const std::string& weights, const std::string& out) {
    return run_program("predict -i " + dir.str("photo.png") + " -o " + dir.str(out) + weights + " --size 64 --device cpu",
                       dir);
  };

  ASSERT_EQ(predict(" --weights " + first, "one"), 0) << read_text(dir.str("stderr.txt"));
  ASSERT_EQ(predict(" --weights " + first + " --weights " + first, "twice"), 0) << read_text(dir.str("stderr.txt"));
  ASSERT_EQ(predict(" --weights " + first + " --weights " + second, "both"), 0) << read_text(dir.str("stderr.txt"));
  EXPECT_NE(read_text(dir.str("stderr.txt")).find("an ensemble of 2 models"), std::string::npos)
      << read_text(dir.str("stderr.txt"));
  for (const char* map : {"out_seg", "out_art", "out_vei"}) {
    const std::string file = std::string("/") + map + "/photo.png";
    EXPECT_EQ(read_image(dir.str("one" + file)).pixels, read_image(dir.str("twice" + file)).pixels) << map;
  }
  EXPECT_NE(read_image(dir.str("one/out_art/photo.png")).pixels, read_image(dir.str("both/out_art/photo.png")).pixels);

  const std::string hashes = sha256_file_hex(first) + "+" + sha256_file_hex(second);
  const auto record = nlohmann::json::parse(read_text(dir.str("both/predict.json")));
  EXPECT_EQ(record["weights"], first + " + " + second);
  EXPECT_EQ(record["weights_sha256"], hashes);
  EXPECT_NE(read_text(dir.str("both/manifest/shard-0-of-1.csv")).find(hashes), std::string::npos);

  // The same folder with one of the two models: the maps there are the ensemble's, so it refuses.
  EXPECT_EQ(predict(" --weights " + first, "both"), 2);
  const std::string refusal = read_text(dir.str("stderr.txt"));
  EXPECT_NE(refusal.find("weights_sha256"), std::string::npos) << refusal;
  // A member that is not there is named.
  EXPECT_NE(predict(" --weights " + first + " --weights " + dir.str("missing.safetensors"), "missing"), 0);
  EXPECT_NE(read_text(dir.str("stderr.txt")).find("missing.safetensors"), std::string::npos);
}

// Sets an environment variable for the programs a test starts, and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old, had_ = true;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { had_ ? setenv(name_, saved_.c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::string saved_;
  bool had_ = false;
};

TEST(PredictCommand, WithoutWeightsUsesTheShippedModelOrSaysWhereItLooked) {
  test::TempDir dir;
  write_png(dir.str("photo.png"), gradient_photo(20, 20));
  {
    ScopedEnv env("SEQNET_MODEL", dir.str("no-such-model.safetensors"));
    EXPECT_EQ(run_program("predict -i " + dir.str("photo.png") + " -o " + dir.str("out"), dir), 2);
    EXPECT_NE(read_text(dir.str("stderr.txt")).find("no-such-model.safetensors: no such file"), std::string::npos)
        << read_text(dir.str("stderr.txt"));
  }
  ScopedEnv env("SEQNET_MODEL", save_tiny_model(dir));
  EXPECT_EQ(run_program("predict -i " + dir.str("photo.png") + " -o " + dir.str("out") + " --size 32 --device cpu", dir), 0)
      << read_text(dir.str("stderr.txt"));
  EXPECT_NE(read_text(dir.str("stderr.txt")).find("using the shipped model"), std::string::npos);
  EXPECT_EQ(read_image(dir.str("out/out_final/photo.png")).width, 20);
}

// The model in the repository's models/ loads, is weights only, and predicts a photograph with
// no --weights and no SEQNET_MODEL (found through the compiled-in source tree).
TEST(PredictCommand, TheShippedModelPredictsWithNoOptions) {
  const fs::path shipped = fs::path(SEQNET_SOURCE_DIR) / "models" / "seqnet-av-drive-les.safetensors";
  ASSERT_TRUE(fs::is_regular_file(shipped)) << shipped << " is missing: the repository ships a trained model";
  const TensorFile file = read_safetensors(shipped.string());
  for (const auto& [name, tensor] : file.tensors) EXPECT_NE(name.rfind(kOptimizerPrefix, 0), 0u) << name;
  EXPECT_TRUE(file.metadata.count("config"));
  test::TempDir dir;
  write_png(dir.str("photo.png"), gradient_photo(40, 30));
  EXPECT_EQ(run_program("predict -i " + dir.str("photo.png") + " -o " + dir.str("out") + " --size 64 --device cpu", dir), 0)
      << read_text(dir.str("stderr.txt"));
  EXPECT_EQ(read_image(dir.str("out/out_seg/photo.png")).height, 30);
}

// A dataset folder with two labelled images and masks; writes predictions equal to the ground
// truth (vessel = labelled, artery = red, vein = blue) or their inverses into `pred`.
void write_dataset_and_predictions(const test::TempDir& dir, bool inverted) {
  for (const char* sub : {"data/images", "data/av", "data/mask", "pred/out_seg", "pred/out_art", "pred/out_vei"})
    fs::create_directories(dir.path() / sub);
  for (const std::string name : {"01", "02"}) {
    const int w = 48, h = 40;
    Image label(w, h, 3), mask(w, h, 1), seg(w, h, 1), art(w, h, 1), vei(w, h, 1);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        mask.at(y, x, 0) = 1.0f;
        const int band = (x + (name == "02" ? 3 : 0)) % 12;  // vertical stripes of every class
        float rgb[3] = {0, 0, 0};
        if (band == 1 || band == 2) rgb[0] = 1;                      // artery
        else if (band == 5 || band == 6) rgb[2] = 1;                 // vein
        else if (band == 9 && y < 10) rgb[1] = 1;                    // crossing (left out of A/V)
        else if (band == 9 && y >= 30) rgb[0] = rgb[1] = rgb[2] = 1; // uncertain (left out of A/V)
        for (int c = 0; c < 3; ++c) label.at(y, x, c) = rgb[c];
        const bool vessel = rgb[0] + rgb[1] + rgb[2] > 0;
        const bool artery = rgb[0] == 1 && rgb[1] == 0, vein = rgb[2] == 1 && rgb[1] == 0;
        seg.at(y, x, 0) = float(vessel != inverted);
        art.at(y, x, 0) = float(inverted ? vein : artery);
        vei.at(y, x, 0) = float(inverted ? artery : vein);
      }
    write_png(dir.str("data/images/" + name + ".png"), gradient_photo(w, h));
    write_png(dir.str("data/av/" + name + ".png"), label);
    write_png(dir.str("data/mask/" + name + "_mask.png"), mask);
    write_png(dir.str("pred/out_seg/" + name + ".png"), seg);
    write_png(dir.str("pred/out_art/" + name + ".png"), art);
    write_png(dir.str("pred/out_vei/" + name + ".png"), vei);
  }
}

TEST(EvaluateCommand, PredictionsEqualToTheTruthScoreOne) {
  test::TempDir dir;
  write_dataset_and_predictions(dir, false);
  const int status = run_program("evaluate --pred " + dir.str("pred") + " --data " + dir.str("data") + " --json " +
                                     dir.str("report.json"),
                                 dir);
  ASSERT_EQ(status, 0) << read_text(dir.str("stderr.txt"));
  const auto report = nlohmann::json::parse(read_text(dir.str("report.json")));
  EXPECT_EQ(report["vessel"]["image_count"], 2);
  EXPECT_DOUBLE_EQ(report["vessel"]["pooled"]["roc_auc"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(report["vessel"]["pooled"]["f1"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(report["artery_vein"]["pooled"]["all"]["accuracy"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(report["artery_vein"]["pooled"]["detected_fraction"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(report["artery_vein"]["mean"]["all"]["accuracy"].get<double>(), 1.0);
  const std::string out = read_text(dir.str("stdout.txt"));
  EXPECT_NE(out.find("the dataset's mask for 2 of 2 images"), std::string::npos) << out;
  EXPECT_NE(out.find("Protocol"), std::string::npos) << out;
}

TEST(EvaluateCommand, InvertedPredictionsScoreZero) {
  test::TempDir dir;
  write_dataset_and_predictions(dir, true);
  ASSERT_EQ(run_program("evaluate --pred " + dir.str("pred") + " --data " + dir.str("data") + " --json " +
                            dir.str("report.json") + " --errors " + dir.str("errors"),
                        dir),
            0)
      << read_text(dir.str("stderr.txt"));
  const auto report = nlohmann::json::parse(read_text(dir.str("report.json")));
  EXPECT_DOUBLE_EQ(report["vessel"]["pooled"]["roc_auc"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(report["artery_vein"]["pooled"]["all"]["accuracy"].get<double>(), 0.0);
  // Every artery and vein pixel is called the other class: the error map has red and no green.
  const Image errors = read_image(dir.str("errors/01.png"));
  ASSERT_EQ(errors.width, 48);
  int red = 0, green = 0;
  for (int y = 0; y < errors.height; ++y)
    for (int x = 0; x < errors.width; ++x) {
      red += errors.at(y, x, 0) == 1.0f && errors.at(y, x, 1) == 0.0f;
      green += errors.at(y, x, 1) == 1.0f && errors.at(y, x, 0) == 0.0f;
    }
  EXPECT_EQ(green, 0);
  EXPECT_EQ(red, 40 * 4 * 4);  // 4 stripes of 4 columns (2 artery, 2 vein, x < 48) by 40 rows
}

TEST(EvaluateCommand, AMissingPredictionIsNamed) {
  test::TempDir dir;
  write_dataset_and_predictions(dir, false);
  fs::remove(dir.path() / "pred/out_vei/02.png");
  EXPECT_EQ(run_program("evaluate --pred " + dir.str("pred") + " --data " + dir.str("data"), dir), 1);
  EXPECT_NE(read_text(dir.str("stderr.txt")).find("out_vei/02.png"), std::string::npos);
}

}  // namespace
}  // namespace seqnet
