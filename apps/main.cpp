// main.cpp: `seqnet COMMAND ...`: finds the command (apps/registry.h) and turns every error into
// a message and an exit status instead of a crash.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "apps/args.h"
#include "apps/registry.h"
#include "io/image.h"

namespace seqnet::cli {

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> list;
  return list;
}

void print_help() {
  std::printf(
      "seqnet %s: retinal vessel segmentation and artery/vein classification (SeqNet), on CPU or CUDA\n\n"
      "usage: seqnet COMMAND [options]     (seqnet COMMAND --help for its options)\n\ncommands:\n",
      SEQNET_VERSION);
  for (const Command& c : commands()) std::printf("  %-10s %s\n", c.name.c_str(), c.summary.c_str());
}
}  // namespace

bool register_command(const Command& command) {
  registry().push_back(command);
  return true;
}

const std::vector<Command>& commands() {
  std::sort(registry().begin(), registry().end(), [](const Command& a, const Command& b) { return a.order < b.order; });
  return registry();
}

}  // namespace seqnet::cli

// GNU OpenMP reads OMP_WAIT_POLICY once, before main. Its default lets idle threads spin after
// every parallel region. On an idle machine that saves the wake-up of a sleeping thread (a
// training step 0.72 s spinning against 0.85 s sleeping, docs/PERFORMANCE.md), but as soon as any
// other process wants a core, the spinning threads take the cores the working ones need: with one
// other busy process on 2 cores a small model's training step took 70x longer (0.84 s against
// 0.012 s). The load average cannot tell in time (it lags by a minute), so unless the user chose a
// policy the program restarts itself once with the passive one: a little slower when the machine
// is idle, never pathological when it is not. OMP_WAIT_POLICY=active gives the spinning back.
void prefer_passive_openmp_threads(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then carry on as we are
}

int main(int argc, char** argv) {
  prefer_passive_openmp_threads(argv);
  using namespace seqnet::cli;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("seqnet %s\n", SEQNET_VERSION);
    return 0;
  }
  for (const Command& c : commands()) {
    if (c.name != argv[1]) continue;
    // A bad image-size limit is checked once, here: found while reading, it would make every
    // photograph of a cohort an error row.
    try {
      seqnet::max_image_pixels();
    } catch (const seqnet::ImageError& e) {
      std::fprintf(stderr, "seqnet %s: %s\n", argv[1], e.what());
      return 2;
    }
    try {
      return c.run(argc - 2, argv + 2);
    } catch (const UsageError& e) {
      std::fprintf(stderr, "seqnet %s: %s\n(see 'seqnet %s --help')\n", argv[1], e.what(), argv[1]);
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "seqnet %s: error: %s\n", argv[1], e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "seqnet: unknown command '%s' (see 'seqnet --help')\n", argv[1]);
  return 2;
}
