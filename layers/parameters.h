// parameters.h: ParameterStore, the one owner of a model's numbers.
//
// Layers don't own parameters (as in tiny-cuda-nn): each declares its tensors here by name and
// shape, then the store allocates one contiguous buffer for all trainable values, one for their
// gradients and one for the non-trainable state (BatchNorm running statistics), and layers see
// views into them. One buffer makes the Adam update a single fused pass, and lets two layer
// objects share a weight (the refiner's UNet) simply by holding the same id.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernels/tensor.h"

namespace seqnet {

enum class Init { zeros, ones, glorot_uniform };

class ParameterStore {
 public:
  // Declares a trainable tensor (before allocate()); returns its id. fan_in/fan_out feed Glorot.
  // Declaring a name again with the same shape returns the same id: that is how two layer
  // objects share one weight (the refiner's UNet applied at every iteration).
  int add_parameter(const std::string& name, const Shape& shape, Init init, int64_t fan_in = 0, int64_t fan_out = 0);
  // Declares non-trainable state (running statistics), initialised to `init`.
  int add_buffer(const std::string& name, const Shape& shape, Init init);

  // Allocates the buffers on `device` and fills them with the declared initialisation, drawn
  // from `seed` in declaration order.
  void allocate(Device device, DType dtype, uint64_t seed);
  bool allocated() const { return values_.defined(); }

  Tensor value(int id) const;  // a view
  Tensor grad(int id) const;   // a view; only for parameters
  int id(const std::string& name) const;  // -1 when absent

  struct Entry {
    std::string name;
    Shape shape;
    bool trainable;
    Init init;
    int64_t fan_in, fan_out;
    int64_t offset;  // into the values/grads buffer (parameters) or the state buffer (buffers)
  };
  const std::vector<Entry>& entries() const { return entries_; }

  Tensor& values() { return values_; }  // all parameters, flat
  Tensor& grads() { return grads_; }    // their gradients, flat, same order
  Tensor& state() { return state_; }    // all buffers, flat
  void zero_grads() { grads_.zero(); }
  int64_t parameter_count() const { return parameter_numel_; }
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }

  // Every tensor by name as a host float32 copy (parameters and buffers), for saving.
  std::map<std::string, Tensor> to_named_tensors() const;
  // Loads tensors by name. Reports every missing, unexpected and mis-shaped tensor by name in
  // one error (std::runtime_error) and changes nothing in that case.
  void load_named_tensors(const std::map<std::string, Tensor>& tensors, const std::string& source);

 private:
  int add(const std::string& name, const Shape& shape, bool trainable, Init init, int64_t fan_in, int64_t fan_out);
  std::vector<Entry> entries_;
  std::map<std::string, int> by_name_;
  int64_t parameter_numel_ = 0, state_numel_ = 0;
  Tensor values_, grads_, state_;
  Device device_ = Device::cpu;
  DType dtype_ = DType::f32;
};

// Makes `t` an uninitialised tensor of this shape/device/dtype unless it already is one:
// how layers plan their activation memory once per input shape and reuse it every step.
// While a BufferPool is in use, a new tensor comes from that pool.
void ensure_tensor(Tensor& t, const Shape& shape, Device device, DType dtype);

// Buffers for evaluation forwards. There the layers keep nothing, so each map dies as soon as
// its consumer is done; while the pool is in use, ensure_tensor hands out the memory of a dead
// map of about the same size (one only the pool still holds) instead of a fresh allocation.
// Without it glibc's heap fragmented to 3x the live maps (1.3 GB for a 576x576 image at width
// 16); mmap for every map would instead page-fault 3.5 GB per image. The pool keeps its buffers
// after the forward, so the next image (or tile) of that size allocates and page-faults nothing;
// clear() gives them back.
class BufferPool {
 public:
  // ensure_tensor draws from `pool` while this lives (the previous pool, if any, after it).
  class Use {
   public:
    explicit Use(BufferPool& pool);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    BufferPool* previous_;
  };

  BufferPool() = default;
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  // Lets go of every buffer; one still held by a tensor lives on until that tensor goes.
  void clear() { buffers_.clear(); }

 private:
  friend void ensure_tensor(Tensor&, const Shape&, Device, DType);
  Tensor take(const Shape& shape, Device device, DType dtype);
  std::vector<Tensor> buffers_;
};

}  // namespace seqnet
