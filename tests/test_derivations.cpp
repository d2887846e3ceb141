// test_derivations.cpp: the worked examples of docs/DERIVATIONS.md, number for number: the 4x4
// im2col example and its backward pass, one batch-norm channel, one max-pool and one transposed
// convolution, each by the fast kernel and by the plain loop (kernels/cpu/reference*.h); and batch
// norm's refusal to run a backward pass after an evaluation-mode forward.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv_transpose2x2.h"
#include "kernels/cpu/maxpool2x2.h"
#include "kernels/cpu/reference.h"
#include "kernels/cpu/reference_layers.h"
#include "layers/batchnorm2d.h"
#include "model/summary.h"
#include "test_support.h"

namespace seqnet {
namespace {

// One channel, a 4x4 image holding 1..16, the Laplacian kernel, no bias: inside, the Laplacian
// of a linear ramp is 0; the zero padding makes the borders non-zero.
TEST(Derivations, Im2colWorkedExample) {
  std::vector<float> x(16), w = {0, 1, 0, 1, -4, 1, 0, 1, 0};
  for (int i = 0; i < 16; ++i) x[i] = float(i + 1);
  const std::vector<float> by_hand = {3, 2, 1, -5, -4, 0, 0, -9, -8, 0, 0, -13, -29, -18, -19, -37};
  std::vector<float> y(16), y_fast(16), workspace(cpu::conv2d_workspace_size(1, 4, 4, 3));
  cpu::reference::conv2d_forward(y.data(), x.data(), w.data(), static_cast<const float*>(nullptr), 1, 1, 4, 4, 1, 3);
  cpu::conv2d_forward(y_fast.data(), x.data(), w.data(), static_cast<const float*>(nullptr), workspace.data(), 1, 1, 4,
                      4, 1, 3);
  EXPECT_EQ(y, by_hand);
  EXPECT_EQ(y_fast, by_hand);
}

// The same example backward, with dY = 1 at pixel (0,0) and 2 at pixel (2,2), 0 elsewhere.
TEST(Derivations, ConvolutionBackwardWorkedExample) {
  std::vector<float> x(16), w = {0, 1, 0, 1, -4, 1, 0, 1, 0}, dy(16, 0.0f);
  for (int i = 0; i < 16; ++i) x[i] = float(i + 1);
  dy[0] = 1;
  dy[10] = 2;
  const std::vector<float> dx_by_hand = {-4, 1, 0, 0, 1, 0, 2, 0, 0, 2, -8, 2, 0, 0, 2, 0};
  const std::vector<float> dw_by_hand = {12, 14, 16, 20, 23, 26, 28, 35, 38};
  const float db_by_hand = 3;

  // By col2im: dcols = Wm^T dY (9 x 16), then entry ((u,v), q) added to the pixel it was copied from.
  std::vector<float> dcols(9 * 16), dx_col2im(16, 0.0f);
  for (int t = 0; t < 9; ++t)
    for (int q = 0; q < 16; ++q) dcols[t * 16 + q] = w[t] * dy[q];
  for (int t = 0; t < 9; ++t)
    for (int q = 0; q < 16; ++q) {
      const int a = q / 4 + t / 3 - 1, b = q % 4 + t % 3 - 1;
      if (a >= 0 && a < 4 && b >= 0 && b < 4) dx_col2im[a * 4 + b] += dcols[t * 16 + q];
    }
  EXPECT_EQ(dx_col2im, dx_by_hand);
  // By the flipped kernel: the forward convolution of dY with w turned by 180 degrees.
  std::vector<float> flipped(w.rbegin(), w.rend()), dx_flipped(16), dx_ref(16), dx_fast(16);
  std::vector<float> workspace(cpu::conv2d_workspace_size(1, 4, 4, 3));
  cpu::reference::conv2d_forward(dx_flipped.data(), dy.data(), flipped.data(), static_cast<const float*>(nullptr), 1, 1,
                                 4, 4, 1, 3);
  cpu::reference::conv2d_backward_input(dx_ref.data(), dy.data(), w.data(), 1, 1, 4, 4, 1, 3);
  cpu::conv2d_backward_input(dx_fast.data(), dy.data(), w.data(), workspace.data(), 1, 1, 4, 4, 1, 3);
  EXPECT_EQ(dx_flipped, dx_by_hand);
  EXPECT_EQ(dx_ref, dx_by_hand);
  EXPECT_EQ(dx_fast, dx_by_hand);

  // dW = dY cols^T: the input patches at the two pixels, weighted 1 and 2.
  std::vector<float> dw_ref(9, 0.0f), dw_fast(9, 0.0f), db(1, 0.0f);
  cpu::reference::conv2d_backward_weight(dw_ref.data(), dy.data(), x.data(), 1, 1, 4, 4, 1, 3);
  cpu::conv2d_backward_weight(dw_fast.data(), dy.data(), x.data(), workspace.data(), 1, 1, 4, 4, 1, 3);
  cpu::bias_backward(db.data(), dy.data(), 1, 1, 16);
  EXPECT_EQ(dw_ref, dw_by_hand);
  EXPECT_EQ(dw_fast, dw_by_hand);
  EXPECT_EQ(db[0], db_by_hand);
}

// |a - printed| within half a unit of the printed value's last digit.
void expect_printed(const std::vector<double>& values, const std::vector<double>& printed, double half_unit) {
  ASSERT_EQ(values.size(), printed.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(values[i], printed[i], half_unit) << "element " << i;
}

// One channel of four values, x = 1 3 5 7, gamma 2, beta 1; dy = 1 0 0 0.
TEST(Derivations, BatchNormChannelWorkedExample) {
  const std::vector<double> x = {1, 3, 5, 7}, gamma = {2}, beta = {1}, dy = {1, 0, 0, 0};
  for (bool plain : {false, true}) {
    SCOPED_TRACE(plain ? "plain loop" : "fast kernel");
    std::vector<double> y(4), mean(1), rstd(1), rm(1, 0.0), rv(1, 1.0), dx(4), dgamma(1, 0.0), dbeta(1, 0.0);
    if (plain) {
      cpu::reference::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), rm.data(), rv.data(), x.data(),
                                              gamma.data(), beta.data(), 1, 1, 4, 1e-5, 0.1);
      cpu::reference::batchnorm_backward(dx.data(), dgamma.data(), dbeta.data(), dy.data(), x.data(), gamma.data(),
                                         mean.data(), rstd.data(), 1, 1, 4);
    } else {
      cpu::batchnorm_forward_train(y.data(), mean.data(), rstd.data(), rm.data(), rv.data(), x.data(), gamma.data(),
                                   beta.data(), 1, 1, 4, 1e-5, 0.1);
      cpu::batchnorm_backward(dx.data(), dgamma.data(), dbeta.data(), dy.data(), x.data(), gamma.data(), mean.data(),
                              rstd.data(), 1, 1, 4);
    }
    expect_printed(mean, {4}, 0);
    expect_printed(rstd, {0.447213}, 5e-7);
    expect_printed(y, {-1.683279, 0.105574, 1.894426, 3.683279}, 5e-7);
    expect_printed(rm, {0.4}, 1e-15);
    expect_printed(rv, {1.566667}, 5e-7);  // 0.9 + 0.1 * 5 * 4/3
    expect_printed(dx, {0.268329, -0.357770, -0.089443, 0.178884}, 5e-7);
    expect_printed(dgamma, {-1.341639}, 5e-7);
    expect_printed(dbeta, {1}, 0);
  }
}

// One 4x4 plane with ties: the first maximum in row-major order wins and takes the gradient.
TEST(Derivations, MaxPoolWorkedExample) {
  const std::vector<float> x = {1, 3, 2, 2,  //
                                4, 2, 0, 1,  //
                                5, 5, 7, 0,  //
                                1, 0, 6, 8};
  const std::vector<float> dy = {1, 2, 3, 4}, dx_by_hand = {0, 0, 2, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 4};
  for (bool plain : {false, true}) {
    std::vector<float> y(4), dx(16, 9.0f);
    std::vector<int32_t> argmax(4);
    if (plain) {
      cpu::reference::maxpool2x2_forward(y.data(), argmax.data(), x.data(), 1, 1, 4, 4);
      cpu::reference::maxpool2x2_backward(dx.data(), dy.data(), argmax.data(), 1, 1, 4, 4);
    } else {
      cpu::maxpool2x2_forward(y.data(), argmax.data(), x.data(), 1, 1, 4, 4);
      cpu::maxpool2x2_backward(dx.data(), dy.data(), argmax.data(), 1, 1, 4, 4);
    }
    EXPECT_EQ(y, (std::vector<float>{4, 2, 5, 8})) << plain;
    EXPECT_EQ(argmax, (std::vector<int32_t>{4, 2, 8, 15})) << plain;
    EXPECT_EQ(dx, dx_by_hand) << plain;
  }
}

// A 2x2 image 1 2 / 3 4, one channel in and out, w = 1 0 / -1 2, b = 0.5.
TEST(Derivations, TransposedConvolutionWorkedExample) {
  const std::vector<float> x = {1, 2, 3, 4}, w = {1, 0, -1, 2}, b = {0.5f};
  const std::vector<float> y_by_hand = {1.5f,  0.5f, 2.5f,  0.5f,  //
                                        -0.5f, 2.5f, -1.5f, 4.5f,  //
                                        3.5f,  0.5f, 4.5f,  0.5f,  //
                                        -2.5f, 6.5f, -3.5f, 8.5f};
  const std::vector<float> dy = {1, 0, 0, 1,  //
                                 0, 1, 0, 0,  //
                                 0, 0, 2, 0,  //
                                 1, 0, 0, 0};
  const std::vector<float> dx_by_hand = {3, 0, -1, 2}, dw_by_hand = {9, 2, 3, 1};
  std::vector<float> y(16), y_ref(16), dx(4), dx_ref(4), dw(4, 0.0f), dw_ref(4, 0.0f), db(1, 0.0f);
  std::vector<float> workspace(cpu::conv_transpose2x2_workspace_size(1, 2, 2));
  cpu::conv_transpose2x2_forward(y.data(), x.data(), w.data(), b.data(), workspace.data(), 1, 1, 2, 2, 1);
  cpu::conv_transpose2x2_backward_input(dx.data(), dy.data(), w.data(), workspace.data(), 1, 1, 2, 2, 1);
  cpu::conv_transpose2x2_backward_weight(dw.data(), dy.data(), x.data(), workspace.data(), 1, 1, 2, 2, 1);
  cpu::bias_backward(db.data(), dy.data(), 1, 1, 16);
  cpu::reference::conv_transpose2x2_forward(y_ref.data(), x.data(), w.data(), b.data(), 1, 1, 2, 2, 1);
  cpu::reference::conv_transpose2x2_backward_input(dx_ref.data(), dy.data(), w.data(), 1, 1, 2, 2, 1);
  cpu::reference::conv_transpose2x2_backward_weight(dw_ref.data(), dy.data(), x.data(), 1, 1, 2, 2, 1);
  EXPECT_EQ(y, y_by_hand);
  EXPECT_EQ(y_ref, y_by_hand);
  EXPECT_EQ(dx, dx_by_hand);
  EXPECT_EQ(dx_ref, dx_by_hand);
  EXPECT_EQ(dw, dw_by_hand);
  EXPECT_EQ(dw_ref, dw_by_hand);
  EXPECT_EQ(db[0], 6.0f);
}

// Section 15's receptive fields: `seqnet summary`'s rows walked in forward order with r += 2j per
// 3x3 conv, r += j and j *= 2 per pool, j /= 2 per transposed conv (the path through the deepest
// level); the page's two tables must hold the results.
TEST(Derivations, ReceptiveFieldsAreTheModels) {
  const ModelConfig config;
  const ModelSummary s = summarize_model(config, 1, 576, 576);
  int64_t r = 1, j = 1;
  std::map<int, int64_t> encoder, decoder;
  std::vector<int64_t> outputs;  // after each UNet's and each refiner iteration's dec.0
  for (const SummaryRow& row : s.rows) {
    if (row.type == "Conv2d 3x3") r += 2 * j;
    if (row.type.rfind("MaxPool2d", 0) == 0) r += j, j *= 2;
    if (row.type.rfind("ConvTranspose2d", 0) == 0) j /= 2;
    for (int l = 0; l < config.depth; ++l) {
      if (row.path == "seg.unet.enc." + std::to_string(l) + ".conv2") encoder[l] = r;
      if (row.path == "seg.unet.dec." + std::to_string(l) + ".conv2") decoder[l] = r;
    }
    if (row.path.size() > 12 && row.path.substr(row.path.size() - 12) == ".dec.0.conv2") outputs.push_back(r);
  }
  const std::string page = test::read_text(std::string(SEQNET_SOURCE_DIR) + "/docs/DERIVATIONS.md");
  for (int l = 0; l < config.depth; ++l) {
    const int size = 576 >> l;
    const std::string row = "| " + std::to_string(l) + " | " + std::to_string(size) + "x" + std::to_string(size) +
                            " | " + std::to_string(encoder[l]) + " | " +
                            (decoder.count(l) ? std::to_string(decoder[l]) : "-") + " |";
    EXPECT_NE(page.find(row), std::string::npos) << "docs/DERIVATIONS.md should have the row " << row;
  }
  const int seg_heads = config.seg_iterations + 1;
  ASSERT_EQ(outputs.size(), size_t(seg_heads + config.cls_iterations + 1));
  for (size_t k = 0; k < outputs.size(); ++k) {
    const bool seg = int(k) < seg_heads;
    const std::string row = std::string("| ") + (seg ? "seg" : "cls") + ".heads." +
                            std::to_string(seg ? k : k - seg_heads) + " | " + std::to_string(outputs[k]) + " |";
    EXPECT_NE(page.find(row), std::string::npos) << "docs/DERIVATIONS.md should have the row " << row;
  }
}

TEST(Derivations, BatchNormHasNoEvaluationBackward) {
  ParameterStore store;
  BatchNorm2d bn(store, "bn", 2);
  store.allocate(Device::cpu, DType::f64, 1);
  const Tensor x = test::random_tensor({1, 2, 3, 3}, 5, DType::f64);
  bn.forward(x, Mode{false, 0});
  Tensor dy = test::random_tensor({1, 2, 3, 3}, 6, DType::f64);
  EXPECT_THROW(bn.backward(dy), std::logic_error);
}

}  // namespace
}  // namespace seqnet
