// fuzz_model_config.cpp: libFuzzer harness for ModelConfig::from_json (model/config.h), which
// reads the "config" metadata of every weights file and checkpoint a user passes (predict
// --weights, summary --weights, train --resume), and for the checked JSON number conversions
// (io/json_number.h) the training checkpoint's "settings" and "training" metadata go through.
//
// Passes when every input either gives a valid configuration that survives a round trip through
// to_json, or is refused with std::invalid_argument. Anything else is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "io/json_number.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const seqnet::ModelConfig config = seqnet::ModelConfig::from_json(text);
    if (seqnet::ModelConfig::from_json(config.to_json()).to_json() != config.to_json()) {
      std::fprintf(stderr, "fuzz_model_config: the configuration changed in a round trip\n");
      std::abort();
    }
  } catch (const std::invalid_argument&) {
  }
  // Every value of a JSON document through each conversion the checkpoints use.
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;
  auto convert_all = [](const nlohmann::json& v) {
    for (auto convert : {+[](const nlohmann::json& x) { (void)seqnet::json_integer<int>(x, "v"); },
                         +[](const nlohmann::json& x) { (void)seqnet::json_integer<int64_t>(x, "v"); },
                         +[](const nlohmann::json& x) { (void)seqnet::json_integer<uint64_t>(x, "v"); },
                         +[](const nlohmann::json& x) { (void)seqnet::json_real<float>(x, "v"); },
                         +[](const nlohmann::json& x) { (void)seqnet::json_real<double>(x, "v"); }}) {
      try {
        convert(v);
      } catch (const std::invalid_argument&) {
      }
    }
  };
  convert_all(j);
  if (j.is_structured())
    for (const auto& v : j) convert_all(v);
  return 0;
}
