// model_options.cpp: the model settings as options (model_options.h).
#include "apps/model_options.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "model/weights.h"

namespace seqnet::cli {

void add_model_options(Args& args, const ModelConfig& d) {
  auto num = [](auto v) {
    std::ostringstream s;
    s << v;
    return s.str();
  };
  args.option("width", num(d.width), "channels at the first level (level l has width*2^l)", "W")
      .option("cls-width", num(d.cls_width),
              "the classification branch's own width (0: --width; not in the spec: capacity where the artery/vein "
              "call needs it)",
              "W")
      .option("depth", num(d.depth), "UNet levels of each branch", "N")
      .option("refine-depth", num(d.refine_depth), "levels of the refiner's UNet", "N")
      .option("seg-iterations", num(d.seg_iterations), "refiner iterations of the segmentation branch", "T")
      .option("cls-iterations", num(d.cls_iterations), "refiner iterations of the classification branch", "U")
      .option("norm", d.norm == Norm::batch ? "batch" : "none", "normalisation after each conv: batch or none", "NORM")
      .option("dropout", num(d.dropout), "dropout probability after each conv block", "P")
      .option("input-norm", to_string(d.input_norm),
              "what the model sees: 'none' (the photograph, the spec's) or 'fov' (background removed and contrast "
              "equalised per photograph in its field of view)",
              "NAME");
}

ModelConfig model_config_from(const Args& args) {
  ModelConfig c;
  c.width = args.integer("width");
  c.cls_width = args.integer("cls-width");
  c.depth = args.integer("depth");
  c.refine_depth = args.integer("refine-depth");
  c.seg_iterations = args.integer("seg-iterations");
  c.cls_iterations = args.integer("cls-iterations");
  const std::string norm = args.str("norm");
  if (norm != "batch" && norm != "none") throw UsageError("--norm must be batch or none, got '" + norm + "'");
  c.norm = norm == "batch" ? Norm::batch : Norm::none;
  c.dropout = static_cast<float>(args.number("dropout"));
  try {
    c.input_norm = input_norm_from(args.str("input-norm"));
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--input-norm: ") + e.what());
  }
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  return c;
}

ModelConfig model_config_for_weights(const Args& args, const std::string& weights, std::FILE* log) {
  const ModelConfig asked = model_config_from(args);
  if (!weights_carry_config(weights)) {
    std::fprintf(log, "%s stores no model configuration (a PyTorch state_dict?): building %s from the model options\n",
                 weights.c_str(), asked.describe().c_str());
    return asked;
  }
  const ModelConfig stored = weights_config(weights, asked);
  const nlohmann::json stored_json = nlohmann::json::parse(stored.to_json()), asked_json = nlohmann::json::parse(asked.to_json());
  for (const char* option : {"width", "depth", "refine-depth", "seg-iterations", "cls-iterations", "norm", "dropout"}) {
    std::string key = option;
    std::replace(key.begin(), key.end(), '-', '_');
    if (args.given(option) && stored_json.at(key) != asked_json.at(key))
      throw UsageError("--" + std::string(option) + " " + asked_json.at(key).dump() + " conflicts with " + weights +
                       ", which stores " + stored_json.at(key).dump() + " (" + stored.describe() + "); leave it out");
  }
  return stored;
}

}  // namespace seqnet::cli
