// weight_average.cpp: WeightAverage (weight_average.h).
#include "train/weight_average.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace seqnet {

namespace {

// average <- keep * average + (1 - keep) * current, on the host.
void blend(Tensor& average, const Tensor& current, float keep) {
  const Tensor host = current.device() == Device::cpu ? current : current.to(Device::cpu);
  const float* c = host.f32();
  float* a = average.f32();
  for (int64_t i = 0; i < average.numel(); ++i) a[i] = keep * a[i] + (1.0f - keep) * c[i];
}

}  // namespace

WeightAverage::WeightAverage(double decay, ParameterStore& params, bool warmup)
    : params_(params), decay_(float(decay)), warmup_(warmup), weights_(params.values().to(Device::cpu)), statistics_(params.state().to(Device::cpu)) {
  if (!(decay > 0 && decay < 1)) throw std::invalid_argument("the weight average's decay must be in (0, 1), got " + std::to_string(decay));
}

float WeightAverage::keep_at(int64_t step) const {
  if (!warmup_) return decay_;
  return std::min(decay_, float((1.0 + double(step)) / (10.0 + double(step))));
}

void WeightAverage::update(int64_t step) {
  const float keep = keep_at(step);
  blend(weights_, params_.values(), keep);
  blend(statistics_, params_.state(), keep);
}

WeightAverage::Swap::Swap(const WeightAverage& average)
    : params_(average.params_),
      trained_weights_(average.params_.values().to(Device::cpu)),
      trained_statistics_(average.params_.state().to(Device::cpu)) {
  params_.values().copy_from(average.weights_);
  params_.state().copy_from(average.statistics_);
}

WeightAverage::Swap::~Swap() {
  params_.values().copy_from(trained_weights_);
  params_.state().copy_from(trained_statistics_);
}

}  // namespace seqnet
