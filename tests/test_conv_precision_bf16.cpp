// test_conv_precision_bf16.cpp: `--conv-precision bf16`, the CPU's opt-in bfloat16 3x3
// convolutions (kernels/cpu/conv3x3_bf16.h): what it changes inside the layers (the 3x3 forwards,
// with the evaluation epilogue after them, and input gradients; nothing else), that predict records it and will not mix its
// maps with float32 ones, and the refusals (a CPU without AVX-512 BF16, the GPU, tf32 on the CPU).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/cpu/conv3x3_bf16.h"
#include "kernels/ops.h"
#include "test_support.h"

namespace seqnet {
namespace {

// Puts the precision back to fp32 when a test ends, however it ends.
struct Bf16Scope {
  Bf16Scope() { ops::set_conv_precision(ops::ConvPrecision::bf16); }
  ~Bf16Scope() { ops::set_conv_precision(ops::ConvPrecision::fp32); }
};

TEST(ConvPrecisionBf16, RunsTheThreeByThreeForwardsAndInputGradientsInBf16AndNothingElse) {
  if (!cpu::conv3x3_bf16_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16 (avx512_bf16): bf16 is refused";
  const Tensor x = test::random_tensor({2, 6, 9, 21}, 41), w3 = test::random_tensor({5, 6, 3, 3}, 42);
  const Tensor w1 = test::random_tensor({7, 6, 1, 1}, 43), b = test::random_tensor({5}, 44);
  Tensor fp32_3 = Tensor::empty({2, 5, 9, 21}), fp32_1 = Tensor::empty({2, 7, 9, 21});
  ops::conv2d_forward(fp32_3, x, w3, &b);
  ops::conv2d_forward(fp32_1, x, w1, nullptr);

  const Tensor dy = test::random_tensor({2, 5, 9, 21}, 45);
  Tensor fp32_dx = Tensor::empty({2, 6, 9, 21}), fp32_dw = Tensor::zeros({5, 6, 3, 3});
  ops::conv2d_backward_input(fp32_dx, dy, w3);
  ops::conv2d_backward_weight(fp32_dw, dy, x);

  Tensor bf16_3 = Tensor::empty({2, 5, 9, 21}), bf16_1 = Tensor::empty({2, 7, 9, 21});
  Tensor bf16_dx = Tensor::empty({2, 6, 9, 21}), bf16_dw = Tensor::zeros({5, 6, 3, 3});
  {
    Bf16Scope bf16;
    EXPECT_EQ(ops::conv_precision(), ops::ConvPrecision::bf16);
    ops::conv2d_forward(bf16_3, x, w3, &b);
    ops::conv2d_forward(bf16_1, x, w1, nullptr);
    ops::conv2d_backward_input(bf16_dx, dy, w3);
    ops::conv2d_backward_weight(bf16_dw, dy, x);
  }
  Tensor kernel = Tensor::empty({2, 5, 9, 21});
  cpu::conv3x3_forward_bf16(kernel.f32(), x.f32(), w3.f32(), b.f32(), 2, 6, 9, 21, 5);
  EXPECT_EQ(bf16_3.to_doubles(), kernel.to_doubles()) << "the 3x3 forward is the bf16 kernel's";
  // The input gradient: the bf16 forward of dy with the weights flipped and transposed,
  // flipped[c][k][u][v] = w[k][c][2-u][2-v].
  Tensor flipped = Tensor::empty({6, 5, 3, 3}), kernel_dx = Tensor::empty({2, 6, 9, 21});
  for (int k = 0; k < 5; ++k)
    for (int c = 0; c < 6; ++c)
      for (int t = 0; t < 9; ++t) flipped.f32()[(c * 5 + k) * 9 + t] = w3.f32()[(k * 6 + c) * 9 + 8 - t];
  cpu::conv3x3_forward_bf16(kernel_dx.f32(), dy.f32(), flipped.f32(), nullptr, 2, 5, 9, 21, 6);
  EXPECT_EQ(bf16_dx.to_doubles(), kernel_dx.to_doubles()) << "the 3x3 input gradient is the bf16 kernel's";
  EXPECT_GT(test::relative_error(bf16_dx, fp32_dx), 1e-4);
  EXPECT_LT(test::relative_error(bf16_dx, fp32_dx), 2e-2);
  EXPECT_EQ(bf16_dw.to_doubles(), fp32_dw.to_doubles()) << "the weight gradient stays float32";
  const double off = test::relative_error(bf16_3, fp32_3);
  EXPECT_GT(off, 1e-4) << "bf16 rounding must show";
  EXPECT_LT(off, 2e-2) << "but stay within bfloat16's precision";
  EXPECT_EQ(bf16_1.to_doubles(), fp32_1.to_doubles()) << "1x1 convolutions stay float32";
  EXPECT_EQ(ops::conv_precision(), ops::ConvPrecision::fp32);
}

TEST(ConvPrecisionBf16, TheEvaluationEpilogueFollowsTheBf16Sums) {
  if (!cpu::conv3x3_bf16_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16 (avx512_bf16): bf16 is refused";
  const Tensor x = test::random_tensor({1, 4, 12, 17}, 51), w = test::random_tensor({6, 4, 3, 3}, 52);
  const Tensor gamma = test::random_tensor({6}, 53), beta = test::random_tensor({6}, 54);
  const Tensor mean = test::random_tensor({6}, 55);
  Tensor var = test::random_tensor({6}, 56);
  for (float* v = var.f32(); v < var.f32() + 6; ++v) *v = std::abs(*v) + 0.1f;
  Bf16Scope bf16;
  Tensor expected = Tensor::empty({1, 6, 12, 17}), fused = Tensor::empty({1, 6, 12, 17});
  ops::conv2d_forward(expected, x, w, nullptr);
  ops::batchnorm_forward_eval(expected, expected, gamma, beta, mean, var, 1e-5);
  ops::relu_forward(expected, expected);
  ops::conv2d_batchnorm_relu_eval(fused, x, w, nullptr, gamma, beta, mean, var, 1e-5);
  EXPECT_LE(test::relative_error(fused, expected), 1e-5);
}

TEST(ConvPrecisionBf16, ACpuWithoutItRefusesNamingWhatItLacks) {
  if (cpu::conv3x3_bf16_supported()) GTEST_SKIP() << "this CPU has AVX-512 BF16: nothing to refuse";
  try {
    ops::set_conv_precision(ops::ConvPrecision::bf16);
    FAIL() << "bf16 accepted without AVX-512 BF16";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("avx512_bf16"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ops::conv_precision(), ops::ConvPrecision::fp32) << "a refused setting changes nothing";
}

// The command line: each precision on the wrong device is a usage error (exit 2) saying why.
TEST(ConvPrecisionBf16, TheWrongDeviceIsAUsageError) {
  test::TempDir dir;
  const std::string out = dir.str("out.txt");
  EXPECT_EQ(test::run_seqnet("bench --conv-precision bf16 --device cuda --steps 1", out, out), 2) << test::read_text(out);
  EXPECT_NE(test::read_text(out).find("bf16 is the CPU's"), std::string::npos) << test::read_text(out);
  EXPECT_EQ(test::run_seqnet("bench --conv-precision tf32 --device cpu --steps 1", out, out), 2) << test::read_text(out);
  EXPECT_NE(test::read_text(out).find("tf32 is the GPU's"), std::string::npos) << test::read_text(out);
  EXPECT_EQ(test::run_seqnet("bench --conv-precision fp16 --device cpu --steps 1", out, out), 2) << test::read_text(out);
}

// predict records bf16 in predict.json and will not add float32 maps to a folder of bf16 ones.
TEST(ConvPrecisionBf16, PredictRecordsItAndKeepsThePrecisionsApart) {
  if (!cpu::conv3x3_bf16_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16 (avx512_bf16): bf16 is refused";
  test::TempDir dir;
  const std::string log = dir.str("log.txt");
  ASSERT_EQ(test::run_seqnet("synth -o " + dir.str("data") + " -n 3 --size 96x96 --seed 3", log, log), 0)
      << test::read_text(log);
  const std::string predict = "predict -i " + dir.str("data/images") + " -o " + dir.str("maps") +
                              " --device cpu --width 4 --depth 2 --refine-depth 2 --seg-iterations 1"
                              " --cls-iterations 1 --size 64 --weights ";
  // Weights of a tiny untrained model, from a zero-step training run.
  ASSERT_EQ(test::run_seqnet("train --data " + dir.str("data") + " -o " + dir.str("run") +
                                 " --width 4 --depth 2 --refine-depth 2 --seg-iterations 1 --cls-iterations 1"
                                 " --size 64 --crop 32 --batch 1 --crops-per-image 1 --epochs 1 --steps-per-epoch 1 --device cpu --workers 1",
                             log, log),
            0)
      << test::read_text(log);
  // The run records its precision; a resumed run keeps it, and another one is refused.
  const auto settings = nlohmann::json::parse(test::read_text(dir.str("run/settings.json")));
  EXPECT_EQ(settings.value("conv_precision", ""), "fp32");
  const std::string weights = dir.str("run/last.safetensors");
  ASSERT_EQ(test::run_seqnet(predict + weights + " --conv-precision bf16", log, log), 0) << test::read_text(log);
  const auto record = nlohmann::json::parse(test::read_text(dir.str("maps/predict.json")));
  EXPECT_EQ(record.value("conv_precision", ""), "bf16");
  EXPECT_EQ(test::run_seqnet(predict + weights, log, log), 2) << test::read_text(log);
  EXPECT_NE(test::read_text(log).find("conv_precision"), std::string::npos) << test::read_text(log);
}

TEST(ConvPrecisionBf16, ATrainingRunKeepsItsPrecisionOnResume) {
  if (!cpu::conv3x3_bf16_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16 (avx512_bf16): bf16 is refused";
  test::TempDir dir;
  const std::string log = dir.str("log.txt");
  ASSERT_EQ(test::run_seqnet("synth -o " + dir.str("data") + " -n 3 --size 96x96 --seed 4", log, log), 0);
  const std::string run = dir.str("run");
  ASSERT_EQ(test::run_seqnet("train --data " + dir.str("data") + " -o " + run +
                                 " --width 4 --depth 2 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 64"
                                 " --crop 32 --batch 1 --crops-per-image 1 --epochs 1 --steps-per-epoch 2 --device cpu"
                                 " --workers 1 --conv-precision bf16",
                             log, log),
            0)
      << test::read_text(log);
  EXPECT_EQ(nlohmann::json::parse(test::read_text(run + "/settings.json")).value("conv_precision", ""), "bf16");
  ASSERT_EQ(test::run_seqnet("train -o " + run + " --resume --epochs 2 --device cpu", log, log), 0) << test::read_text(log);
  EXPECT_EQ(nlohmann::json::parse(test::read_text(run + "/settings.json")).value("conv_precision", ""), "bf16");
  EXPECT_EQ(test::run_seqnet("train -o " + run + " --resume --epochs 3 --device cpu --conv-precision fp32", log, log), 2);
  EXPECT_NE(test::read_text(log).find("--conv-precision \"fp32\" conflicts"), std::string::npos) << test::read_text(log);
}

}  // namespace
}  // namespace seqnet
