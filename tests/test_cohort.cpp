// test_cohort.cpp: `seqnet predict` on a cohort, as the built program: shards of a job array
// cover every photograph once, a shard killed partway (kill -9) and run again finishes only what
// is missing, and the merged table and the maps equal those of one uninterrupted process.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/image.h"
#include "model/weights.h"
#include "test_support.h"

namespace seqnet {
namespace {
namespace fs = std::filesystem;

using test::read_text;

const char* const kMapFolders[] = {"out_seg", "out_art", "out_vei", "out_final", "overlay"};

// Starts `seqnet ARGS...` with the extra environment `env`, stdout and stderr into `log`; returns
// its process id. One OpenMP thread: the tensors are tiny and the machine's cores may be busy.
pid_t start_seqnet(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                   const std::string& log) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
  setenv("OMP_NUM_THREADS", "1", 1);
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(fd, 1);
  dup2(fd, 2);
  std::vector<std::string> words = test::program_argv();
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  _exit(127);
}

// The exit status of a started program, -1 when a signal ended it.
int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_seqnet(const std::vector<std::string>& args, const std::string& log,
               const std::map<std::string, std::string>& env = {}) {
  return wait_for(start_seqnet(args, env, log));
}

// Lines of a file (the manifest's header included).
std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The rows of a manifest table by path: its comma-separated fields (no field here is quoted).
std::map<std::string, std::vector<std::string>> table_rows(const std::string& path) {
  std::map<std::string, std::vector<std::string>> rows;
  const std::vector<std::string> lines = lines_of(path);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields;
    std::stringstream line(lines[i]);
    for (std::string field; std::getline(line, field, ',');) fields.push_back(field);
    EXPECT_EQ(rows.count(fields.at(0)), 0u) << fields[0] << " is in " << path << " twice";
    rows[fields[0]] = fields;
  }
  return rows;
}

std::string save_tiny_model(const test::TempDir& dir) {
  SeqNet model(test::tiny_model_config(), Device::cpu, DType::f32, 9);
  save_weights(dir.str("tiny.safetensors"), model);
  return dir.str("tiny.safetensors");
}

std::map<std::string, std::string> slurm_task(int id, int count) {
  return {{"SLURM_ARRAY_TASK_ID", std::to_string(id)},
          {"SLURM_ARRAY_TASK_COUNT", std::to_string(count)},
          {"SLURM_ARRAY_TASK_MIN", "1"}};
}

TEST(Cohort, ShardsCoverEveryPhotographOnceFromFolderListAndSlurmVariables) {
  test::TempDir dir;
  const std::string weights = save_tiny_model(dir);
  std::set<std::string> all;
  fs::create_directories(dir.path() / "cohort");
  std::ofstream list(dir.str("cohort/list.txt"));  // paths relative to the list, a few absolute
  list << "# one path a line\n\n";
  for (int i = 0; i < 40; ++i) {
    const std::string key = (i % 3 ? "site" + std::to_string(i % 3) + "/" : "") + "eye_" + std::to_string(i) + ".png";
    fs::create_directories((dir.path() / "cohort" / key).parent_path());
    std::ofstream(dir.str("cohort/" + key)) << "not read by --dry-run";
    all.insert(key);
    list << (i % 5 ? key : dir.str("cohort/" + key)) << "\n";
  }
  list.close();

  auto shard_keys = [&](const std::vector<std::string>& input, const std::string& shard,
                        const std::map<std::string, std::string>& env) {
    std::vector<std::string> args = {"predict"};
    args.insert(args.end(), input.begin(), input.end());
    for (const char* a : {"-o", "", "--weights", "", "--dry-run"}) args.push_back(a);
    args[input.size() + 2] = dir.str("out");
    args[input.size() + 4] = weights;
    if (!shard.empty()) args.insert(args.end(), {"--shard", shard});
    const std::string log = dir.str("dry.txt");
    EXPECT_EQ(run_seqnet(args, log, env), 0) << read_text(log);
    std::set<std::string> keys;
    for (const std::string& line : lines_of(log))
      if (line.rfind("todo\t", 0) == 0) keys.insert(line.substr(5));
    return keys;
  };

  const std::vector<std::string> folder = {"-i", dir.str("cohort"), "--recursive"};
  const std::vector<std::string> listed = {"-i", dir.str("cohort/list.txt")};
  EXPECT_EQ(shard_keys({"-i", dir.str("cohort")}, "", {}).size(), 14u)
      << "without --recursive only the top folder's photographs are taken";
  EXPECT_EQ(shard_keys(folder, "", {}), all);
  std::set<std::string> covered;
  size_t total = 0;
  for (int k = 0; k < 3; ++k) {
    const std::set<std::string> keys = shard_keys(folder, std::to_string(k) + "/3", {});
    EXPECT_FALSE(keys.empty()) << "shard " << k;
    EXPECT_EQ(shard_keys(listed, std::to_string(k) + "/3", {}), keys) << "a list gives the same shards as the folder";
    EXPECT_EQ(shard_keys(folder, "", slurm_task(k + 1, 3)), keys) << "SLURM_ARRAY_TASK_ID " << k + 1 << " of 1..3";
    EXPECT_NE(read_text(dir.str("dry.txt")).find("shard " + std::to_string(k) + "/3 (SLURM_ARRAY_TASK_ID=" + std::to_string(k + 1)),
              std::string::npos)
        << "the log says which shard it is: " << read_text(dir.str("dry.txt"));
    total += keys.size();
    covered.insert(keys.begin(), keys.end());
  }
  EXPECT_EQ(total, all.size()) << "a photograph is in two shards";
  EXPECT_EQ(covered, all) << "a photograph is in no shard";

  const std::string log = dir.str("bad.txt");
  EXPECT_EQ(run_seqnet({"predict", "-i", dir.str("cohort"), "-o", dir.str("out"), "--weights", weights, "--shard", "3/3"}, log), 2);
  EXPECT_NE(read_text(log).find("below N"), std::string::npos) << read_text(log);
  EXPECT_EQ(run_seqnet({"predict", "-i", dir.str("cohort"), "-o", dir.str("out"), "--weights", weights}, log, slurm_task(5, 3)), 2);
  EXPECT_NE(read_text(log).find("outside 1..3"), std::string::npos) << read_text(log);
}

// The acceptance check of issue 14: 3 shards over 60 synthetic photographs, one killed partway
// and run again, then merged: every photograph once in the table, maps byte-identical to one
// uninterrupted process's (which also runs them one at a time without the pipeline's threads:
// the pipeline changes nothing in the outputs).
TEST(Cohort, KilledShardResumesAndTheMergedResultEqualsOneUninterruptedRun) {
  // Byte-identical maps from different processes need one 3x3 algorithm in all of them (each
  // process otherwise measures its own choice, kernels/cpu/conv3x3_algorithm.h).
  setenv("SEQNET_CONV", "gemm", 1);
  struct Restore {
    ~Restore() { unsetenv("SEQNET_CONV"); }
  } restore;
  test::TempDir dir;
  const std::string weights = save_tiny_model(dir);
  ASSERT_EQ(run_seqnet({"synth", "-o", dir.str("data"), "-n", "60", "--seed", "4", "--size", "64x64"}, dir.str("synth.txt")), 0)
      << read_text(dir.str("synth.txt"));
  const std::string images = dir.str("data/images");
  auto predict = [&](const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"predict", "-i", images, "-o", dir.str(out), "--weights", weights, "--size", "64",
                                     "--device", "cpu"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  ASSERT_EQ(run_seqnet(predict("single", {"--sequential"}), dir.str("single.txt")), 0) << read_text(dir.str("single.txt"));

  // Shards 0 and 2 run to the end beside shard 1, which is killed once it has finished 3 photographs.
  const std::vector<std::string> shard_args = predict("sharded", {});
  const pid_t first = start_seqnet(shard_args, slurm_task(1, 3), dir.str("shard0.txt"));
  const pid_t third = start_seqnet(shard_args, slurm_task(3, 3), dir.str("shard2.txt"));
  const pid_t victim = start_seqnet(shard_args, slurm_task(2, 3), dir.str("shard1.txt"));
  const std::string journal = dir.str("sharded/manifest/shard-1-of-3.partial.csv");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (lines_of(journal).size() < 1 + 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  kill(victim, SIGKILL);
  EXPECT_EQ(wait_for(victim), -1) << "shard 1 ended before it was killed:\n" << read_text(dir.str("shard1.txt"));
  const size_t finished_before_kill = lines_of(journal).size() - 1;
  EXPECT_GE(finished_before_kill, 3u);
  EXPECT_FALSE(fs::exists(dir.str("sharded/manifest/shard-1-of-3.csv")));
  ASSERT_EQ(wait_for(first), 0) << read_text(dir.str("shard0.txt"));
  ASSERT_EQ(wait_for(third), 0) << read_text(dir.str("shard2.txt"));

  // Merging now names the unfinished shard.
  EXPECT_EQ(run_seqnet({"predict", "--merge-manifests", dir.str("sharded")}, dir.str("merge1.txt")), 1);
  EXPECT_NE(read_text(dir.str("merge1.txt")).find("shard 1 of 3 has no table: it did not finish"), std::string::npos)
      << read_text(dir.str("merge1.txt"));

  // The same command again finishes only the photographs that were missing.
  ASSERT_EQ(run_seqnet(shard_args, dir.str("rerun.txt"), slurm_task(2, 3)), 0) << read_text(dir.str("rerun.txt"));
  const std::string rerun = read_text(dir.str("rerun.txt"));
  const size_t done_at = rerun.find(" done earlier");
  ASSERT_NE(done_at, std::string::npos) << rerun;
  const size_t done_earlier = std::stoul(rerun.substr(rerun.rfind(", ", done_at) + 2));
  EXPECT_GE(done_earlier, finished_before_kill) << rerun;
  EXPECT_FALSE(fs::exists(journal)) << "the journal is removed once the shard's table is written";

  ASSERT_EQ(run_seqnet({"predict", "--merge-manifests", dir.str("sharded"), "-i", images}, dir.str("merge2.txt")), 0)
      << read_text(dir.str("merge2.txt"));
  EXPECT_NE(read_text(dir.str("merge2.txt")).find("60 of 60 input photographs have a row"), std::string::npos)
      << read_text(dir.str("merge2.txt"));
  const auto merged = table_rows(dir.str("sharded/manifest/all.csv"));
  const auto single = table_rows(dir.str("single/manifest/shard-0-of-1.csv"));
  ASSERT_EQ(merged.size(), 60u);
  ASSERT_EQ(single.size(), 60u);
  int skipped = 0;
  for (const auto& [path, fields] : merged) {
    ASSERT_TRUE(single.count(path)) << path;
    ASSERT_EQ(fields.size(), 10u) << path;
    if (fields[3] == "skipped") {  // a kill between its maps and its journal row: allowed once
      ++skipped;
      continue;
    }
    EXPECT_EQ(fields[3], "ok") << path;
    for (int column : {1, 2, 6, 7, 8, 9})  // width, height, the three fractions, the model's hash
      EXPECT_EQ(fields[column], single.at(path)[column]) << path << " column " << column;
  }
  EXPECT_LE(skipped, 1);

  for (const char* folder : kMapFolders) {
    int files = 0;
    for (const auto& entry : fs::directory_iterator(dir.path() / "sharded" / folder)) {
      ++files;
      const std::string name = entry.path().filename().string();
      EXPECT_EQ(read_text(entry.path().string()), read_text(dir.str(std::string("single/") + folder + "/" + name)))
          << folder << "/" << name << " differs from the uninterrupted run's";
    }
    EXPECT_EQ(files, 60) << folder << " (no temporary file is left)";
  }
}

// A photograph that cannot be decoded is one error row and the rest of the shard goes on; a rerun
// with other settings into the same folder is refused.
TEST(Cohort, CorruptPhotographIsOneErrorRowAndOtherSettingsAreRefused) {
  test::TempDir dir;
  const std::string weights = save_tiny_model(dir);
  fs::create_directories(dir.path() / "in");
  ASSERT_EQ(run_seqnet({"synth", "-o", dir.str("data"), "-n", "3", "--size", "64x64"}, dir.str("synth.txt")), 0);
  for (const auto& entry : fs::directory_iterator(dir.path() / "data" / "images"))
    fs::copy_file(entry.path(), dir.path() / "in" / entry.path().filename());
  std::ofstream(dir.str("in/broken, \"one\".png")) << "this is not a picture";
  const std::vector<std::string> args = {"predict", "-i", dir.str("in"), "-o", dir.str("out"), "--weights", weights,
                                         "--size", "64", "--json"};
  EXPECT_EQ(run_seqnet(args, dir.str("log.txt")), 1) << read_text(dir.str("log.txt"));
  const std::vector<std::string> csv = lines_of(dir.str("out/manifest/shard-0-of-1.csv"));
  ASSERT_EQ(csv.size(), 5u) << "a header and 4 rows";
  EXPECT_EQ(csv[1].rfind("\"broken, \"\"one\"\".png\",,,error,", 0), 0u) << csv[1];
  EXPECT_EQ(lines_of(dir.str("out/manifest/shard-0-of-1.jsonl")).size(), 4u);
  for (size_t i = 2; i < csv.size(); ++i) EXPECT_NE(csv[i].find(",64,64,ok,"), std::string::npos) << csv[i];

  EXPECT_EQ(run_seqnet({"predict", "--merge-manifests", dir.str("out")}, dir.str("merge.txt")), 1);
  EXPECT_NE(read_text(dir.str("merge.txt")).find("(3 ok, 0 skipped, 1 errors)"), std::string::npos)
      << read_text(dir.str("merge.txt"));

  std::vector<std::string> other = args;
  other[8] = "32";
  EXPECT_EQ(run_seqnet(other, dir.str("other.txt")), 2);
  EXPECT_NE(read_text(dir.str("other.txt")).find("predict.json differs in size"), std::string::npos)
      << read_text(dir.str("other.txt"));
}

// A rerun keeps the earlier row of a photograph it skips (from a killed run's journal, whose last
// row a kill may have cut short), marks one whose row was lost as skipped, and predicts the rest.
TEST(Cohort, SkippedPhotographsKeepTheirEarlierRowOrSaySkipped) {
  test::TempDir dir;
  const std::string weights = save_tiny_model(dir);
  ASSERT_EQ(run_seqnet({"synth", "-o", dir.str("data"), "-n", "3", "--size", "64x64"}, dir.str("synth.txt")), 0);
  const std::vector<std::string> args = {"predict", "-i", dir.str("data/images"), "-o", dir.str("out"),
                                         "--weights", weights, "--size", "64"};
  ASSERT_EQ(run_seqnet(args, dir.str("first.txt")), 0) << read_text(dir.str("first.txt"));
  const std::vector<std::string> table = lines_of(dir.str("out/manifest/shard-0-of-1.csv"));
  ASSERT_EQ(table.size(), 4u);
  // As if killed: no table; the journal holds synth_000's row (its seconds marked) and a torn
  // start of synth_001's; synth_002's overlay was never written.
  fs::remove(dir.str("out/manifest/shard-0-of-1.csv"));
  fs::remove(dir.str("out/overlay/synth_002.png"));
  std::string marked = table[1];
  const size_t seconds_at = marked.find(",ok,,") + 5;
  marked.replace(seconds_at, marked.find(',', seconds_at) - seconds_at, "9.999");
  std::ofstream(dir.str("out/manifest/shard-0-of-1.partial.csv")) << table[0] << "\n" << marked << "\nsynth_001.png,64,6";

  ASSERT_EQ(run_seqnet(args, dir.str("rerun.txt")), 0) << read_text(dir.str("rerun.txt"));
  EXPECT_NE(read_text(dir.str("rerun.txt")).find("2 done earlier, 1 to predict"), std::string::npos)
      << read_text(dir.str("rerun.txt"));
  const auto rows = table_rows(dir.str("out/manifest/shard-0-of-1.csv"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows.at("synth_000.png").at(5), "9.999") << "the earlier row is carried over";
  EXPECT_EQ(rows.at("synth_001.png").at(3), "skipped");
  EXPECT_EQ(rows.at("synth_002.png").at(3), "ok");
  EXPECT_TRUE(fs::exists(dir.str("out/overlay/synth_002.png")));
  EXPECT_FALSE(fs::exists(dir.str("out/manifest/shard-0-of-1.partial.csv")));
}

}  // namespace
}  // namespace seqnet
