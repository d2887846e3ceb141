// test_distributed.cpp: data-parallel training under mpirun (train/distributed.h) against one
// process: without batch-norm (and with --sync-batchnorm) R ranks give the weights of one process
// with the same global batch; with per-rank batch-norm the losses stay close and fall; a killed
// rank ends the job and --resume continues it exactly. Skipped, saying so, where seqnet was built
// without MPI.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "synth/fundus.h"
#include "test_support.h"

namespace seqnet {
namespace {

namespace fs = std::filesystem;

#ifdef SEQNET_MPIEXEC
#define SEQNET_REQUIRE_MPI()
#else
#define SEQNET_REQUIRE_MPI() GTEST_SKIP() << "seqnet was built without MPI (SEQNET_MPI): no data-parallel tests"
#define SEQNET_MPIEXEC ""
#endif

// The tiny model of the other trainer tests, batch 6 = 6 images of 1 crop: 1, 2 and 3 ranks all
// divide it. Two epochs of three steps.
std::string tiny_run(const std::string& data, const std::string& extra) {
  return "train --data " + data +
         " --width 4 --depth 3 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 64 --crop 32"
         " --batch 6 --crops-per-image 1 --epochs 2 --steps-per-epoch 3 --seed 7 --log-every 1 --val-fraction 0.2"
         " --workers 1 " + extra;
}

// Every run here is compared with other runs, which are processes of their own: left to measure,
// each process (and each rank) picks its own fastest 3x3 algorithm per shape
// (kernels/cpu/conv3x3_algorithm.h), and two of them can pick differently and round differently
// (seen under AddressSanitizer, whose instrumentation reorders the timings). Fix one.
const std::string kFixedConvolution = "SEQNET_CONV=gemm";

// `seqnet ARGS` on `ranks` MPI ranks, one OpenMP thread each (this machine has two cores); output
// and errors into `log`. Returns mpirun's exit status.
int run_on_ranks(int ranks, const std::string& args, const std::string& log) {
  const std::string launcher = std::string(SEQNET_MPIEXEC) + (geteuid() == 0 ? " --allow-run-as-root" : "") +
                               " --oversubscribe -x OMP_NUM_THREADS=1 -x " + kFixedConvolution + " -np " +
                               std::to_string(ranks) + " ";
  const int status = std::system((launcher + SEQNET_PROGRAM + " " + args + " >" + log + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_alone(const std::string& args, const std::string& log) {
  const int status = std::system((kFixedConvolution + " " + SEQNET_PROGRAM + " " + args + " >" + log + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Every weight (not the optimizer state) of a checkpoint, in name order.
std::vector<double> weights_of(const std::string& checkpoint) {
  std::vector<double> all;
  for (const auto& [name, tensor] : read_safetensors(checkpoint).tensors) {
    if (name.rfind("optimizer.", 0) == 0) continue;
    const std::vector<double> v = tensor.to_doubles();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

std::vector<double> logged_losses(const std::string& run) {
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

void expect_same_weights(const std::string& a, const std::string& b, int steps, double relative) {
  const std::vector<double> wa = weights_of(a), wb = weights_of(b);
  ASSERT_EQ(wa.size(), wb.size());
  double max_difference = 0;
  for (size_t i = 0; i < wa.size(); ++i) max_difference = std::max(max_difference, std::abs(wa[i] - wb[i]));
  const double error = test::relative_error(wa, wb);
  std::printf("%s against %s: max |difference| %.3g, relative %.3g\n", b.c_str(), a.c_str(), max_difference, error);
  EXPECT_LE(max_difference, 2 * steps * kLr) << a << " against " << b;
  EXPECT_LE(error, relative) << a << " against " << b;
}

class Distributed : public ::testing::Test {
 protected:
  void SetUp() override {
    SEQNET_REQUIRE_MPI();
    write_synthetic_set(dir.str("data"), 5, 3, 128, 128);
  }
  test::TempDir dir;
};

TEST_F(Distributed, TwoAndThreeRanksGiveTheWeightsOfOneProcessWithoutBatchNorm) {
  const std::string run = tiny_run(dir.str("data"), "--norm none --dropout 0 -o ");
  ASSERT_EQ(run_alone(run + dir.str("one"), dir.str("one.log")), 0) << test::read_text(dir.str("one.log"));
  for (int ranks : {2, 3}) {
    const std::string out = dir.str("ranks" + std::to_string(ranks));
    ASSERT_EQ(run_on_ranks(ranks, run + out, out + ".log"), 0) << test::read_text(out + ".log");
    expect_same_weights(dir.str("one/last.safetensors"), out + "/last.safetensors", 6, kNoNormRelativeError);
    const auto training = nlohmann::json::parse(read_safetensors(out + "/last.safetensors").metadata.at("training"));
    EXPECT_EQ(training["ranks"], ranks);
    EXPECT_EQ(training["step"], 6);
  }
}

TEST_F(Distributed, ArteryVeinLossOverVesselPixelsSplitsExactly) {
  // --av-loss vessel divides by the vessel pixels of the batch; each rank divides by the mean
  // count over the ranks (not its own), so the split is still exact.
  const std::string run = tiny_run(dir.str("data"), "--norm none --dropout 0 --av-loss vessel -o ");
  ASSERT_EQ(run_alone(run + dir.str("one"), dir.str("one.log")), 0) << test::read_text(dir.str("one.log"));
  ASSERT_EQ(run_on_ranks(2, run + dir.str("two"), dir.str("two.log")), 0) << test::read_text(dir.str("two.log"));
  expect_same_weights(dir.str("one/last.safetensors"), dir.str("two/last.safetensors"), 6, kNoNormRelativeError);
}

TEST_F(Distributed, SyncBatchNormGivesTheWeightsOfOneProcess) {
  // Statistics over every rank's crops are the statistics of the whole batch. Four steps.
  const std::string run = tiny_run(dir.str("data"), "--dropout 0 --steps-per-epoch 2 -o ");
  ASSERT_EQ(run_alone(run + dir.str("one"), dir.str("one.log")), 0) << test::read_text(dir.str("one.log"));
  ASSERT_EQ(run_on_ranks(2, run + dir.str("sync") + " --sync-batchnorm", dir.str("sync.log")), 0)
      << test::read_text(dir.str("sync.log"));
  expect_same_weights(dir.str("one/last.safetensors"), dir.str("sync/last.safetensors"), 4, kBatchNormRelativeError);
  const std::vector<double> one = logged_losses(dir.str("one")), sync = logged_losses(dir.str("sync"));
  ASSERT_EQ(one.size(), 4u);
  ASSERT_EQ(sync.size(), 4u);
  EXPECT_NEAR(sync[0], one[0], kBatchNormFirstLossRelativeError * one[0]);
}

TEST_F(Distributed, PerRankBatchNormLossesStayCloseAndFall) {
  // 30 steps at lr 3e-3: each rank normalises its 3 crops with their own statistics.
  const std::string run = tiny_run(dir.str("data"), "--dropout 0 --lr 0.003 --epochs 3 --steps-per-epoch 10 -o ");
  ASSERT_EQ(run_alone(run + dir.str("one"), dir.str("one.log")), 0) << test::read_text(dir.str("one.log"));
  ASSERT_EQ(run_on_ranks(2, run + dir.str("two"), dir.str("two.log")), 0) << test::read_text(dir.str("two.log"));
  const std::vector<double> one = logged_losses(dir.str("one")), two = logged_losses(dir.str("two"));
  ASSERT_EQ(one.size(), 30u);
  ASSERT_EQ(two.size(), 30u);
  auto mean = [](const std::vector<double>& v, size_t from, size_t to) {
    double sum = 0;
    for (size_t i = from; i < to; ++i) sum += v[i];
    return sum / double(to - from);
  };
  // The same crops and initialisation: the first loss differs only by the statistics used.
  EXPECT_NEAR(two[0], one[0], 0.05 * one[0]);
  EXPECT_LT(mean(two, 25, 30), 0.8 * mean(two, 0, 5)) << "2 ranks: the loss did not fall";
  EXPECT_NEAR(mean(two, 25, 30), mean(one, 25, 30), 0.15 * mean(one, 25, 30));
}

TEST_F(Distributed, RunResumesOnAnotherNumberOfRanks) {
  // The batches do not depend on the number of ranks: one process for two epochs, then two ranks
  // for two more, trains like one process for four (up to float32 summation order).
  const std::string run = tiny_run(dir.str("data"), "--norm none --dropout 0 -o ");
  ASSERT_EQ(run_alone(run + dir.str("switched"), dir.str("first.log")), 0) << test::read_text(dir.str("first.log"));
  ASSERT_EQ(run_on_ranks(2, "train --resume --epochs 4 -o " + dir.str("switched"), dir.str("second.log")), 0)
      << test::read_text(dir.str("second.log"));
  EXPECT_NE(test::read_text(dir.str("second.log")).find("written by 1 rank(s), this job has 2"), std::string::npos)
      << test::read_text(dir.str("second.log"));
  ASSERT_EQ(run_alone(run + dir.str("straight") + " --epochs 4", dir.str("straight.log")), 0)
      << test::read_text(dir.str("straight.log"));
  expect_same_weights(dir.str("straight/last.safetensors"), dir.str("switched/last.safetensors"), 12,
                      kNoNormRelativeError);
}

TEST_F(Distributed, BatchThatDoesNotSplitIsRefused) {
  const std::string run = tiny_run(dir.str("data"), "--batch 3 -o " + dir.str("run"));
  EXPECT_NE(run_on_ranks(2, run, dir.str("run.log")), 0);
  const std::string log = test::read_text(dir.str("run.log"));
  EXPECT_NE(log.find("cannot share equally"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir.str("run/last.safetensors")));
}

TEST_F(Distributed, KilledRankEndsTheJobAndResumeContinuesExactly) {
  // Many short epochs, so that rank 1 dies between two checkpoints; the job must end (not hang)
  // and say which rank died.
  const std::string run = tiny_run(dir.str("data"), "--norm none --epochs 200 -o " + dir.str("killed"));
  const std::string script = dir.str("kill.sh");
  std::ofstream(script) << "set -u\n"
                        << std::string(SEQNET_MPIEXEC) << (geteuid() == 0 ? " --allow-run-as-root" : "")
                        << " --oversubscribe -x OMP_NUM_THREADS=1 -x " << kFixedConvolution << " -np 2 " << SEQNET_PROGRAM << " " << run << " >"
                        << dir.str("killed.log") << " 2>&1 &\n"
                        << "launcher=$!\n"
                        << "for i in $(seq 3000); do [ -f " << dir.str("killed/last.safetensors")
                        << " ] && break; sleep 0.1; done\n"
                        << "for p in $(pgrep -P $launcher); do\n"
                        << "  tr '\\0' '\\n' </proc/$p/environ | grep -qx OMPI_COMM_WORLD_RANK=1 && kill -9 $p\n"
                        << "done\n"
                        // The job has 120 s to end (seconds are enough); then it counts as hung (exit 99).
                        << "for i in $(seq 1200); do kill -0 $launcher 2>/dev/null || break; sleep 0.1; done\n"
                        << "if kill -0 $launcher 2>/dev/null; then kill -9 $launcher; exit 99; fi\n"
                        << "wait $launcher; exit $?\n";
  const int status = std::system(("bash " + script).c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const std::string log = test::read_text(dir.str("killed.log"));
  ASSERT_NE(code, 99) << "the job hung after rank 1 was killed:\n" << log;
  EXPECT_NE(code, 0) << log;
  EXPECT_NE(log.find("rank 1"), std::string::npos) << log;
  EXPECT_NE(log.find("signal 9"), std::string::npos) << log;

  // Resume from the last checkpoint two epochs further, and compare with a run that was never
  // interrupted: the same weights bit for bit (the same ranks, the same batches).
  const auto stored = nlohmann::json::parse(read_safetensors(dir.str("killed/last.safetensors")).metadata.at("training"));
  const int epochs = stored["epoch"].get<int>() + 2;
  ASSERT_LT(stored["epoch"].get<int>(), 200) << "rank 1 was killed too late";
  const std::string more = " --epochs " + std::to_string(epochs);
  ASSERT_EQ(run_on_ranks(2, "train --resume -o " + dir.str("killed") + more, dir.str("resumed.log")), 0)
      << test::read_text(dir.str("resumed.log"));
  const std::string straight = tiny_run(dir.str("data"), "--norm none -o " + dir.str("straight")) + more;
  ASSERT_EQ(run_on_ranks(2, straight, dir.str("straight.log")), 0) << test::read_text(dir.str("straight.log"));
  EXPECT_EQ(weights_of(dir.str("killed/last.safetensors")), weights_of(dir.str("straight/last.safetensors")));
}

}  // namespace
}  // namespace seqnet
