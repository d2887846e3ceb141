// parameters.cpp: ParameterStore declaration, allocation, initialisation and named I/O.
#include "layers/parameters.h"

#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>

namespace seqnet {

int ParameterStore::add(const std::string& name, const Shape& shape, bool trainable, Init init, int64_t fan_in,
                        int64_t fan_out) {
  if (allocated()) throw std::logic_error("ParameterStore: '" + name + "' declared after allocate()");
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    const Entry& e = entries_[it->second];
    if (e.shape != shape || e.trainable != trainable)
      throw std::logic_error("ParameterStore: '" + name + "' declared again with another shape or kind");
    return it->second;  // shared
  }
  int64_t& counter = trainable ? parameter_numel_ : state_numel_;
  entries_.push_back(Entry{name, shape, trainable, init, fan_in, fan_out, counter});
  counter += shape.numel();
  by_name_[name] = static_cast<int>(entries_.size()) - 1;
  return static_cast<int>(entries_.size()) - 1;
}

int ParameterStore::add_parameter(const std::string& name, const Shape& shape, Init init, int64_t fan_in,
                                  int64_t fan_out) {
  return add(name, shape, true, init, fan_in, fan_out);
}

int ParameterStore::add_buffer(const std::string& name, const Shape& shape, Init init) {
  return add(name, shape, false, init, 0, 0);
}

void ParameterStore::allocate(Device device, DType dtype, uint64_t seed) {
  device_ = device;
  dtype_ = dtype;
  // Initialise on the host in float64, then convert and move: the same seed gives the same
  // model on every device and precision.
  Tensor host_values = Tensor::zeros({parameter_numel_}, Device::cpu, DType::f64);
  Tensor host_state = Tensor::zeros({state_numel_}, Device::cpu, DType::f64);
  std::mt19937_64 rng(seed);
  for (const Entry& e : entries_) {
    double* p = (e.trainable ? host_values : host_state).f64() + e.offset;
    const int64_t n = e.shape.numel();
    if (e.init == Init::ones) {
      for (int64_t i = 0; i < n; ++i) p[i] = 1.0;
    } else if (e.init == Init::glorot_uniform) {
      // Keras' default: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
      const double a = std::sqrt(6.0 / double(e.fan_in + e.fan_out));
      for (int64_t i = 0; i < n; ++i) p[i] = (double(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0) * a;
    }
  }
  values_ = host_values.to(dtype).to(device);
  state_ = host_state.to(dtype).to(device);
  grads_ = Tensor::zeros({parameter_numel_}, device, dtype);
}

Tensor ParameterStore::value(int id) const {
  const Entry& e = entries_.at(id);
  const Tensor& buf = e.trainable ? values_ : state_;
  if (!buf.defined()) throw std::logic_error("ParameterStore: '" + e.name + "' used before allocate()");
  return Tensor::view(static_cast<char*>(const_cast<void*>(buf.raw())) + e.offset * dtype_size(dtype_), e.shape,
                      device_, dtype_);
}

Tensor ParameterStore::grad(int id) const {
  const Entry& e = entries_.at(id);
  if (!e.trainable) throw std::logic_error("ParameterStore: '" + e.name + "' has no gradient");
  return Tensor::view(static_cast<char*>(const_cast<void*>(grads_.raw())) + e.offset * dtype_size(dtype_), e.shape,
                      device_, dtype_);
}

int ParameterStore::id(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : it->second;
}

std::map<std::string, Tensor> ParameterStore::to_named_tensors() const {
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < entries_.size(); ++i) out[entries_[i].name] = value(int(i)).to(Device::cpu).to(DType::f32);
  return out;
}

void ParameterStore::load_named_tensors(const std::map<std::string, Tensor>& tensors, const std::string& source) {
  std::vector<std::string> missing, unexpected, misshaped;
  for (const Entry& e : entries_) {
    auto it = tensors.find(e.name);
    if (it == tensors.end()) missing.push_back(e.name);
    else if (it->second.shape() != e.shape)
      misshaped.push_back(e.name + " (expected " + e.shape.str() + ", file has " + it->second.shape().str() + ")");
  }
  for (const auto& [name, t] : tensors)
    if (!by_name_.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    std::ostringstream msg;
    msg << source << " does not match the model:";
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      msg << "\n  " << names.size() << " " << what << ":";
      for (size_t i = 0; i < names.size() && i < 12; ++i) msg << "\n    " << names[i];
      if (names.size() > 12) msg << "\n    ... and " << names.size() - 12 << " more";
    };
    list("missing", missing);
    list("unexpected", unexpected);
    list("mis-shaped", misshaped);
    throw std::runtime_error(msg.str());
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    Tensor dst = value(int(i));
    const Tensor& src = tensors.at(entries_[i].name);
    Tensor converted = src.device() == Device::cpu ? src.to(dtype_) : src.to(Device::cpu).to(dtype_);
    dst.copy_from(converted);
  }
}

namespace {
BufferPool* g_active_pool = nullptr;  // the pool ensure_tensor draws from, if any
}  // namespace

BufferPool::Use::Use(BufferPool& pool) : previous_(g_active_pool) { g_active_pool = &pool; }
BufferPool::Use::~Use() { g_active_pool = previous_; }

// The front of the smallest pooled buffer that fits and that no one but the pool holds (at most
// twice the size asked for, so small maps don't pin large buffers), or a new pooled buffer.
Tensor BufferPool::take(const Shape& shape, Device device, DType dtype) {
  const int64_t n = shape.numel();
  const Tensor* best = nullptr;
  for (const Tensor& p : buffers_)
    if (p.use_count() == 1 && p.device() == device && p.dtype() == dtype && p.numel() >= n &&
        p.numel() <= 2 * n && (!best || p.numel() < best->numel()))
      best = &p;
  if (best) return best->reshaped({best->numel()}).slice0(0, n).reshaped(shape);
  buffers_.push_back(Tensor::empty({n}, device, dtype));
  return buffers_.back().reshaped(shape);
}

void ensure_tensor(Tensor& t, const Shape& shape, Device device, DType dtype) {
  if (t.defined() && t.shape() == shape && t.device() == device && t.dtype() == dtype) return;
  t = Tensor();  // let go first: its memory may be the one the pool hands back
  t = g_active_pool ? g_active_pool->take(shape, device, dtype) : Tensor::empty(shape, device, dtype);
}

}  // namespace seqnet
