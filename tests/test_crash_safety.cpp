// test_crash_safety.cpp: what an interrupted `seqnet train` (the built program) keeps. A run
// killed with SIGKILL at several moments (between steps, during validation, while a checkpoint is
// being written) and resumed each time ends with the weights and optimizer state of an
// uninterrupted run, bit for bit; a checkpoint write that fails (disk full, injected with
// SEQNET_TEST_FAIL_WRITE, io/write_faults.h) stops the run and leaves the previous checkpoint
// whole; SIGINT and SIGTERM stop it at a step boundary with a checkpoint and a resume hint.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/image.h"
#include "io/safetensors.h"
#include "test_support.h"

namespace seqnet {
namespace {

namespace fs = std::filesystem;

// Three epochs of four steps of the tiny model on three synthetic images (one validates).
const std::string kTrainOptions =
    "--width 4 --depth 3 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 64 --crop 32 --batch 4 "
    "--crops-per-image 2 --steps-per-epoch 4 --seed 7 --log-every 1 --val-fraction 0.34 --workers 1";
constexpr int kEpochs = 3, kTotalSteps = 12;

// `seqnet ARGS` started in the background, stdout and stderr into `log`, with extra environment.
class Program {
 public:
  Program(const std::string& args, const std::string& log, const std::vector<std::string>& env = {}) : log_(log) {
    // Everything the child needs is built before fork: after it, only exec-safe calls.
    std::vector<std::string> argv_text = test::program_argv();
    std::istringstream words(args);
    for (std::string w; words >> w;) argv_text.push_back(w);
    std::vector<char*> argv, envp;
    for (std::string& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_text = env;
    for (char** e = environ; *e; ++e) env_text.push_back(*e);
    for (std::string& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
  }
  ~Program() {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }

  // Waits until the log holds `text` (true) or the program ended or 120 s passed (false).
  bool wait_for(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      if (log().find(text) != std::string::npos) return true;
      if (ended()) return log().find(text) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit status, or 128 + the signal that killed it (as a shell reports it).
  int wait() {
    if (status_ >= 0) return status_;
    int raw = 0;
    ::waitpid(pid_, &raw, 0);
    status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    return status_;
  }
  std::string log() const { return test::read_text(log_); }

 private:
  bool ended() {
    int raw = 0;
    if (::waitpid(pid_, &raw, WNOHANG) != pid_) return false;
    status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    return true;
  }
  std::string log_;
  pid_t pid_ = -1;
  int status_ = -1;
};

class CrashSafety : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Every run here must round exactly as the reference does. A resumed run takes the 3x3
    // algorithms of its checkpoint, but the reference is a process of its own: left to measure,
    // it may pick other algorithms per shape (kernels/cpu/conv3x3_algorithm.h) on a busy machine
    // than the interrupted run, and round differently. Fix one.
    setenv("SEQNET_CONV", "gemm", 1);
    dir_ = new test::TempDir;
    const std::string log = dir_->str("synth.txt");
    ASSERT_EQ(test::run_seqnet("synth -o " + dir_->str("data") + " -n 3 --seed 5 --size 96x96", log, log), 0)
        << test::read_text(log);
    // The reference: one uninterrupted run.
    Program reference(train_args(dir_->str("reference")), dir_->str("reference.txt"));
    ASSERT_EQ(reference.wait(), 0) << reference.log();
  }
  static void TearDownTestSuite() {
    unsetenv("SEQNET_CONV");
    delete dir_;
    dir_ = nullptr;
  }

  static std::string train_args(const std::string& run, bool resume = false, int epochs = kEpochs) {
    return "train --data " + dir_->str("data") + " -o " + run + " " + kTrainOptions + " --epochs " + std::to_string(epochs) +
           (resume ? " --resume" : "");
  }
  static std::string step_line(int step) { return " step " + std::to_string(step) + "/"; }

  // Both checkpoints of `run` hold the reference's tensors bit for bit (weights and optimizer
  // state) and its counters (step, next batch, Adam steps, best scores).
  static void expect_same_as_reference(const std::string& run) {
    for (const char* name : {"last.safetensors", "best.safetensors"}) {
      SCOPED_TRACE(name);
      const TensorFile a = read_safetensors((fs::path(run) / name).string());
      const TensorFile b = read_safetensors(dir_->str(std::string("reference/") + name));
      ASSERT_EQ(a.tensors.size(), b.tensors.size());
      for (const auto& [tensor, t] : b.tensors) {
        ASSERT_TRUE(a.tensors.count(tensor)) << tensor;
        const Tensor& u = a.tensors.at(tensor);
        ASSERT_EQ(u.numel(), t.numel()) << tensor;
        EXPECT_EQ(std::memcmp(u.f32(), t.f32(), size_t(t.numel()) * sizeof(float)), 0) << tensor << " differs";
      }
      EXPECT_EQ(a.metadata.at("training"), b.metadata.at("training"));
    }
  }

  // The step of `run`'s last checkpoint (-1 when there is none); it must read as a whole file.
  static int checkpoint_step(const std::string& run) {
    const fs::path path = fs::path(run) / "last.safetensors";
    if (!fs::exists(path)) return -1;
    const TensorFile file = read_safetensors(path);
    return nlohmann::json::parse(file.metadata.at("training")).at("step").get<int>();
  }

  static test::TempDir* dir_;
};
test::TempDir* CrashSafety::dir_ = nullptr;

TEST_F(CrashSafety, RunKilledAtSeveralMomentsAndResumedEqualsTheUninterruptedRun) {
  const std::string run = dir_->str("killed");
  // Each attempt runs until the moment, is killed with SIGKILL, and the next resumes it: during
  // the first epoch (no checkpoint yet: started again), mid-epoch, while last.safetensors is half
  // written (the write pauses there: SEQNET_TEST_PAUSE_WRITE), during the next step after a
  // validation, while best.safetensors is half written, and at random steps (seeded).
  struct Moment {
    std::string wait_for;
    std::string pause_write;  // SEQNET_TEST_PAUSE_WRITE, or ""
    int delay_us = 0;         // after the text appears
  };
  // The first three are in the first epoch, before any checkpoint exists, so the next attempt
  // starts afresh; the others resume.
  std::mt19937 rng(2026);
  std::vector<Moment> moments = {
      {step_line(2), "", 0},
      {"pausing the write of " + run + "/best.safetensors", "best.safetensors:30000", 0},
      {"pausing the write of " + run + "/last.safetensors", "last.safetensors:30000", 0},
      {step_line(6), "", 1500},
  };
  for (int i = 0; i < 2; ++i) moments.push_back({step_line(9 + int(rng() % 3)), "", int(rng() % 3000)});
  int attempt = 0;
  std::string logs;
  for (const Moment& moment : moments) {
    SCOPED_TRACE("attempt " + std::to_string(attempt) + ": kill after '" + moment.wait_for + "'");
    const int before = checkpoint_step(run);
    const std::vector<std::string> env = moment.pause_write.empty() ? std::vector<std::string>{}
                                                                     : std::vector<std::string>{"SEQNET_TEST_PAUSE_WRITE=" + moment.pause_write};
    Program p(train_args(run, before >= 0), dir_->str("attempt" + std::to_string(attempt++) + ".txt"), env);
    ASSERT_TRUE(p.wait_for(moment.wait_for)) << p.log();
    if (!moment.pause_write.empty()) {
      // The temporary file is there, half written.
      bool half_written = false;
      for (const auto& entry : fs::directory_iterator(run))
        half_written |= entry.path().filename().string().find(".safetensors.tmp-") != std::string::npos;
      EXPECT_TRUE(half_written) << "no temporary checkpoint file in " << run;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(moment.delay_us));
    p.signal(SIGKILL);
    EXPECT_EQ(p.wait(), 128 + SIGKILL) << p.log();
    logs += p.log();
    EXPECT_GE(checkpoint_step(run), before) << "the checkpoint went back or became unreadable";
  }
  EXPECT_NE(logs.find("a checkpoint write that was interrupted"), std::string::npos)
      << "the stray temporary files of the killed writes were not reported";
  Program last(train_args(run, true), dir_->str("attempt_last.txt"));
  ASSERT_EQ(last.wait(), 0) << last.log();
  for (const auto& entry : fs::directory_iterator(run))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  expect_same_as_reference(run);
}

TEST_F(CrashSafety, FailedCheckpointWriteStopsAndKeepsThePreviousCheckpoint) {
  const std::string run = dir_->str("disk_full");
  Program first(train_args(run, false, 1), dir_->str("disk_full_1.txt"));
  ASSERT_EQ(first.wait(), 0) << first.log();
  ASSERT_EQ(checkpoint_step(run), 4);
  const std::string before = test::read_text(fs::path(run) / "last.safetensors");

  Program full(train_args(run, true), dir_->str("disk_full_2.txt"), {"SEQNET_TEST_FAIL_WRITE=last.safetensors"});
  EXPECT_EQ(full.wait(), 1) << full.log();
  const std::string message = full.log();
  for (const std::string& part : std::vector<std::string>{"training stopped at step 8", "cannot write " + run + "/last.safetensors",
                                 "No space left on device", "the previous checkpoint " + run + "/last.safetensors (step 4) is intact",
                                 "seqnet train --resume -o " + run})
    EXPECT_NE(message.find(part), std::string::npos) << "missing '" << part << "' in:\n" << message;
  EXPECT_EQ(test::read_text(fs::path(run) / "last.safetensors"), before) << "the previous checkpoint changed";
  for (const auto& entry : fs::directory_iterator(run))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();

  // Once the disk has room again, the resumed run ends where the uninterrupted one did.
  Program resumed(train_args(run, true), dir_->str("disk_full_3.txt"));
  ASSERT_EQ(resumed.wait(), 0) << resumed.log();
  expect_same_as_reference(run);
}

TEST_F(CrashSafety, SigintAndSigtermWriteACheckpointAndSayHowToResume) {
  for (const auto& [sig, name, step] : {std::tuple{SIGTERM, "SIGTERM", 6}, std::tuple{SIGINT, "SIGINT", 10}}) {
    SCOPED_TRACE(name);
    const std::string run = dir_->str(std::string("signal_") + name);
    Program p(train_args(run), run + ".txt");
    ASSERT_TRUE(p.wait_for(step_line(step))) << p.log();
    p.signal(sig);
    EXPECT_EQ(p.wait(), 128 + sig) << p.log();
    const std::string log = p.log();
    EXPECT_NE(log.find(std::string("stopped by ") + name + " at step "), std::string::npos) << log;
    EXPECT_NE(log.find("continue with: seqnet train --resume -o " + run), std::string::npos) << log;
    // The checkpoint holds the step it stopped at, mid-epoch (not the last epoch's end).
    const int stopped_at = checkpoint_step(run);
    EXPECT_GE(stopped_at, step);
    EXPECT_LT(stopped_at, kTotalSteps);
    EXPECT_NE(log.find("at step " + std::to_string(stopped_at) + " of"), std::string::npos) << log;
    // Resumed from the middle of an epoch, it still ends with the uninterrupted run's state.
    Program resumed(train_args(run, true), run + "_resumed.txt");
    ASSERT_EQ(resumed.wait(), 0) << resumed.log();
    expect_same_as_reference(run);
  }
}

TEST_F(CrashSafety, PredictionKilledWhileWritingLeavesOnlyWholePictures) {
  // Killed while the second photograph's final map is half written: every picture already there
  // reads whole, the interrupted one is absent (only its temporary file is left).
  const std::string out = dir_->str("predicted");
  Program p("predict -i " + dir_->str("data/images") + " -o " + out + " --weights " + dir_->str("reference/last.safetensors") +
                " --size 64",
            out + ".txt", {"SEQNET_TEST_PAUSE_WRITE=out_final/synth_001.png:30000"});
  ASSERT_TRUE(p.wait_for("pausing the write of " + out + "/out_final/synth_001.png")) << p.log();
  p.signal(SIGKILL);
  EXPECT_EQ(p.wait(), 128 + SIGKILL);
  int pictures = 0, partial = 0;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".png.tmp-") != std::string::npos) ++partial;
    if (entry.path().extension() != ".png") continue;
    ++pictures;
    EXPECT_NO_THROW(read_image(entry.path().string())) << entry.path();
  }
  EXPECT_GE(pictures, 3);  // at least the second photograph's first three maps (the writes may be pipelined)
  EXPECT_EQ(partial, 1);
  EXPECT_FALSE(fs::exists(out + "/out_final/synth_001.png"));
}

}  // namespace
}  // namespace seqnet
