// cmd_synth.cpp: `seqnet synth -o DIR -n N [--seed S] [--size WxH]`: draws synthetic fundus
// photographs with artery/vein labels and field-of-view masks (synth/fundus.h) in the layout of
// ../shared/data, so that everything downstream can run without the real datasets.
#include <cstdio>
#include <string>
#include <vector>

#include "apps/args.h"
#include "apps/registry.h"
#include "synth/fundus.h"

namespace seqnet::cli {

namespace {

// "565x584" -> {565, 584}; UsageError for anything else.
std::pair<int, int> parse_size(const std::string& text) {
  const size_t x = text.find('x');
  auto side = [&](const std::string& part) {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) return -1;
    if (part.size() > 9) return 1000000000;  // out of range, said below
    return std::stoi(part);
  };
  const int w = x == std::string::npos ? -1 : side(text.substr(0, x));
  const int h = x == std::string::npos ? -1 : side(text.substr(x + 1));
  if (w < 0 || h < 0)
    throw UsageError("--size must be WIDTHxHEIGHT in pixels, e.g. 565x584, got '" + text + "'");
  if (w < 64 || h < 64 || w > 8192 || h > 8192)
    throw UsageError("--size " + text + " is out of range: each side must be 64 to 8192 pixels");
  return {w, h};
}

int run(int argc, char** argv) {
  Args args("synth", "-o DIR -n N [--seed S] [--size WxH]",
            "Draws N synthetic fundus photographs with their artery/vein labels (RITE colours) and\n"
            "field-of-view masks into DIR/images, DIR/av and DIR/mask. The same seed gives the same files.");
  args.option("out", "", "output folder", "DIR")
      .short_name('o', "out")
      .option("n", "", "number of images", "N")
      .short_name('n', "n")
      .option("seed", "1", "random seed", "S")
      .option("size", "565x584", "image size", "WxH");
  if (!args.parse(argc, argv)) return 0;

  if (!args.given("out")) throw UsageError("missing -o DIR (where to write the images)");
  if (!args.given("n")) throw UsageError("missing -n N (how many images to draw)");
  const int n = args.integer("n");
  if (n < 1) throw UsageError("-n must be at least 1, got " + std::to_string(n));
  const std::string seed_text = args.str("seed");
  if (seed_text.empty() || seed_text.find_first_not_of("0123456789") != std::string::npos || seed_text.size() > 19)
    throw UsageError("--seed must be a non-negative integer, got '" + seed_text + "'");
  const uint64_t seed = std::stoull(seed_text);
  const auto [width, height] = parse_size(args.str("size"));
  const std::string dir = args.str("out");

  write_synthetic_set(dir, n, seed, width, height, [&](int index, const std::string& name) {
    std::printf("synth: %d/%d %s\n", index + 1, n, name.c_str());
    std::fflush(stdout);
  });
  std::printf("synth: wrote %d image%s (%dx%d, seed %llu) to %s/images, %s/av and %s/mask\n", n, n == 1 ? "" : "s", width, height,
              static_cast<unsigned long long>(seed), dir.c_str(), dir.c_str(), dir.c_str());
  return 0;
}

const bool registered = register_command({"synth", "draw synthetic fundus photographs with artery/vein labels", 60, run});

}  // namespace

}  // namespace seqnet::cli
