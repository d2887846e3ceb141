// cmd_summary.cpp: `seqnet summary`: the layer table of a model for one input size (model/summary.h).
#include <cstdio>

#include "apps/args.h"
#include "apps/model_options.h"
#include "apps/path_checks.h"
#include "apps/registry.h"
#include "model/summary.h"
#include "model/weights.h"

namespace seqnet::cli {
namespace {

int run(int argc, char** argv) {
  Args args("summary", "[--weights FILE | model options] [--size N] [--batch N]",
            "Prints one row per layer of SeqNet as it runs on a batch of NxN images: the layer's path (its\n"
            "parameter names' prefix), type, output shape, parameters (the refiner's repeated applications are\n"
            "marked shared and counted once), forward multiply-adds and output memory; then the totals.\n"
            "Computed from the configuration alone; with --weights the configuration stored in that file (the\n"
            "model options when it stores none).");
  args.option("weights", "", "read the model configuration from this weights file", "FILE");
  args.option("size", "576", "input height and width", "N");
  args.option("batch", "1", "images per batch", "N");
  add_model_options(args);
  if (!args.parse(argc, argv)) return 0;
  ModelConfig config = model_config_from(args);
  if (args.given("weights")) {
    require_regular_file(args.str("weights"), "--weights");
    config = model_config_for_weights(args, args.str("weights"), stderr);
  }
  ModelSummary summary;
  try {
    summary = summarize_model(config, args.integer("batch"), args.integer("size"), args.integer("size"));
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  std::fputs(format_summary(summary).c_str(), stdout);
  return 0;
}

const bool registered = register_command({"summary", "print the model's layers, shapes, parameters and costs", 50, run});

}  // namespace
}  // namespace seqnet::cli
