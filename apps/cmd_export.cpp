// cmd_export.cpp: `seqnet export CHECKPOINT -o WEIGHTS`: the weights of a training checkpoint
// without its optimizer state (a third of the size), with the model configuration and the
// training settings kept in the metadata. This is the form a trained model ships in (models/).
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "apps/args.h"
#include "apps/path_checks.h"
#include "apps/registry.h"
#include "io/safetensors.h"
#include "model/weights.h"

namespace seqnet::cli {
namespace {

namespace fs = std::filesystem;

int run(int argc, char** argv) {
  Args args("export", "CHECKPOINT -o WEIGHTS",
            "Writes the model of a training checkpoint (seqnet train's last.safetensors or best.safetensors)\n"
            "as a weights-only file: every parameter and running statistic, named as PyTorch's state_dict(),\n"
            "with the model configuration; the optimizer state is left out. The checkpoint's training\n"
            "settings and step are copied into the metadata so the file says how it was made. A run trained\n"
            "with --ema is written as its weight average (what it validated), unless --trained-weights.");
  args.option("out", "", "weights file to write", "WEIGHTS").short_name('o', "out");
  args.flag("trained-weights",
            "for a run trained with --ema: write the weights of its last step instead of their average (the default)");
  args.positionals("CHECKPOINT: the training checkpoint to read");
  if (!args.parse(argc, argv)) return 0;
  if (args.positional().size() != 1) throw UsageError("give exactly one CHECKPOINT to export");
  if (!args.given("out")) throw UsageError("missing -o WEIGHTS (the file to write)");
  const std::string checkpoint = args.positional()[0];
  require_regular_file(checkpoint, "CHECKPOINT");
  refuse_output_over_input(args.str("out"), checkpoint, "-o");
  refuse_output_in_run_folder(args.str("out"), "-o");

  const std::unique_ptr<SeqNet> model = load_model(checkpoint, Device::cpu);
  std::map<std::string, std::string> provenance;
  const TensorFile file = read_safetensors(checkpoint);
  // A run trained with --ema ships its weight average (train/weight_average.h), unless asked not to.
  const bool has_average = file.tensors.count(kAverageWeightsTensor) && file.tensors.count(kAverageStatisticsTensor);
  const bool use_average = has_average && !args.on("trained-weights");
  if (use_average) {
    ParameterStore& params = model->params();
    expect_shape(file.tensors.at(kAverageWeightsTensor), params.values().shape(), checkpoint + ": " + kAverageWeightsTensor);
    expect_shape(file.tensors.at(kAverageStatisticsTensor), params.state().shape(), checkpoint + ": " + kAverageStatisticsTensor);
    params.values().copy_from(file.tensors.at(kAverageWeightsTensor));
    params.state().copy_from(file.tensors.at(kAverageStatisticsTensor));
  }
  provenance["weights"] = use_average ? "ema" : "trained";
  for (const char* key : {"settings", "training"})
    if (file.metadata.count(key)) provenance[key] = file.metadata.at(key);
  provenance["exported_from"] = fs::path(checkpoint).filename().string();
  save_weights(args.str("out"), *model, provenance);
  std::printf("wrote %s (%s, weights only%s)\n", args.str("out").c_str(), model->config().describe().c_str(),
              use_average ? ", the run's weight average" : "");
  return 0;
}

const bool registered = register_command({"export", "write a checkpoint's weights without optimizer state", 75, run});

}  // namespace
}  // namespace seqnet::cli
