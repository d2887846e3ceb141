// count_conv3x3.cpp: one pass of a direct 3x3 kernel in the instruction set this CPU uses (NEON on
// aarch64) at one shape, nothing else, for instruction counts under qemu-aarch64
// (scripts/count-arm64-instructions.sh). Not a benchmark: no timing, one run.
//   count_conv3x3 forward|input|weight N C W H   (K = C; prints the multiply-adds N*C*K*H*W*9)
// forward: y = conv3x3(x, w) + b; input: the input gradient as conv2d.cpp computes it with the
// direct kernel (the flipped weights through the same tile); weight: the direct weight gradient.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv3x3_algorithm.h"
#include "kernels/cpu/conv3x3_direct.h"
#include "kernels/cpu/conv3x3_weight_direct.h"

int main(int argc, char** argv) {
  using namespace seqnet::cpu;
  const std::string pass = argc == 6 ? argv[1] : "";
  if (pass != "forward" && pass != "input" && pass != "weight") {
    std::fprintf(stderr, "usage: %s forward|input|weight N C W H\n", argv[0]);
    return 2;
  }
  const auto isa = conv3x3_direct_isa();
  if (!isa) {
    std::fprintf(stderr, "count_conv3x3: this CPU has no direct 3x3 kernel (AVX2, AVX-512 or NEON)\n");
    return 1;
  }
  const int N = std::atoi(argv[2]), C = std::atoi(argv[3]), W = std::atoi(argv[4]), H = std::atoi(argv[5]), K = C;
  const size_t planes = size_t(H) * W;
  std::vector<float> x(N * C * planes, 0.5f), y(N * K * planes), w(size_t(K) * C * 9, 0.25f), b(K, 0.1f);
  if (pass == "forward") {
    conv3x3_forward_direct_with(*isa, y.data(), x.data(), w.data(), b.data(), N, C, H, W, K);
  } else if (pass == "input") {
    force_conv3x3_algorithm(Conv3x3Algorithm::direct);
    std::vector<float> workspace(conv2d_workspace_size(C, H, W, 3));
    conv2d_backward_input(x.data(), y.data(), w.data(), workspace.data(), N, C, H, W, K, 3);
  } else {
    conv3x3_weight_gradient_direct_with(*isa, w.data(), y.data(), x.data(), N, C, H, W, K);
  }
  std::printf("%s %s N=%d C=K=%d W=%d H=%d: %.0f multiply-adds\n", conv3x3_isa_name(*isa), pass.c_str(), N, C, W, H,
              double(N) * C * K * H * W * 9);
  return 0;
}
