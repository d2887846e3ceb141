// test_export_command.cpp: `seqnet export CHECKPOINT -o WEIGHTS` keeps every model tensor
// bit for bit, drops the optimizer state and carries the configuration and training settings.
#include <gtest/gtest.h>

#include <string>

#include "io/safetensors.h"
#include "model/weights.h"
#include "test_support.h"

namespace seqnet {
namespace {

TEST(ExportCommand, WritesTheWeightsWithoutOptimizerState) {
  test::TempDir dir;
  SeqNet model(test::tiny_model_config(), Device::cpu, DType::f32, 4);
  TensorFile checkpoint;
  checkpoint.tensors = model.params().to_named_tensors();
  const int64_t n = model.params().values().numel();
  checkpoint.tensors[std::string(kOptimizerPrefix) + "m"] = test::random_tensor({n}, 1);
  checkpoint.tensors[std::string(kOptimizerPrefix) + "v"] = test::random_tensor({n}, 2);
  checkpoint.metadata["config"] = model.config().to_json();
  checkpoint.metadata["settings"] = R"({"lr":0.002})";
  checkpoint.metadata["training"] = R"({"step":40})";
  write_safetensors(dir.str("last.safetensors"), checkpoint);

  ASSERT_EQ(test::run_seqnet("export " + dir.str("last.safetensors") + " -o " + dir.str("weights.safetensors"),
                             dir.str("out.txt"), dir.str("err.txt")),
            0)
      << test::read_text(dir.str("err.txt"));
  const TensorFile exported = read_safetensors(dir.str("weights.safetensors"));
  EXPECT_EQ(exported.tensors.size(), checkpoint.tensors.size() - 2);
  for (const auto& [name, tensor] : exported.tensors) {
    EXPECT_NE(name.rfind(kOptimizerPrefix, 0), 0u) << name;
    EXPECT_EQ(tensor.to_floats(), checkpoint.tensors.at(name).to_floats()) << name;
  }
  EXPECT_EQ(exported.metadata.at("config"), model.config().to_json());
  EXPECT_EQ(exported.metadata.at("settings"), checkpoint.metadata.at("settings"));
  EXPECT_EQ(exported.metadata.at("training"), checkpoint.metadata.at("training"));
  EXPECT_NO_THROW(load_model(dir.str("weights.safetensors"), Device::cpu));
}

TEST(ExportCommand, AMissingCheckpointIsAUsageError) {
  test::TempDir dir;
  EXPECT_EQ(test::run_seqnet("export " + dir.str("none.safetensors") + " -o " + dir.str("w.safetensors"),
                             dir.str("out.txt"), dir.str("err.txt")),
            2);
  EXPECT_NE(test::read_text(dir.str("err.txt")).find("none.safetensors: no such file"), std::string::npos);
}

}  // namespace
}  // namespace seqnet
