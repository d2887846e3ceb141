// test_bad_weights.cpp: weights files that must be refused by `seqnet predict` (the built program)
// with a message naming the file and what is wrong, before any output is written: truncated, NaN
// or infinite values (the tensor named), another network's weights, another configuration.
#include <filesystem>
#include <fstream>
#include <string>

#include "io/image.h"
#include "io/safetensors.h"
#include "model/weights.h"
#include "test_support.h"

namespace seqnet {
namespace {

namespace fs = std::filesystem;

class BadWeights : public ::testing::Test {
 protected:
  void SetUp() override {
    Image photo(24, 24, 3);
    for (size_t i = 0; i < photo.pixels.size(); ++i) photo.pixels[i] = float(i % 7) / 7.0f;
    write_png(dir.str("photo.png"), photo);
    SeqNet model(test::tiny_model_config(), Device::cpu, DType::f32, 3);
    save_weights(dir.str("good.safetensors"), model);
  }

  // Runs predict with `weights`; expects a failure whose message holds every one of `expected`,
  // and no output folder.
  void expect_refused(const std::string& weights, const std::vector<std::string>& expected) {
    const std::string log = dir.str("predict.txt");
    const int status =
        test::run_seqnet("predict -i " + dir.str("photo.png") + " -o " + dir.str("out") + " --weights " + weights, log, log);
    const std::string message = test::read_text(log);
    EXPECT_EQ(status, 1) << message;
    for (const std::string& part : expected) EXPECT_NE(message.find(part), std::string::npos) << "missing '" << part << "' in:\n" << message;
    EXPECT_FALSE(fs::exists(dir.str("out"))) << "predict wrote output before refusing the weights";
  }

  TensorFile good() const { return read_safetensors(dir.str("good.safetensors")); }

  test::TempDir dir;
};

TEST_F(BadWeights, GoodFileIsAcceptedSoTheOthersFailForTheirFault) {
  const std::string log = dir.str("predict.txt");
  EXPECT_EQ(test::run_seqnet("predict -i " + dir.str("photo.png") + " -o " + dir.str("out") + " --weights " +
                                 dir.str("good.safetensors") + " --size 24 --no-postprocess",
                             log, log),
            0)
      << test::read_text(log);
}

TEST_F(BadWeights, TruncatedFileIsRefused) {
  const std::string bytes = test::read_text(dir.str("good.safetensors"));
  std::ofstream(dir.str("cut.safetensors"), std::ios::binary) << bytes.substr(0, bytes.size() * 6 / 10);
  expect_refused(dir.str("cut.safetensors"), {dir.str("cut.safetensors"), "truncated"});
}

TEST_F(BadWeights, NanAndInfiniteValuesAreRefusedNamingTheTensor) {
  for (const float bad : {std::nanf(""), -INFINITY}) {
    TensorFile file = good();
    auto it = std::next(file.tensors.begin(), long(file.tensors.size() / 2));
    it->second.f32()[it->second.numel() - 1] = bad;
    write_safetensors(dir.str("bad.safetensors"), file);
    expect_refused(dir.str("bad.safetensors"),
                   {dir.str("bad.safetensors"), "tensor '" + it->first + "'", std::isnan(bad) ? "1 NaN" : "1 infinite"});
  }
}

TEST_F(BadWeights, AnotherNetworksWeightsAreRefused) {
  TensorFile file;
  file.tensors["encoder.layer1.0.conv1.weight"] = test::random_tensor({8, 3, 3, 3}, 1);
  file.tensors["fc.bias"] = test::random_tensor({10}, 2);
  write_safetensors(dir.str("resnet.safetensors"), file);
  expect_refused(dir.str("resnet.safetensors"),
                 {dir.str("resnet.safetensors"), "is not a SeqNet weights file", "'encoder.layer1.0.conv1.weight'"});
}

TEST_F(BadWeights, AnotherConfigurationIsRefusedListingTheMisfits) {
  // The tensors of the tiny model, the metadata of a twice-as-wide one.
  TensorFile file = good();
  ModelConfig wide = test::tiny_model_config();
  wide.width = 8;
  file.metadata["config"] = wide.to_json();
  write_safetensors(dir.str("wide.safetensors"), file);
  expect_refused(dir.str("wide.safetensors"),
                 {dir.str("wide.safetensors"), "does not match the model", "mis-shaped", wide.describe(),
                  "as the file's metadata describes it"});
}

TEST_F(BadWeights, ConfigurationWithOutOfRangeNumbersIsRefused) {
  // Converting 1e300 to an int is undefined behaviour; it is refused, naming the setting.
  TensorFile file = good();
  file.metadata["config"] = R"({"width": 1e300, "depth": 3})";
  write_safetensors(dir.str("huge.safetensors"), file);
  expect_refused(dir.str("huge.safetensors"), {dir.str("huge.safetensors"), "width must be an integer", "1e+300"});
  EXPECT_THROW(ModelConfig::from_json(R"({"dropout": 1e300})"), std::invalid_argument);
  EXPECT_THROW(ModelConfig::from_json(R"({"depth": 4294967297})"), std::invalid_argument);
  EXPECT_EQ(ModelConfig::from_json(R"({"width": 6})").width, 6);
}

}  // namespace
}  // namespace seqnet
