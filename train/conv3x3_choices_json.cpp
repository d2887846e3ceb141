// conv3x3_choices_json.cpp: see conv3x3_choices_json.h.
#include "train/conv3x3_choices_json.h"

#include <stdexcept>
#include <vector>

#include "kernels/cpu/conv3x3_algorithm.h"

namespace seqnet {

namespace {

cpu::Conv3x3Pass pass_from_name(const std::string& name) {
  for (cpu::Conv3x3Pass pass :
       {cpu::Conv3x3Pass::forward, cpu::Conv3x3Pass::input_gradient, cpu::Conv3x3Pass::weight_gradient})
    if (name == cpu::conv3x3_pass_name(pass)) return pass;
  throw std::runtime_error("unknown pass '" + name + "'");
}

}  // namespace

nlohmann::json conv3x3_choices_to_json() {
  nlohmann::json choices = nlohmann::json::array();
  for (const cpu::Conv3x3Choice& c : cpu::conv3x3_choices()) {
    nlohmann::json seconds = nlohmann::json::object();
    for (const auto& [algorithm, s] : c.seconds) seconds[cpu::conv3x3_algorithm_name(algorithm)] = s;
    choices.push_back({{"pass", cpu::conv3x3_pass_name(c.shape.pass)},
                       {"N", c.shape.N},
                       {"C", c.shape.C},
                       {"K", c.shape.K},
                       {"H", c.shape.H},
                       {"W", c.shape.W},
                       {"chosen", cpu::conv3x3_algorithm_name(c.algorithm)},
                       {"seconds", seconds}});
  }
  return {{"machine", cpu::conv3x3_timing_machine()}, {"choices", choices}};
}

std::string preset_conv3x3_choices_from_json(const nlohmann::json& j, const std::string& source) {
  std::vector<cpu::Conv3x3Choice> choices;
  std::string machine;
  try {
    machine = j.at("machine").get<std::string>();
    for (const nlohmann::json& c : j.at("choices")) {
      const std::string name = c.at("chosen").get<std::string>();
      const auto algorithm = cpu::conv3x3_algorithm_from_name(name);
      if (!algorithm) throw std::runtime_error("unknown algorithm '" + name + "'");
      const cpu::Conv3x3Shape shape{pass_from_name(c.at("pass").get<std::string>()), c.at("N").get<int>(),
                                    c.at("C").get<int>(), c.at("H").get<int>(), c.at("W").get<int>(),
                                    c.at("K").get<int>()};
      choices.push_back({shape, *algorithm, {}});
    }
  } catch (const std::exception& e) {  // a missing or mistyped field, an unknown name
    throw std::runtime_error(source + ": the 3x3 convolution choices are unreadable: " + e.what());
  }
  const std::string here = cpu::conv3x3_timing_machine();
  if (machine != here)
    return "3x3 convolution algorithms measured anew: " + source + " chose them on " + machine + ", this is " + here +
           " (the run may round differently from an uninterrupted one)";
  const int taken = cpu::preset_conv3x3_choices(choices);
  return "3x3 convolution algorithms as " + source + " measured them (" + std::to_string(taken) + " shapes)";
}

}  // namespace seqnet
