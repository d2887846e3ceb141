// config.cpp: ModelConfig checks and its JSON form.
#include "model/config.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "io/json_number.h"

namespace seqnet {

void ModelConfig::validate() const {
  auto range = [](const char* name, int v, int lo, int hi) {
    if (v < lo || v > hi)
      throw std::invalid_argument(std::string(name) + " must be in [" + std::to_string(lo) + ", " +
                                  std::to_string(hi) + "], got " + std::to_string(v));
  };
  range("width", width, 1, 1024);
  range("cls_width", cls_width, 0, 1024);
  range("depth", depth, 1, 8);
  range("refine_depth", refine_depth, 1, 8);
  range("seg_iterations", seg_iterations, 0, 16);
  range("cls_iterations", cls_iterations, 0, 16);
  if (!(dropout >= 0.0f && dropout < 1.0f))
    throw std::invalid_argument("dropout must be in [0, 1), got " + std::to_string(dropout));
}

int ModelConfig::size_multiple() const { return 1 << (std::max(depth, refine_depth) - 1); }

std::string ModelConfig::to_json() const {
  nlohmann::json j = {{"width", width},
                      {"depth", depth},
                      {"refine_depth", refine_depth},
                      {"seg_iterations", seg_iterations},
                      {"cls_iterations", cls_iterations},
                      {"norm", norm == Norm::batch ? "batch" : "none"},
                      {"dropout", dropout}};
  if (cls_width > 0) j["cls_width"] = cls_width;
  if (input_norm != InputNorm::none) j["input_norm"] = to_string(input_norm);
  return j.dump();
}

ModelConfig ModelConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::invalid_argument("model config is not a JSON object: " + text);
  ModelConfig c;
  try {
    for (auto& [key, v] : j.items()) {
      if (key == "width") c.width = json_integer<int>(v, key);
      else if (key == "cls_width") c.cls_width = json_integer<int>(v, key);
      else if (key == "depth") c.depth = json_integer<int>(v, key);
      else if (key == "refine_depth") c.refine_depth = json_integer<int>(v, key);
      else if (key == "seg_iterations") c.seg_iterations = json_integer<int>(v, key);
      else if (key == "cls_iterations") c.cls_iterations = json_integer<int>(v, key);
      else if (key == "dropout") c.dropout = json_real<float>(v, key);
      else if (key == "input_norm") c.input_norm = input_norm_from(v.get<std::string>());
      else if (key == "norm") {
        std::string n = v.get<std::string>();
        if (n != "batch" && n != "none") throw std::invalid_argument("norm must be 'batch' or 'none', got '" + n + "'");
        c.norm = n == "batch" ? Norm::batch : Norm::none;
      } else {
        throw std::invalid_argument("unknown model setting '" + key + "'");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("model config has a value of the wrong type: ") + e.what());
  }
  c.validate();
  return c;
}

std::string ModelConfig::describe() const {
  std::ostringstream s;
  s << "width " << width << ", depth " << depth << ", refine_depth " << refine_depth << ", seg_iterations "
    << seg_iterations << ", cls_iterations " << cls_iterations << ", norm " << (norm == Norm::batch ? "batch" : "none")
    << ", dropout " << dropout;
  if (cls_width > 0) s << ", cls_width " << cls_width;
  if (input_norm != InputNorm::none) s << ", input_norm " << to_string(input_norm);
  return s.str();
}

}  // namespace seqnet
