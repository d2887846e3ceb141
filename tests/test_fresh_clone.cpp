// test_fresh_clone.cpp: a clone with nothing beside it runs the golden comparisons (issue #31).
// .ci/run runs the test command with the photographs hidden; these tests close what that cannot
// see: the dumps are all there and described, and no test reaches ../shared except for the
// photographs, through data_dir(), the one thing .ci/run hides.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "test_support.h"

namespace seqnet {
namespace {
namespace fs = std::filesystem;

// Every dump in tests/golden is listed in its README, and every dump the README lists is there.
TEST(FreshClone, GoldenDumpsAreInTheRepositoryAndListedInTheirReadme) {
  std::set<std::string> files, listed;
  for (const auto& e : fs::directory_iterator(test::golden_dir()))
    if (e.path().extension() == ".safetensors") files.insert(e.path().filename().string());
  const std::string readme = test::read_text(test::golden_dir() + "/README.md");
  const std::regex name("`([a-z0-9_]+\\.safetensors)`");
  for (auto it = std::sregex_iterator(readme.begin(), readme.end(), name); it != std::sregex_iterator(); ++it)
    listed.insert((*it)[1].str());
  EXPECT_GE(files.size(), 14u);
  EXPECT_EQ(files, listed);
}

// A test that read ../shared by its own path would pass in CI (which has ../shared) and skip or
// fail in a clone; only test_support.h's data_dir() may name it.
TEST(FreshClone, OnlyDataDirReachesTheSharedFolder) {
  const fs::path tests = fs::path(SEQNET_SOURCE_DIR) / "tests";
  const std::regex shared(R"re((\.\./shared|/\s*"shared"))re");
  int scanned = 0;
  for (const auto& e : fs::recursive_directory_iterator(tests)) {
    const std::string ext = e.path().extension().string();
    if (ext != ".cpp" && ext != ".h") continue;
    ++scanned;
    const std::string file = e.path().filename().string();
    if (file == "test_support.h" || file == "test_fresh_clone.cpp") continue;
    const std::string text = test::read_text(e.path().string());
    std::smatch m;
    EXPECT_FALSE(std::regex_search(text, m, shared)) << e.path() << " names the shared folder (" << m.str()
                                                     << "): read golden dumps from test::golden_dir() and "
                                                        "photographs through SEQNET_REQUIRE_DATA";
  }
  EXPECT_GT(scanned, 40);
}

}  // namespace
}  // namespace seqnet
