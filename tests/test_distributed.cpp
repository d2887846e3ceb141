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

#include "distributed_support.h"
#include "io/safetensors.h"
#include "synth/fundus.h"
#include "test_support.h"

namespace seqnet {
namespace {

namespace fs = std::filesystem;
using namespace test;  // distributed_support.h

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
