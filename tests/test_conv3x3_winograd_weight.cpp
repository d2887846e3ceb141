// test_conv3x3_winograd_weight.cpp: the Winograd weight gradient (kernels/cpu/conv3x3_winograd_weight.h)
// against the float64 reference, every weight held to the error bound its header derives, with
// the transforms in each instruction set this CPU has; its += (dw starts non-zero); the same bits
// on every run and thread count; and conv2d.h running it under a forced SEQNET_CONV=winograd.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv3x3_algorithm.h"
#include "kernels/cpu/conv3x3_winograd_weight.h"
#include "kernels/cpu/reference.h"
#include "test_support.h"

namespace seqnet::cpu {
namespace {

struct Shape {
  int N, C, H, W, K;
};

std::string name(const Shape& s) {
  return "N" + std::to_string(s.N) + " C" + std::to_string(s.C) + " " + std::to_string(s.H) + "x" +
         std::to_string(s.W) + " K" + std::to_string(s.K);
}

// Odd and even H and W (a dropped last row or column of dY), planes 1 and 2 high or wide, N > 1,
// channel counts that are not multiples of 16; a deep, small plane (N2 C64 K32 16x16); blocks of
// several images, of part of one (one tile row each: C48 K40 600 wide), and of tile rows across two
// images with a short last block (N5 C200 K150 9x8: blocks of 13 of the 25 tile rows; N1 C70 K80
// 13x127: 3, 3, 1 tile rows).
const Shape kShapes[] = {{1, 1, 1, 1, 1},      {1, 1, 2, 2, 1},     {2, 3, 1, 9, 4},     {2, 3, 8, 1, 4},
                         {2, 5, 2, 7, 3},      {3, 2, 9, 2, 5},     {2, 3, 5, 17, 15},   {3, 5, 37, 29, 7},
                         {2, 17, 19, 33, 18},  {2, 64, 16, 16, 32}, {1, 48, 3, 600, 40}, {5, 200, 9, 8, 150},
                         {1, 70, 13, 127, 80}, {4, 16, 41, 130, 16}};

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(n);
  for (float& e : v) e = normal(rng);
  return v;
}

// S of the header's bound for every weight (K, C, 3, 3): over images and tiles, the products
// |dY[a][b]| |d[p][q]| of the tile's 2x2 gradient block and 4x4 input patch (zero outside the
// plane and past H, W), weighted by alpha(a,p,u) alpha(b,q,v), alpha = sum_r |G[r][u]| |A[r][a]| |B^T[r][p]|.
std::vector<double> bound_sums(const std::vector<float>& dy, const std::vector<float>& x, const Shape& s) {
  const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  const double AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
  const double BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  double alpha[2][4][3] = {};
  for (int a = 0; a < 2; ++a)
    for (int p = 0; p < 4; ++p)
      for (int u = 0; u < 3; ++u)
        for (int r = 0; r < 4; ++r) alpha[a][p][u] += std::fabs(G[r][u]) * std::fabs(AT[a][r]) * std::fabs(BT[r][p]);
  const int64_t HW = int64_t(s.H) * s.W;
  const auto at = [&](const std::vector<float>& t, int channels, int n, int ch, int i, int j) {
    if (i < 0 || i >= s.H || j < 0 || j >= s.W) return 0.0;
    return std::fabs(double(t[(int64_t(n) * channels + ch) * HW + int64_t(i) * s.W + j]));
  };
  std::vector<double> S(size_t(s.K) * s.C * 9, 0.0);
  for (int n = 0; n < s.N; ++n)
    for (int ti = 0; ti < (s.H + 1) / 2; ++ti)
      for (int tj = 0; tj < (s.W + 1) / 2; ++tj)
        for (int c = 0; c < s.C; ++c) {
          // D[u][v][a][b] = sum_{p,q} alpha(a,p,u) alpha(b,q,v) |d[p][q]|
          double d[4][4], D[3][3][2][2] = {};
          for (int p = 0; p < 4; ++p)
            for (int q = 0; q < 4; ++q) d[p][q] = at(x, s.C, n, c, 2 * ti - 1 + p, 2 * tj - 1 + q);
          for (int u = 0; u < 3; ++u)
            for (int v = 0; v < 3; ++v)
              for (int a = 0; a < 2; ++a)
                for (int b = 0; b < 2; ++b)
                  for (int p = 0; p < 4; ++p)
                    for (int q = 0; q < 4; ++q) D[u][v][a][b] += alpha[a][p][u] * alpha[b][q][v] * d[p][q];
          for (int k = 0; k < s.K; ++k) {
            double g[2][2];
            for (int a = 0; a < 2; ++a)
              for (int b = 0; b < 2; ++b) g[a][b] = at(dy, s.K, n, k, 2 * ti + a, 2 * tj + b);
            double* out = S.data() + (int64_t(k) * s.C + c) * 9;
            for (int uv = 0; uv < 9; ++uv)
              for (int a = 0; a < 2; ++a)
                for (int b = 0; b < 2; ++b) out[uv] += g[a][b] * D[uv / 3][uv % 3][a][b];
          }
        }
  return S;
}

// The instruction sets to run the transforms in: the base one (nullopt) and each this CPU has.
std::vector<std::optional<Conv3x3Isa>> isas_to_check() {
  std::vector<std::optional<Conv3x3Isa>> isas{std::nullopt};
  for (Conv3x3Isa isa : kConv3x3Isas) {
    if (conv3x3_isa_supported(isa))
      isas.push_back(isa);
    else
      std::printf("[ SKIPPED  ] the Winograd weight gradient's transforms in %s: this CPU lacks it\n",
                  conv3x3_isa_name(isa));
  }
  return isas;
}

std::string isa_name(std::optional<Conv3x3Isa> isa) {
  return isa ? conv3x3_isa_name(*isa) : "the base instruction set";
}

// Every weight within the header's bound of dw0 + the float64 reference; dw starts at dw0 != 0.
TEST(Conv3x3WinogradWeight, MatchesFloat64WithinItsErrorBound) {
  const auto isas = isas_to_check();
  for (const Shape& s : kShapes) {
    const int64_t HW = int64_t(s.H) * s.W;
    const auto x = random_floats(size_t(s.N) * s.C * HW, 1), dy = random_floats(size_t(s.N) * s.K * HW, 2);
    const auto dw0 = random_floats(size_t(s.K) * s.C * 9, 3);
    std::vector<double> reference(dw0.begin(), dw0.end()), xd(x.begin(), x.end()), dyd(dy.begin(), dy.end());
    reference::conv2d_backward_weight(reference.data(), dyd.data(), xd.data(), s.N, s.C, s.H, s.W, s.K, 3);
    const std::vector<double> S = bound_sums(dy, x, s);
    const double u = 0x1p-24, n = double(s.N) * ((s.H + 1) / 2) * ((s.W + 1) / 2);
    const double g2 = 2 * u + u * u, gn = n * u / (1 - n * u);
    const double epsilon = (1 + g2) * (1 + g2) * (1 + gn) - 1;
    for (std::optional<Conv3x3Isa> isa : isas) {
      SCOPED_TRACE(name(s) + ", transforms in " + isa_name(isa));
      std::vector<float> dw = dw0;
      conv3x3_weight_gradient_winograd_with(isa, dw.data(), dy.data(), x.data(), s.N, s.C, s.H, s.W, s.K);
      double worst_fraction = 0;
      for (size_t e = 0; e < dw.size(); ++e) {
        // The last term: the double filter transform's and addition's roundings, generously.
        const double bound =
            epsilon * (1 + u) * S[e] + u * std::fabs(reference[e]) + 0x1p-48 * (S[e] + std::fabs(reference[e]));
        const double error = std::fabs(dw[e] - reference[e]);
        ASSERT_LE(error, bound) << "weight " << e << " (k " << e / 9 / s.C << " c " << e / 9 % s.C << " tap "
                                << e % 9 << ")";
        worst_fraction = std::max(worst_fraction, error / bound);
      }
      // As the other float kernels (tests/test_cpu_kernels.cpp): float rounding over the reduction.
      EXPECT_LE(test::relative_error(std::vector<double>(dw.begin(), dw.end()), reference), 1e-5);
      if (isa == isas.back()) std::printf("%s: largest error %.1e of its bound\n", name(s).c_str(), worst_fraction);
    }
  }
}

// The same bits twice, and on 1, 2 and 3 threads: each GEMM runs on one thread, block after block.
TEST(Conv3x3WinogradWeight, SameBitsOnEveryRunAndThreadCount) {
  const int threads_before = omp_get_max_threads();
  for (const Shape& s : {Shape{5, 200, 9, 8, 150}, Shape{1, 70, 13, 127, 80}, Shape{3, 5, 37, 29, 7}}) {
    SCOPED_TRACE(name(s));
    const int64_t HW = int64_t(s.H) * s.W;
    const auto x = random_floats(size_t(s.N) * s.C * HW, 4), dy = random_floats(size_t(s.N) * s.K * HW, 5);
    const auto dw0 = random_floats(size_t(s.K) * s.C * 9, 6);
    std::vector<float> first = dw0;
    conv3x3_weight_gradient_winograd(first.data(), dy.data(), x.data(), s.N, s.C, s.H, s.W, s.K);
    for (int threads : {threads_before, 1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<float> again = dw0;
      conv3x3_weight_gradient_winograd(again.data(), dy.data(), x.data(), s.N, s.C, s.H, s.W, s.K);
      EXPECT_EQ(again, first) << "on " << threads << " threads";
    }
    omp_set_num_threads(threads_before);
  }
}

// conv2d.h's weight gradient runs it when Winograd is forced, adding to dw like the other
// algorithms (two calls add the gradient twice, in the kernel's own rounding).
TEST(Conv3x3WinogradWeight, RunsThroughConv2dWhenForced) {
  const Shape s{2, 64, 16, 16, 32};
  const int64_t HW = int64_t(s.H) * s.W;
  const auto x = random_floats(size_t(s.N) * s.C * HW, 7), dy = random_floats(size_t(s.N) * s.K * HW, 8);
  const auto dw0 = random_floats(size_t(s.K) * s.C * 9, 9);
  std::vector<float> expected = dw0, through_conv2d = dw0, workspace(conv2d_workspace_size(s.C, s.H, s.W, 3));
  for (int call = 0; call < 2; ++call)
    conv3x3_weight_gradient_winograd(expected.data(), dy.data(), x.data(), s.N, s.C, s.H, s.W, s.K);
  force_conv3x3_algorithm(Conv3x3Algorithm::winograd);
  for (int call = 0; call < 2; ++call)
    conv2d_backward_weight(through_conv2d.data(), dy.data(), x.data(), workspace.data(), s.N, s.C, s.H, s.W, s.K, 3);
  force_conv3x3_algorithm(std::nullopt);
  EXPECT_EQ(through_conv2d, expected);
}

}  // namespace
}  // namespace seqnet::cpu
