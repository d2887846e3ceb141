// tensor.h: Tensor, a shaped block of float32 or float64 numbers in host or device memory.
//
// Layout is C order (NCHW for images). A Tensor either owns its memory (shared, so copies of a
// Tensor are cheap handles to the same numbers) or is a view into memory owned elsewhere (how
// layers see their parameters inside the one parameter buffer). float64 exists for the
// gradient checks and lives on the CPU only; int32 holds indices.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqnet {

enum class Device { cpu, cuda };
enum class DType { f32, f64, i32 };  // i32: max-pool winner indices

const char* device_name(Device d);
const char* dtype_name(DType t);
size_t dtype_size(DType t);

// A user-facing error about the shape of some input: the message names what was expected.
struct ShapeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Dimensions, outermost first. Images are (N, C, H, W).
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t operator[](int i) const { return dims_.at(i); }
  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t numel() const;
  bool operator==(const Shape& o) const { return dims_ == o.dims_; }
  bool operator!=(const Shape& o) const { return dims_ != o.dims_; }
  std::string str() const;  // "(2,3,17,23)"

  // The four image dimensions; a ShapeError unless the rank is 4.
  int64_t n() const { return dim4(0); }
  int64_t c() const { return dim4(1); }
  int64_t h() const { return dim4(2); }
  int64_t w() const { return dim4(3); }

 private:
  int64_t dim4(int i) const;
  std::vector<int64_t> dims_;
};

class Tensor {
 public:
  Tensor() = default;

  static Tensor empty(const Shape& shape, Device device = Device::cpu, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, Device device = Device::cpu, DType dtype = DType::f32);
  // A host float32 tensor holding `values` (numel must match).
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);
  // Does not own `data`; the caller keeps it alive.
  static Tensor view(void* data, const Shape& shape, Device device, DType dtype = DType::f32);

  bool defined() const { return data_ != nullptr; }
  const Shape& shape() const { return shape_; }
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }
  int64_t numel() const { return shape_.numel(); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  // Typed access; throws if the dtype differs.
  float* f32();
  const float* f32() const;
  double* f64();
  const double* f64() const;
  int32_t* i32();
  const int32_t* i32() const;
  // How many Tensors share this one's memory (0 for a view): lets a buffer pool see which of its
  // buffers nobody else holds any more.
  long use_count() const { return storage_.use_count(); }
  void* raw() { return data_; }
  const void* raw() const { return data_; }

  // Same numbers under another shape of equal numel (a view sharing the storage).
  Tensor reshaped(const Shape& shape) const;
  // Channels [c0, c0+count) of a (N,C,H,W) tensor with N == 1, or of a tensor whose first dims
  // are all 1: a contiguous view. For general N use the concat/split kernels.
  Tensor slice0(int64_t first, int64_t count) const;  // rows [first, first+count) of dim 0

  Tensor to(Device device) const;  // a copy on `device` (same dtype)
  Tensor to(DType dtype) const;    // a converted copy (host only)
  Tensor clone() const;
  void copy_from(const Tensor& src);  // same shape and dtype, any devices
  void zero();
  void fill(double value);

  // Host copy of the values as float64 (for comparisons and printing).
  std::vector<double> to_doubles() const;
  std::vector<float> to_floats() const;

 private:
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
  Shape shape_;
  Device device_ = Device::cpu;
  DType dtype_ = DType::f32;
};

// How many tensors have been allocated so far (host and device): lets tests check that a training
// step after the first allocates nothing.
int64_t tensor_allocation_count();

// Throws ShapeError("<what>: expected (..), got (..)") when the shape differs.
void expect_shape(const Tensor& t, const Shape& expected, const std::string& what);
// Throws unless every tensor has `device` and `dtype`.
void expect_same_place(std::initializer_list<const Tensor*> ts, const std::string& what);

}  // namespace seqnet
