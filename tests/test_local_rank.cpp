// test_local_rank.cpp: local_rank() (train/distributed.h), the number each rank of a node takes
// its GPU by: read from the launcher's variable, 0 when started alone, an error when malformed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "train/distributed.h"

namespace seqnet {
namespace {

// Sets the launchers' variables for one test and puts back what was there.
class LocalRankTest : public ::testing::Test {
 protected:
  static constexpr const char* kNames[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"};
  void SetUp() override {
    for (const char* name : kNames) {
      const char* value = std::getenv(name);
      saved_.push_back(value ? std::optional<std::string>(value) : std::nullopt);
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (size_t i = 0; i < saved_.size(); ++i)
      if (saved_[i]) setenv(kNames[i], saved_[i]->c_str(), 1);
      else unsetenv(kNames[i]);
  }
  std::vector<std::optional<std::string>> saved_;
};

TEST_F(LocalRankTest, ZeroWhenStartedAlone) {
  const LocalRank local = local_rank();
  EXPECT_EQ(local.rank, 0);
  EXPECT_STREQ(local.from, "");
}

TEST_F(LocalRankTest, ReadsOpenMpiThenSlurmThenMpich) {
  setenv("MPI_LOCALRANKID", "5", 1);
  EXPECT_EQ(local_rank().rank, 5);
  setenv("SLURM_LOCALID", "3", 1);
  EXPECT_EQ(local_rank().rank, 3);
  EXPECT_STREQ(local_rank().from, "SLURM_LOCALID");
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "7", 1);
  EXPECT_EQ(local_rank().rank, 7);
  EXPECT_STREQ(local_rank().from, "OMPI_COMM_WORLD_LOCAL_RANK");
}

TEST_F(LocalRankTest, MalformedValueIsAnErrorNamingTheVariable) {
  for (const char* bad : {"", "x", "1x", "-1"}) {
    setenv("SLURM_LOCALID", bad, 1);
    try {
      local_rank();
      ADD_FAILURE() << "SLURM_LOCALID='" << bad << "' was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("SLURM_LOCALID"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace seqnet
