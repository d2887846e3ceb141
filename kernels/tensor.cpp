// tensor.cpp: Tensor storage, copies between devices, and shape checks.
#include "kernels/tensor.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "kernels/cuda/runtime.h"
#include "kernels/host_memory.h"

namespace seqnet {

const char* device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }
const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
  }
  return "?";
}
size_t dtype_size(DType t) { return t == DType::f64 ? 8 : 4; }

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int64_t d : dims_) n *= d;
  return n;
}

std::string Shape::str() const {
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < dims_.size(); ++i) s << (i ? "," : "") << dims_[i];
  s << ")";
  return s.str();
}

int64_t Shape::dim4(int i) const {
  if (rank() != 4) throw ShapeError("expected an (N,C,H,W) tensor, got shape " + str());
  return dims_[i];
}

namespace {

std::atomic<int64_t> g_allocations{0};

// Host tensors of 4 MB and more go on huge pages (host_memory.h); smaller ones are 64-byte aligned.
constexpr size_t kHugePageMinBytes = size_t(4) << 20;

std::shared_ptr<void> allocate(size_t bytes, Device device) {
  ++g_allocations;
  if (bytes == 0) bytes = 64;
  if (device == Device::cpu) {
    void* p = allocate_host(bytes, kHugePageMinBytes);
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
  void* p = cuda::device_malloc(bytes);
  return std::shared_ptr<void>(p, [](void* q) { cuda::device_free(q); });
}

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev == Device::cpu && src_dev == Device::cpu) std::memcpy(dst, src, bytes);
  else if (dst_dev == Device::cuda && src_dev == Device::cpu) cuda::copy_host_to_device(dst, src, bytes);
  else if (dst_dev == Device::cpu && src_dev == Device::cuda) cuda::copy_device_to_host(dst, src, bytes);
  else cuda::copy_device_to_device(dst, src, bytes);
}

}  // namespace

int64_t tensor_allocation_count() { return g_allocations.load(); }

Tensor Tensor::empty(const Shape& shape, Device device, DType dtype) {
  if (device == Device::cuda && dtype == DType::f64)
    throw std::runtime_error("float64 tensors exist on the CPU only (they serve the gradient checks)");
  for (int64_t d : shape.dims())
    if (d < 0) throw ShapeError("negative dimension in shape " + shape.str());
  Tensor t;
  t.shape_ = shape;
  t.device_ = device;
  t.dtype_ = dtype;
  t.storage_ = allocate(t.bytes(), device);
  t.data_ = t.storage_.get();
  return t;
}

Tensor Tensor::zeros(const Shape& shape, Device device, DType dtype) {
  Tensor t = empty(shape, device, dtype);
  t.zero();
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  if (static_cast<int64_t>(values.size()) != shape.numel())
    throw ShapeError("from_vector: " + std::to_string(values.size()) + " values for shape " + shape.str());
  Tensor t = empty(shape);
  std::memcpy(t.data_, values.data(), t.bytes());
  return t;
}

Tensor Tensor::view(void* data, const Shape& shape, Device device, DType dtype) {
  Tensor t;
  t.data_ = data;
  t.shape_ = shape;
  t.device_ = device;
  t.dtype_ = dtype;
  return t;
}

float* Tensor::f32() {
  if (dtype_ != DType::f32) throw std::runtime_error("tensor is float64, float32 expected");
  return static_cast<float*>(data_);
}
const float* Tensor::f32() const { return const_cast<Tensor*>(this)->f32(); }
double* Tensor::f64() {
  if (dtype_ != DType::f64) throw std::runtime_error("tensor is float32, float64 expected");
  return static_cast<double*>(data_);
}
const double* Tensor::f64() const { return const_cast<Tensor*>(this)->f64(); }
int32_t* Tensor::i32() {
  if (dtype_ != DType::i32) throw std::runtime_error(std::string("tensor is ") + dtype_name(dtype_) + ", int32 expected");
  return static_cast<int32_t*>(data_);
}
const int32_t* Tensor::i32() const { return const_cast<Tensor*>(this)->i32(); }

Tensor Tensor::reshaped(const Shape& shape) const {
  if (shape.numel() != numel())
    throw ShapeError("cannot reshape " + shape_.str() + " to " + shape.str());
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::slice0(int64_t first, int64_t count) const {
  if (shape_.rank() < 1 || first < 0 || count < 0 || first + count > shape_[0])
    throw ShapeError("slice [" + std::to_string(first) + "," + std::to_string(first + count) +
                     ") out of range for shape " + shape_.str());
  std::vector<int64_t> dims = shape_.dims();
  int64_t row = numel() / (dims[0] ? dims[0] : 1);
  dims[0] = count;
  Tensor t = *this;
  t.shape_ = Shape(dims);
  t.data_ = static_cast<char*>(data_) + first * row * dtype_size(dtype_);
  return t;
}

Tensor Tensor::to(Device device) const {
  Tensor t = empty(shape_, device, dtype_);
  copy_bytes(t.data_, device, data_, device_, bytes());
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (device_ != Device::cpu) throw std::runtime_error("dtype conversion is done on the host");
  Tensor t = empty(shape_, Device::cpu, dtype);
  const int64_t n = numel();
  if (dtype == dtype_) std::memcpy(t.data_, data_, bytes());
  else if (dtype == DType::i32 || dtype_ == DType::i32) throw std::runtime_error("no conversion to or from int32");
  else if (dtype == DType::f64) for (int64_t i = 0; i < n; ++i) t.f64()[i] = f32()[i];
  else for (int64_t i = 0; i < n; ++i) t.f32()[i] = static_cast<float>(f64()[i]);
  return t;
}

Tensor Tensor::clone() const { return to(device_); }

void Tensor::copy_from(const Tensor& src) {
  if (src.shape_ != shape_ || src.dtype_ != dtype_)
    throw ShapeError("copy: destination " + shape_.str() + " " + dtype_name(dtype_) + ", source " +
                     src.shape_.str() + " " + dtype_name(src.dtype_));
  copy_bytes(data_, device_, src.data_, src.device_, bytes());
}

void Tensor::zero() {
  if (device_ == Device::cpu) std::memset(data_, 0, bytes());
  else cuda::memset_zero(data_, bytes());
}

void Tensor::fill(double value) {
  Tensor host = device_ == Device::cpu ? *this : empty(shape_, Device::cpu, dtype_);
  const int64_t n = numel();
  if (dtype_ == DType::f32) for (int64_t i = 0; i < n; ++i) host.f32()[i] = static_cast<float>(value);
  else if (dtype_ == DType::i32) for (int64_t i = 0; i < n; ++i) host.i32()[i] = static_cast<int32_t>(value);
  else for (int64_t i = 0; i < n; ++i) host.f64()[i] = value;
  if (device_ != Device::cpu) copy_from(host);
}

std::vector<double> Tensor::to_doubles() const {
  Tensor host = device_ == Device::cpu ? *this : to(Device::cpu);
  std::vector<double> out(numel());
  for (int64_t i = 0; i < numel(); ++i)
    out[i] = dtype_ == DType::f32 ? host.f32()[i] : dtype_ == DType::f64 ? host.f64()[i] : host.i32()[i];
  return out;
}

std::vector<float> Tensor::to_floats() const {
  Tensor host = device_ == Device::cpu ? *this : to(Device::cpu);
  std::vector<float> out(numel());
  for (int64_t i = 0; i < numel(); ++i)
    out[i] = dtype_ == DType::f32   ? host.f32()[i]
             : dtype_ == DType::f64 ? static_cast<float>(host.f64()[i])
                                    : static_cast<float>(host.i32()[i]);
  return out;
}

void expect_shape(const Tensor& t, const Shape& expected, const std::string& what) {
  if (t.shape() != expected)
    throw ShapeError(what + ": expected shape " + expected.str() + ", got " + t.shape().str());
}

void expect_same_place(std::initializer_list<const Tensor*> ts, const std::string& what) {
  const Tensor* first = *ts.begin();
  for (const Tensor* t : ts)
    if (t->device() != first->device() || t->dtype() != first->dtype())
      throw std::runtime_error(what + ": tensors on different devices or of different types (" +
                               device_name(t->device()) + "/" + dtype_name(t->dtype()) + " vs " +
                               device_name(first->device()) + "/" + dtype_name(first->dtype()) + ")");
}

}  // namespace seqnet
