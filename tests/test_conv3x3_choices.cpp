// The 3x3 algorithm choices travel in training checkpoints (train/conv3x3_choices_json.h): preset
// from JSON measured on this machine they are used without timing; from another machine they are
// not; malformed JSON is an error naming its source.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "kernels/cpu/conv3x3_algorithm.h"
#include "train/conv3x3_choices_json.h"

namespace seqnet {
namespace {

nlohmann::json one_choice(const std::string& machine, const cpu::Conv3x3Shape& shape, const std::string& algorithm) {
  return {{"machine", machine},
          {"choices",
           {{{"pass", cpu::conv3x3_pass_name(shape.pass)},
             {"N", shape.N},
             {"C", shape.C},
             {"K", shape.K},
             {"H", shape.H},
             {"W", shape.W},
             {"chosen", algorithm}}}}};
}

// Fails the test if the chooser times anything: the shape must already be decided.
void no_timing(cpu::Conv3x3Algorithm a) { ADD_FAILURE() << "timed " << cpu::conv3x3_algorithm_name(a); }

TEST(Conv3x3Choices, PresetOnThisMachineIsUsedWithoutTiming) {
  cpu::force_conv3x3_algorithm(std::nullopt);
  // Shapes no other test meets, so this process has chosen nothing for them yet.
  const cpu::Conv3x3Shape shape{cpu::Conv3x3Pass::forward, 3, 5, 13, 17, 7};
  const std::string note =
      preset_conv3x3_choices_from_json(one_choice(cpu::conv3x3_timing_machine(), shape, "winograd"), "run/last.safetensors");
  EXPECT_NE(note.find("as run/last.safetensors measured them (1 shapes)"), std::string::npos) << note;
  EXPECT_EQ(cpu::conv3x3_algorithm(shape, no_timing), cpu::Conv3x3Algorithm::winograd);

  // The preset is part of this process's choices, so the next checkpoint carries it on.
  const nlohmann::json saved = conv3x3_choices_to_json();
  EXPECT_EQ(saved["machine"], cpu::conv3x3_timing_machine());
  bool found = false;
  for (const auto& c : saved["choices"])
    found = found || (c["N"] == 3 && c["C"] == 5 && c["H"] == 13 && c["W"] == 17 && c["chosen"] == "winograd");
  EXPECT_TRUE(found) << saved.dump();
}

TEST(Conv3x3Choices, ChoicesOfAnotherMachineAreMeasuredAnew) {
  cpu::force_conv3x3_algorithm(std::nullopt);
  // Large enough to be timed (tiny shapes never are; the fake run below computes nothing).
  const cpu::Conv3x3Shape shape{cpu::Conv3x3Pass::input_gradient, 3, 50, 130, 170, 7};
  const std::string note =
      preset_conv3x3_choices_from_json(one_choice("Some Other CPU, direct kernel avx2, 64 thread(s)", shape, "winograd"), "ckpt");
  EXPECT_NE(note.find("measured anew"), std::string::npos) << note;
  EXPECT_NE(note.find("Some Other CPU"), std::string::npos) << note;
  int timed = 0;
  cpu::conv3x3_algorithm(shape, [&](cpu::Conv3x3Algorithm) { ++timed; });
  EXPECT_GT(timed, 0) << "a choice from another machine must not be preset";
}

// The machine line names the CPU model on x86 ("model name") and on aarch64, whose /proc/cpuinfo
// has no model name but ARM's identity fields; two different ARM cores must not read the same.
TEST(Conv3x3Choices, CpuModelIsReadOnX86AndOnArm) {
  std::istringstream x86("processor\t: 0\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n");
  EXPECT_EQ(cpu::cpu_model_from_cpuinfo(x86), "Intel(R) Xeon(R) Platinum 8480+");
  const auto arm_cpuinfo = [](const std::string& part) {
    return "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n"
           "CPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: " + part + "\nCPU revision\t: 1\n\n"
           "processor\t: 1\nCPU implementer\t: 0x41\nCPU part\t: 0xfff\n";
  };
  std::istringstream n1(arm_cpuinfo("0xd0c")), v2(arm_cpuinfo("0xd4f"));
  EXPECT_EQ(cpu::cpu_model_from_cpuinfo(n1), "ARM implementer 0x41 part 0xd0c variant 0x3 revision 1");
  EXPECT_EQ(cpu::cpu_model_from_cpuinfo(v2), "ARM implementer 0x41 part 0xd4f variant 0x3 revision 1");
  std::istringstream empty("");
  EXPECT_EQ(cpu::cpu_model_from_cpuinfo(empty), "unknown CPU");
}

TEST(Conv3x3Choices, MalformedChoicesNameTheirSource) {
  const cpu::Conv3x3Shape shape{cpu::Conv3x3Pass::forward, 3, 5, 13, 17, 9};
  for (const nlohmann::json& bad :
       {nlohmann::json::object(), one_choice(cpu::conv3x3_timing_machine(), shape, "fft"),
        nlohmann::json{{"machine", cpu::conv3x3_timing_machine()}, {"choices", {{{"pass", "sideways"}}}}}}) {
    try {
      preset_conv3x3_choices_from_json(bad, "broken.safetensors");
      ADD_FAILURE() << "accepted " << bad.dump();
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("broken.safetensors"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace seqnet
