// test_hostile_cli.cpp: the built program against hostile input (docs/RELIABILITY.md): outputs
// over inputs, run folders without --resume, symbolic links, FIFOs, loops, names that are not
// UTF-8, truncated or signed pictures, duplicate data, mis-shaped predictions, nan options,
// weights without a configuration, sizes past every limit, and the messages of each. Every case
// runs `seqnet` as a user would, on small synthetic pictures made here.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/image.h"
#include "io/safetensors.h"
#include "model/weights.h"
#include "test_support.h"

namespace seqnet {
namespace {

namespace fs = std::filesystem;
using test::read_text;

// What a run of the program did: its exit status (-2: killed after the time limit) and output.
struct Outcome {
  int status = -1;
  std::string output;  // stdout and stderr together
};

// `seqnet ARGS...` with extra environment, killed after `seconds` (a hang is a failure, not a
// stuck test). The arguments go to exec as they are: names with newlines or Latin-1 bytes too.
Outcome seqnet(const std::vector<std::string>& args, const std::string& log,
               const std::map<std::string, std::string>& env = {}, int seconds = 120) {
  std::vector<std::string> text = test::program_argv();
  text.insert(text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : text) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  Outcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int raw = 0;
  while (::waitpid(pid, &raw, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &raw, 0);
      outcome.output = read_text(log);
      outcome.status = -2;
      return outcome;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  outcome.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  outcome.output = read_text(log);
  return outcome;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_bytes(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void put_le(std::string& out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += char((value >> (8 * i)) & 0xff);
}

// An uncompressed 24-bit BMP of an RGB picture (rows bottom-up, padded to 4 bytes).
std::string bmp_of(const Image& rgb) {
  const uint32_t row = (uint32_t(rgb.width) * 3 + 3) / 4 * 4, pixels = row * uint32_t(rgb.height);
  std::string b = "BM";
  put_le(b, 54 + pixels, 4), put_le(b, 0, 4), put_le(b, 54, 4);
  put_le(b, 40, 4), put_le(b, rgb.width, 4), put_le(b, rgb.height, 4), put_le(b, 1, 2), put_le(b, 24, 2);
  put_le(b, 0, 4), put_le(b, pixels, 4), put_le(b, 2835, 4), put_le(b, 2835, 4), put_le(b, 0, 4), put_le(b, 0, 4);
  for (int y = rgb.height - 1; y >= 0; --y) {
    for (int x = 0; x < rgb.width; ++x)
      for (int c = 2; c >= 0; --c) b += char(std::lround(rgb.at(y, x, c) * 255));
    b += std::string(row - rgb.width * 3, '\0');
  }
  return b;
}

// A little-endian grey 8-bit TIFF, its directory first and its pixels in one strip after it (so
// that a copy cut in half still opens), with the given SampleFormat (1 unsigned, 2 signed).
std::string tiff_of(const Image& rgb, int sample_format) {
  const uint32_t w = rgb.width, h = rgb.height, entries = 10, data = 8 + 2 + entries * 12 + 4;
  std::string t = "II*";
  t += '\0';
  put_le(t, 8, 4);
  put_le(t, entries, 2);
  auto entry = [&](uint32_t tag, uint32_t type, uint32_t value) {
    put_le(t, tag, 2), put_le(t, type, 2), put_le(t, 1, 4), put_le(t, value, 4);
  };
  entry(256, 4, w), entry(257, 4, h), entry(258, 3, 8), entry(259, 3, 1), entry(262, 3, 1);
  entry(273, 4, data), entry(277, 3, 1), entry(278, 4, h), entry(279, 4, w * h), entry(339, 3, sample_format);
  put_le(t, 0, 4);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) t += char(std::lround(rgb.at(int(y), int(x), 1) * 120));
  return t;
}

// The manifest row of `key` in a shard table (its line), "" when absent.
std::string row_of(const std::string& table, const std::string& key) {
  std::istringstream lines(read_text(table));
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(key + ",", 0) == 0) return line;
  return "";
}

// Shared by the cases: three synthetic photographs, a tiny model, a finished tiny training run
// and the model's predictions of the photographs. A case that changes any of them copies it first.
class HostileCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const std::string log = dir_->str("setup.txt");
    Outcome synth = seqnet({"synth", "-o", data(), "-n", "3", "--seed", "4", "--size", "96x96"}, log);
    ASSERT_EQ(synth.status, 0) << synth.output;
    SeqNet model(test::tiny_model_config(), Device::cpu, DType::f32, 3);
    save_weights(weights(), model);
    Outcome train = seqnet(train_args(run()), log);
    ASSERT_EQ(train.status, 0) << train.output;
    Outcome predict = seqnet({"predict", "-i", data() + "/images", "-o", predictions(), "--weights", weights(), "--size", "32"}, log);
    ASSERT_EQ(predict.status, 0) << predict.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string data() { return dir_->str("data"); }
  static std::string weights() { return dir_->str("tiny.safetensors"); }
  static std::string run() { return dir_->str("run"); }
  static std::string predictions() { return dir_->str("pred"); }
  static std::string photo(int i) { return data() + "/images/synth_00" + std::to_string(i) + ".png"; }
  static std::vector<std::string> train_args(const std::string& run_dir, const std::string& data_dir = data()) {
    return {"train", "--data", data_dir, "-o", run_dir, "--width", "4", "--depth", "3", "--refine-depth", "2",
            "--seg-iterations", "1", "--cls-iterations", "1", "--size", "64", "--crop", "32", "--batch", "2",
            "--crops-per-image", "1", "--steps-per-epoch", "2", "--epochs", "1", "--val-fraction", "0.34",
            "--workers", "1", "--log-every", "1"};
  }
  // A copy of `from` in this case's own folder.
  std::string copy_of(const std::string& from, const std::string& name) {
    const std::string to = here_.str(name);
    fs::copy(from, to, fs::copy_options::recursive);
    return to;
  }
  std::string log() const { return here_.str("log.txt"); }
  std::vector<std::string> predict_args(const std::vector<std::string>& inputs, const std::string& out) const {
    std::vector<std::string> args = {"predict"};
    for (const std::string& input : inputs) args.insert(args.end(), {"-i", input});
    args.insert(args.end(), {"-o", out, "--weights", weights(), "--size", "32"});
    return args;
  }

  static test::TempDir* dir_;
  test::TempDir here_;
};
test::TempDir* HostileCli::dir_ = nullptr;

// ---- Data loss -------------------------------------------------------------------------------

TEST_F(HostileCli, ExportRefusesToWriteOverItsInputOrAFileOfARun) {
  const std::string run_dir = copy_of(run(), "run");
  const std::string last = run_dir + "/last.safetensors", before = bytes_of(last);
  Outcome same = seqnet({"export", last, "-o", last}, log());
  EXPECT_EQ(same.status, 2) << same.output;
  EXPECT_TRUE(contains(same.output, "is the input")) << same.output;
  Outcome other = seqnet({"export", run_dir + "/best.safetensors", "-o", last}, log());
  EXPECT_EQ(other.status, 2) << other.output;
  EXPECT_TRUE(contains(other.output, "--resume needs it")) << other.output;
  EXPECT_TRUE(bytes_of(last) == before) << "the checkpoint was replaced";
  Outcome elsewhere = seqnet({"export", last, "-o", here_.str("weights.safetensors")}, log());
  EXPECT_EQ(elsewhere.status, 0) << elsewhere.output;
}

TEST_F(HostileCli, TrainRefusesARunFolderThatHoldsARunUnlessResumedOrOverwritten) {
  const std::string run_dir = copy_of(run(), "run");
  const std::string log_before = bytes_of(run_dir + "/log.jsonl"), last_before = bytes_of(run_dir + "/last.safetensors");
  Outcome again = seqnet(train_args(run_dir), log());
  EXPECT_EQ(again.status, 2) << again.output;
  EXPECT_TRUE(contains(again.output, "--resume") && contains(again.output, "--overwrite")) << again.output;
  EXPECT_TRUE(bytes_of(run_dir + "/log.jsonl") == log_before) << "the log was replaced";
  EXPECT_TRUE(bytes_of(run_dir + "/last.safetensors") == last_before) << "the checkpoint was replaced";
  std::vector<std::string> overwrite = train_args(run_dir);
  overwrite.push_back("--overwrite");
  Outcome over = seqnet(overwrite, log());
  EXPECT_EQ(over.status, 0) << over.output;
}

TEST_F(HostileCli, AtomicWritesGoThroughSymbolicLinksAndNeverReplaceAFifo) {
  const std::string target = here_.str("report.json"), link = here_.str("link.json"), fifo = here_.str("fifo.json");
  write_bytes(target, "old\n");
  fs::create_symlink(target, link);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  Outcome through = seqnet({"evaluate", "--pred", predictions(), "--data", data(), "--json", link}, log());
  EXPECT_EQ(through.status, 0) << through.output;
  EXPECT_TRUE(fs::is_symlink(link)) << "the link was replaced by a file";
  EXPECT_TRUE(contains(read_text(target), "vessel")) << "the link's target was not written";
  Outcome refused = seqnet({"evaluate", "--pred", predictions(), "--data", data(), "--json", fifo}, log());
  EXPECT_EQ(refused.status, 1) << refused.output;
  EXPECT_TRUE(contains(refused.output, "not a regular file")) << refused.output;
  EXPECT_FALSE(contains(refused.output, "wrote")) << refused.output;
  EXPECT_TRUE(fs::is_fifo(fifo)) << "the FIFO was replaced by a file";
}

TEST_F(HostileCli, PredictNeverTakesItsOutputsForInputsNorWritesOverAnInput) {
  const std::string folder = here_.str("photos");
  fs::create_directories(folder);
  for (int i = 0; i < 3; ++i) fs::copy(photo(i), folder + "/eye" + std::to_string(i) + ".png");
  std::vector<std::string> args = predict_args({folder}, folder);
  args.push_back("--recursive");
  Outcome first = seqnet(args, log());
  ASSERT_EQ(first.status, 0) << first.output;
  Outcome rerun = seqnet(args, log());
  EXPECT_EQ(rerun.status, 0) << rerun.output;
  EXPECT_TRUE(contains(rerun.output, "3 of 3 photographs, 3 done earlier, 0 to predict")) << rerun.output;

  const std::string mixed = here_.str("mixed");
  fs::create_directories(mixed + "/overlay");
  fs::copy(photo(0), mixed + "/a.png");
  fs::copy(photo(1), mixed + "/overlay/a.png");
  const std::string input_before = bytes_of(mixed + "/overlay/a.png");
  args = predict_args({mixed}, mixed);
  args.push_back("--recursive");
  Outcome over = seqnet(args, log());
  EXPECT_EQ(over.status, 2) << over.output;
  EXPECT_TRUE(contains(over.output, "would replace the input")) << over.output;
  EXPECT_TRUE(bytes_of(mixed + "/overlay/a.png") == input_before) << "an input was overwritten";
}

// ---- Crashes, hangs, whole-run aborts ---------------------------------------------------------

TEST_F(HostileCli, TrainRefusesThousandsOfWorkers) {
  std::vector<std::string> args = train_args(here_.str("run"));
  args.insert(args.end(), {"--workers", "40000"});
  Outcome o = seqnet(args, log());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(contains(o.output, "workers must be 1 to 256")) << o.output;
}

TEST_F(HostileCli, AFifoAmongThePhotographsIsAnErrorRowNotAHang) {
  const std::string fifo = here_.str("fifo.png");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  Outcome o = seqnet(predict_args({fifo, photo(0)}, here_.str("out")), log(), {}, 60);
  EXPECT_EQ(o.status, 1) << o.output;
  const std::string table = here_.str("out/manifest/shard-0-of-1.csv");
  EXPECT_TRUE(contains(row_of(table, "fifo.png"), "error")) << read_text(table);
  EXPECT_TRUE(contains(row_of(table, "fifo.png"), "not a regular file")) << read_text(table);
  EXPECT_TRUE(contains(row_of(table, "synth_000.png"), ",ok,")) << read_text(table);

  const std::string list = here_.str("fifo.txt");  // a list of photographs that is a FIFO
  ASSERT_EQ(mkfifo(list.c_str(), 0644), 0);
  Outcome listed = seqnet(predict_args({list}, here_.str("out2")), log(), {}, 60);
  EXPECT_EQ(listed.status, 2) << listed.output;
  EXPECT_TRUE(contains(listed.output, "FIFO")) << listed.output;
}

TEST_F(HostileCli, ASymbolicLinkLoopIsOneErrorRowAndTheRunGoesOn) {
  const std::string folder = here_.str("photos");
  fs::create_directories(folder);
  fs::copy(photo(0), folder + "/a.png");
  fs::create_symlink("loop.png", folder + "/loop.png");  // itself
  fs::create_symlink(".", folder + "/again");           // the folder itself
  std::vector<std::string> args = predict_args({folder}, here_.str("out"));
  args.push_back("--recursive");
  Outcome o = seqnet(args, log());
  EXPECT_EQ(o.status, 1) << o.output;
  const std::string table = here_.str("out/manifest/shard-0-of-1.csv");
  EXPECT_TRUE(contains(row_of(table, "a.png"), ",ok,")) << read_text(table);
  EXPECT_TRUE(contains(row_of(table, "loop.png"), ",error,")) << read_text(table);
  EXPECT_TRUE(contains(row_of(table, "again"), ",error,")) << read_text(table);
}

TEST_F(HostileCli, NamesThatAreNotUtf8OrHoldANewlineKeepOneKeyInEveryTable) {
  const std::string folder = here_.str("photos");
  fs::create_directories(folder);
  fs::copy(photo(0), folder + "/caf\xe9.png");  // Latin-1
  fs::copy(photo(1), folder + "/new\nline.png");
  const std::string out = here_.str("out");
  std::vector<std::string> args = predict_args({folder}, out);
  args.push_back("--json");
  Outcome o = seqnet(args, log());
  EXPECT_EQ(o.status, 0) << o.output;
  const std::string json = read_text(out + "/manifest/shard-0-of-1.jsonl"), csv = out + "/manifest/shard-0-of-1.csv";
  EXPECT_TRUE(contains(json, R"("path":"caf\\xE9.png")")) << json;
  EXPECT_TRUE(contains(json, R"("path":"new\\x0Aline.png")")) << json;
  EXPECT_TRUE(contains(row_of(csv, "caf\\xE9.png"), ",ok,")) << read_text(csv);
  EXPECT_TRUE(contains(row_of(csv, "new\\x0Aline.png"), ",ok,")) << read_text(csv);
  Outcome merged = seqnet({"predict", "--merge-manifests", out, "-i", folder}, log());
  EXPECT_EQ(merged.status, 0) << merged.output;
  EXPECT_TRUE(contains(merged.output, "2 of 2 input photographs have a row")) << merged.output;
}

// ---- Silent wrong results ---------------------------------------------------------------------

TEST_F(HostileCli, TruncatedBmpAndTiffAreErrorRowsThatSayWhatIsMissing) {
  const Image rgb = to_rgb(read_image(photo(0)));
  const std::string bmp = bmp_of(rgb), tiff = tiff_of(rgb, 1);
  write_bytes(here_.str("whole.bmp"), bmp);
  write_bytes(here_.str("cut.bmp"), bmp.substr(0, 100));
  write_bytes(here_.str("whole_tiff.tif"), tiff);
  write_bytes(here_.str("cut_tiff.tif"), tiff.substr(0, tiff.size() / 2));
  Outcome o = seqnet(predict_args({here_.str("whole.bmp"), here_.str("cut.bmp"), here_.str("whole_tiff.tif"), here_.str("cut_tiff.tif")},
                                  here_.str("out")),
                     log());
  EXPECT_EQ(o.status, 1) << o.output;
  const std::string table = here_.str("out/manifest/shard-0-of-1.csv");
  EXPECT_TRUE(contains(row_of(table, "whole.bmp"), ",ok,")) << read_text(table);
  EXPECT_TRUE(contains(row_of(table, "whole_tiff.tif"), ",ok,")) << read_text(table);
  EXPECT_TRUE(contains(row_of(table, "cut.bmp"), "truncated BMP")) << read_text(table);
  EXPECT_TRUE(contains(row_of(table, "cut.bmp"), "cut.bmp")) << "the message names the file";
  EXPECT_TRUE(contains(row_of(table, "cut_tiff.tif"), "truncated TIFF")) << read_text(table);
}

TEST_F(HostileCli, TrainRefusesThePhotographGivenTwice) {
  const std::string nested = here_.str("nested");
  fs::create_directories(nested);
  fs::copy(data(), nested + "/training", fs::copy_options::recursive);
  std::vector<std::string> args = train_args(here_.str("run"), nested);
  args.insert(args.end(), {"--data", nested + "/training"});
  Outcome same_file = seqnet(args, log());
  EXPECT_EQ(same_file.status, 1) << same_file.output;
  EXPECT_TRUE(contains(same_file.output, "the same file as")) << same_file.output;
  args = train_args(here_.str("run"));
  args.insert(args.end(), {"--data", nested});  // a copy of every photograph under other paths
  Outcome copy = seqnet(args, log());
  EXPECT_EQ(copy.status, 1) << copy.output;
  EXPECT_TRUE(contains(copy.output, "a copy of")) << copy.output;
  EXPECT_FALSE(fs::exists(here_.str("run/last.safetensors")));
}

TEST_F(HostileCli, EvaluateRefusesAPredictionOfAnotherShapeAndReportsEachResize) {
  const std::string pred = copy_of(predictions(), "pred");
  write_png(pred + "/out_seg/synth_000.png", Image(300, 20, 1));
  Outcome wrong = seqnet({"evaluate", "--pred", pred, "--data", data()}, log());
  EXPECT_EQ(wrong.status, 1) << wrong.output;
  EXPECT_TRUE(contains(wrong.output, "not the shape of the ground truth")) << wrong.output;
  write_png(pred + "/out_seg/synth_000.png", Image(32, 32, 1));
  Outcome scaled = seqnet({"evaluate", "--pred", pred, "--data", data()}, log());
  EXPECT_EQ(scaled.status, 0) << scaled.output;
  EXPECT_TRUE(contains(scaled.output, "synth_000: prediction 32x32 resized to the ground truth's 96x96")) << scaled.output;
}

TEST_F(HostileCli, NonFiniteNumbersAreRefusedByEveryNumericOption) {
  std::vector<std::string> args = predict_args({photo(0)}, here_.str("out"));
  args.insert(args.end(), {"--pp-vessel-threshold", "nan"});
  Outcome o = seqnet(args, log());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(contains(o.output, "--pp-vessel-threshold must be a finite number")) << o.output;
  args = train_args(here_.str("run"));
  args.insert(args.end(), {"--lr", "inf"});
  o = seqnet(args, log());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(contains(o.output, "--lr must be a finite number")) << o.output;
}

TEST_F(HostileCli, ASignedTiffIsRefused) {
  write_bytes(here_.str("signed.tif"), tiff_of(to_rgb(read_image(photo(0))), 2));
  Outcome o = seqnet(predict_args({here_.str("signed.tif")}, here_.str("out")), log());
  EXPECT_EQ(o.status, 1) << o.output;
  EXPECT_TRUE(contains(row_of(here_.str("out/manifest/shard-0-of-1.csv"), "signed.tif"), "signed integers")) << o.output;
}

TEST_F(HostileCli, AHashAfterAPathInAListStartsAComment) {
  fs::copy(photo(0), here_.str("a.png"));
  fs::copy(photo(1), here_.str("b#1.png"));
  write_bytes(here_.str("list.txt"), "# photographs\na.png  # the left eye\nb#1.png\n");
  std::vector<std::string> args = predict_args({here_.str("list.txt")}, here_.str("out"));
  args.push_back("--dry-run");
  Outcome o = seqnet(args, log());
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_TRUE(contains(o.output, "todo\ta.png\n")) << o.output;
  EXPECT_TRUE(contains(o.output, "todo\tb#1.png\n")) << "a '#' inside a name is part of it: " << o.output;
}

TEST_F(HostileCli, WeightsWithoutAConfigurationTakeTheModelOptions) {
  TensorFile file = read_safetensors(weights());
  file.metadata.clear();  // as PyTorch's save_file(state_dict) writes it
  const std::string bare = here_.str("state_dict.safetensors");
  write_safetensors(bare, file);
  const std::vector<std::string> model = {"--width", "4", "--depth", "3", "--refine-depth", "2", "--seg-iterations", "1",
                                          "--cls-iterations", "1"};
  std::vector<std::string> args = {"predict", "-i", photo(0), "-o", here_.str("out"), "--weights", bare, "--size", "32"};
  args.insert(args.end(), model.begin(), model.end());
  Outcome predicted = seqnet(args, log());
  EXPECT_EQ(predicted.status, 0) << predicted.output;
  EXPECT_TRUE(contains(predicted.output, "stores no model configuration")) << predicted.output;
  args = {"summary", "--weights", bare, "--size", "32"};
  args.insert(args.end(), model.begin(), model.end());
  Outcome summary = seqnet(args, log());
  EXPECT_EQ(summary.status, 0) << summary.output;
  EXPECT_TRUE(contains(summary.output, "width 4")) << summary.output;
  Outcome conflict = seqnet({"summary", "--weights", weights(), "--width", "8"}, log());
  EXPECT_EQ(conflict.status, 2) << conflict.output;
  EXPECT_TRUE(contains(conflict.output, "conflicts with")) << conflict.output;
}

TEST_F(HostileCli, SizesPastEveryLimitAreRefusedNotCrashedOrWrappedAround) {
  Outcome trace = seqnet({"trace", "--size", "100000"}, log());
  EXPECT_EQ(trace.status, 2) << trace.output;
  EXPECT_TRUE(contains(trace.output, "too large for a trace")) << trace.output;
  Outcome summary = seqnet({"summary", "--batch", "1000000000", "--size", "8192"}, log());
  EXPECT_EQ(summary.status, 2) << summary.output;
  EXPECT_TRUE(contains(summary.output, "too large to count")) << summary.output;
}

// ---- Messages ---------------------------------------------------------------------------------

TEST_F(HostileCli, MessagesSayWhatIsWrong) {
  std::string png = bytes_of(photo(0));
  png.replace(16, 4, std::string(4, '\0'));  // IHDR width 0
  write_bytes(here_.str("empty.png"), png);
  Outcome empty = seqnet(predict_args({here_.str("empty.png")}, here_.str("out")), log());
  EXPECT_TRUE(contains(row_of(here_.str("out/manifest/shard-0-of-1.csv"), "empty.png"), "declares 0 x 96 pixels"))
      << empty.output;

  Outcome folder = seqnet({"predict", "-i", photo(0), "-o", here_.str("out2"), "--weights", here_.str("")}, log());
  EXPECT_EQ(folder.status, 2) << folder.output;
  EXPECT_TRUE(contains(folder.output, "a folder, not a file")) << folder.output;

  Outcome synth = seqnet({"synth", "-o", here_.str("synth"), "-n", "1", "--size", "100000x100000"}, log());
  EXPECT_EQ(synth.status, 2) << synth.output;
  EXPECT_TRUE(contains(synth.output, "out of range")) << synth.output;

  std::vector<std::string> args = predict_args({photo(0)}, here_.str("out3"));
  Outcome slurm = seqnet(args, log(), {{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "0"}});
  EXPECT_EQ(slurm.status, 2) << slurm.output;
  EXPECT_TRUE(contains(slurm.output, "SLURM_ARRAY_TASK_COUNT=0: a job array has at least one task")) << slurm.output;

  Outcome limit = seqnet(args, log(), {{"SEQNET_MAX_IMAGE_MEGAPIXELS", "lots"}});
  EXPECT_EQ(limit.status, 2) << limit.output;
  EXPECT_TRUE(contains(limit.output, "SEQNET_MAX_IMAGE_MEGAPIXELS='lots'")) << limit.output;
  EXPECT_FALSE(fs::exists(here_.str("out3/manifest"))) << "stopped at the start, before any photograph";
}

// ---- The document --------------------------------------------------------------------------------

// docs/RELIABILITY.md quotes a test for every promise: each one it names is here, and each test
// here is quoted, so the document cannot drift from what is tested.
TEST(HostileCliDoc, ReliabilityDocNamesEveryHostileTestAndNoOther) {
  const std::string doc = read_text(std::string(SEQNET_SOURCE_DIR) + "/docs/RELIABILITY.md");
  const std::string source = read_text(std::string(SEQNET_SOURCE_DIR) + "/tests/test_hostile_cli.cpp");
  ASSERT_FALSE(doc.empty());
  std::set<std::string> quoted, defined;
  for (size_t at = 0; (at = doc.find("`HostileCli.", at)) != std::string::npos;) {
    const size_t end = doc.find('`', at + 1);
    quoted.insert(doc.substr(at + 12, end - at - 12));
    at = end;
  }
  const std::string define = std::string("TEST_F(") + "HostileCli, ";  // split: this line is no test
  for (size_t at = 0; (at = source.find(define, at)) != std::string::npos;) {
    const size_t end = source.find(')', at);
    defined.insert(source.substr(at + define.size(), end - at - define.size()));
    at = end;
  }
  EXPECT_EQ(quoted, defined);
}

}  // namespace
}  // namespace seqnet
