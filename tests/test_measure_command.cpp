// test_measure_command.cpp: `seqnet measure` on labels and on predict's maps (an error row for a
// map of another size, never a crash), and `seqnet predict --measures` putting the same columns
// into the cohort table and through the merge.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/image.h"
#include "measure/photo_measures.h"
#include "model/seqnet.h"
#include "model/weights.h"
#include "test_support.h"

namespace seqnet {
namespace {
namespace fs = std::filesystem;

// The cohort table's own columns (docs/COHORT.md); the measures follow them.
constexpr const char* kCohortColumns =
    "path,width,height,status,message,seconds,vessel_fraction,artery_fraction,vein_fraction,model_sha256";

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string measure_header() {
  std::string header = "path,width,height,status,message,seconds";
  for (const std::string& name : measure::measure_column_names()) header += "," + name;
  return header;
}

TEST(MeasureCommand, LabelsOfASyntheticSetAndTheirOverlays) {
  test::TempDir dir;
  ASSERT_EQ(test::run_seqnet("synth -o " + dir.str("set") + " -n 2 --seed 3", dir.str("log"), dir.str("log")), 0);
  ASSERT_EQ(test::run_seqnet("measure --data " + dir.str("set") + " -o " + dir.str("m.csv") + " --measures-overlay " +
                                 dir.str("ov") + " --fov-degrees 45",
                             dir.str("log"), dir.str("log")),
            0)
      << test::read_text(dir.str("log"));
  EXPECT_EQ(first_line(dir.str("m.csv")), measure_header());
  const std::string table = test::read_text(dir.str("m.csv"));
  EXPECT_NE(table.find("synth_001.png,565,584,ok"), std::string::npos) << table;
  EXPECT_NE(table.find("fov-degrees"), std::string::npos);
  EXPECT_EQ(read_image(dir.str("ov/synth_000.png")).width, 565);
}

TEST(MeasureCommand, MapOfAnotherSizeIsAnErrorRowAndEmptyMapAFlaggedRow) {
  test::TempDir dir;
  ASSERT_EQ(test::run_seqnet("synth -o " + dir.str("set") + " -n 2 --seed 3 --size 200x180", dir.str("log"),
                             dir.str("log")),
            0);
  // Maps as predict lays them out: synth_000's are empty (all 0), synth_001's the wrong size.
  for (const char* folder : {"out_seg", "out_art", "out_vei"}) {
    fs::create_directories(dir.path() / "pred" / folder);
    write_png((dir.path() / "pred" / folder / "synth_000.png").string(), Image(200, 180, 1));
    write_png((dir.path() / "pred" / folder / "synth_001.png").string(), Image(100, 90, 1));
  }
  EXPECT_EQ(test::run_seqnet("measure --pred " + dir.str("pred") + " -i " + dir.str("set/images") + " -o " +
                                 dir.str("m.csv"),
                             dir.str("log"), dir.str("log")),
            1);  // an error row: exit status 1, the other photographs measured
  const std::string table = test::read_text(dir.str("m.csv"));
  EXPECT_NE(table.find("synth_000.png,200,180,ok"), std::string::npos) << table;
  EXPECT_NE(table.find("no_vessels"), std::string::npos) << table;
  EXPECT_NE(table.find("synth_001.png,,,error,"), std::string::npos) << table;
  EXPECT_NE(table.find("is 100x90 but its photograph is 200x180"), std::string::npos) << table;
  // Neither --pred nor --data: a usage error.
  EXPECT_EQ(test::run_seqnet("measure -o " + dir.str("x.csv"), dir.str("log"), dir.str("log")), 2);
}

TEST(MeasurePredict, MeasuresColumnsGoIntoTheShardTableAndTheMerge) {
  test::TempDir dir;
  ASSERT_EQ(test::run_seqnet("synth -o " + dir.str("set") + " -n 2 --seed 4 --size 160x150", dir.str("log"),
                             dir.str("log")),
            0);
  SeqNet model(test::tiny_model_config(), Device::cpu, DType::f32, 9);
  save_weights(dir.str("tiny.safetensors"), model);
  const std::string predict = "predict -i " + dir.str("set/images") + " -o " + dir.str("out") + " --weights " +
                              dir.str("tiny.safetensors") + " --size 64 --measures --pixel-size 12 --measures-overlay " +
                              dir.str("ov");
  ASSERT_EQ(test::run_seqnet(predict + " --shard 0/2", dir.str("log"), dir.str("log")), 0) << test::read_text(dir.str("log"));
  ASSERT_EQ(test::run_seqnet(predict + " --shard 1/2", dir.str("log"), dir.str("log")), 0) << test::read_text(dir.str("log"));
  ASSERT_EQ(test::run_seqnet("predict --merge-manifests " + dir.str("out"), dir.str("log"), dir.str("log")), 0)
      << test::read_text(dir.str("log"));
  std::string cohort_header = kCohortColumns;
  for (const std::string& name : measure::measure_column_names()) cohort_header += "," + name;
  EXPECT_EQ(first_line(dir.str("out/manifest/all.csv")), cohort_header);
  const std::string table = test::read_text(dir.str("out/manifest/all.csv"));
  for (const std::string name : {"synth_000.png", "synth_001.png"}) {
    const size_t row = table.find("\n" + name + ",160,150,ok,");
    ASSERT_NE(row, std::string::npos) << table;
    EXPECT_NE(table.substr(row, table.find('\n', row + 1) - row).find(",pixel-size,"), std::string::npos) << table;
    EXPECT_TRUE(fs::exists(dir.path() / "ov" / name)) << name;
  }
  // Without --measures the table is as it always was.
  ASSERT_EQ(test::run_seqnet("predict -i " + dir.str("set/images") + " -o " + dir.str("plain") + " --weights " +
                                 dir.str("tiny.safetensors") + " --size 64",
                             dir.str("log"), dir.str("log")),
            0);
  EXPECT_EQ(first_line(dir.str("plain/manifest/shard-0-of-1.csv")), kCohortColumns);
  // --measures-overlay without --measures is refused.
  EXPECT_EQ(test::run_seqnet("predict -i " + dir.str("set/images") + " -o " + dir.str("x") + " --weights " +
                                 dir.str("tiny.safetensors") + " --measures-overlay " + dir.str("y"),
                             dir.str("log"), dir.str("log")),
            2);
}

}  // namespace
}  // namespace seqnet
