// distributed_support.h: what the data-parallel tests share (test_distributed.cpp on the CPU,
// cuda/test_cuda_distributed.cpp on the CUDA path): the tiny training run, starting seqnet on R
// ranks or alone, and comparing the weights two runs end with.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "test_support.h"

// SEQNET_MPIEXEC is mpirun's path, defined for the files that use this header when seqnet was
// built with MPI (tests/CMakeLists.txt).
#ifdef SEQNET_MPIEXEC
#define SEQNET_REQUIRE_MPI()
#else
#define SEQNET_REQUIRE_MPI() GTEST_SKIP() << "seqnet was built without MPI (SEQNET_MPI): no data-parallel tests"
#define SEQNET_MPIEXEC ""
#endif

namespace seqnet::test {

// The tiny model of the other trainer tests, batch 6 = 6 images of 1 crop: 1, 2 and 3 ranks all
// divide it. Two epochs of three steps.
inline std::string tiny_run(const std::string& data, const std::string& extra) {
  return "train --data " + data +
         " --width 4 --depth 3 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 64 --crop 32"
         " --batch 6 --crops-per-image 1 --epochs 2 --steps-per-epoch 3 --seed 7 --log-every 1 --val-fraction 0.2"
         " --workers 1 " + extra;
}

// Every run here is compared with other runs, which are processes of their own: left to measure,
// each process (and each rank) picks its own fastest 3x3 algorithm per shape
// (kernels/cpu/conv3x3_algorithm.h), and two of them can pick differently and round differently
// (seen under AddressSanitizer, whose instrumentation reorders the timings). Fix one.
inline const std::string kFixedConvolution = "SEQNET_CONV=gemm";

// `seqnet ARGS` on `ranks` MPI ranks, one OpenMP thread each (this machine has two cores); output
// and errors into `log`. Returns mpirun's exit status.
inline int run_on_ranks(int ranks, const std::string& args, const std::string& log) {
  const std::string launcher = std::string(SEQNET_MPIEXEC) + (geteuid() == 0 ? " --allow-run-as-root" : "") +
                               " --oversubscribe -x OMP_NUM_THREADS=1 -x " + kFixedConvolution + " -np " +
                               std::to_string(ranks) + " ";
  const int status = std::system((launcher + SEQNET_PROGRAM + " " + args + " >" + log + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline int run_alone(const std::string& args, const std::string& log) {
  const int status = std::system((kFixedConvolution + " " + SEQNET_PROGRAM + " " + args + " >" + log + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Every weight (not the optimizer state) of a checkpoint, in name order.
inline std::vector<double> weights_of(const std::string& checkpoint) {
  std::vector<double> all;
  for (const auto& [name, tensor] : read_safetensors(checkpoint).tensors) {
    if (name.rfind("optimizer.", 0) == 0) continue;
    const std::vector<double> v = tensor.to_doubles();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

inline std::vector<double> logged_losses(const std::string& run) {
  std::vector<double> losses;
  std::ifstream log(run + "/log.jsonl");
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["event"] == "step") losses.push_back(j["loss"]);
  }
  return losses;
}

// How far R ranks may drift from one process. The crops are the same and so is the math; only
// the order of summing the gradients differs (R partial sums, then the all-reduce, against one
// sum), which float32 rounds differently (eps 1.2e-7 per addition). Adam then divides every
// gradient by its own root mean square, so no weight moves more than about lr per step, and two
// runs can differ by at most 2 * lr * steps in any weight (a scale mistake, a sum instead of a
// mean, moves the weights by that much).
//  - Without normalisation the rounding stays near rounding level: after 6 steps 1.5e-8 relative
//    (2 ranks, and 3 ranks with the 3x3 algorithms the machine measured) and 1.5e-6 (3 ranks, all
//    convolutions through im2col + OpenBLAS, whose blocking sums the weight gradient over the
//    pixels in an order that depends on the batch per rank: max |difference| 6.7e-6, a few
//    weights whose gradient is near zero, which Adam scales up). 1e-5 allows for that; a crop
//    counted twice or left out changes the gradient's direction, and Adam moves the weights it
//    touches by up to lr per step.
//  - With batch-norm, every weight of a convolution that feeds a batch-norm has a gradient
//    direction that is zero in exact arithmetic (the normalisation removes it); Adam scales
//    that rounding noise up to lr-sized steps, so the runs drift apart step by step: 4e-8 after
//    one step, 5e-5 after 4 steps (measured). Statistics per rank instead of synchronised (what a
//    broken --sync-batchnorm gives) differ by 1.5e-2 after 4 steps and 2e-3 in the first loss.
constexpr double kLr = 1e-3;
constexpr double kNoNormRelativeError = 1e-5;
constexpr double kBatchNormRelativeError = 1e-3;
constexpr double kBatchNormFirstLossRelativeError = 1e-5;

inline void expect_same_weights(const std::string& a, const std::string& b, int steps, double relative) {
  const std::vector<double> wa = weights_of(a), wb = weights_of(b);
  ASSERT_EQ(wa.size(), wb.size());
  double max_difference = 0;
  for (size_t i = 0; i < wa.size(); ++i) max_difference = std::max(max_difference, std::abs(wa[i] - wb[i]));
  const double error = relative_error(wa, wb);
  std::printf("%s against %s: max |difference| %.3g, relative %.3g\n", b.c_str(), a.c_str(), max_difference, error);
  EXPECT_LE(max_difference, 2 * steps * kLr) << a << " against " << b;
  EXPECT_LE(error, relative) << a << " against " << b;
}

}  // namespace seqnet::test
