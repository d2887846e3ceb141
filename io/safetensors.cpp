// safetensors.cpp: the safetensors format, every field checked before any tensor is allocated.
//
// Reading goes in three passes: the header's bytes and JSON, then each entry on its own (dtype,
// shape, offsets, byte length), then all byte ranges together (sorted by start, they must tile the
// data section). Only then are tensors allocated, and each is at most twice its stored bytes, so a
// file can never make the reader allocate more than it holds.
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "io/atomic_file.h"

namespace seqnet {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is copied as is: this code needs a little-endian host");

namespace {

using nlohmann::json;

// The format's own cap (MAX_HEADER_SIZE of the reference implementation): a corrupt length must
// not make a reader parse or allocate gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";
constexpr int64_t kMaxCount = std::numeric_limits<int64_t>::max();

enum class StoredType { f32, f64, f16, bf16 };

struct StoredDtype {
  const char* name;
  StoredType type;
  uint64_t size;  // bytes per element
};

constexpr StoredDtype kReadableDtypes[] = {
    {"F32", StoredType::f32, 4}, {"F64", StoredType::f64, 8}, {"F16", StoredType::f16, 2}, {"BF16", StoredType::bf16, 2}};
constexpr const char* kReadableList = "F32, F64, F16, BF16";

// One header entry after its own checks.
struct Entry {
  std::string name;
  StoredDtype dtype;
  std::vector<int64_t> dims;
  int64_t numel = 0;
  uint64_t begin = 0, end = 0;  // byte range in the data section
};

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw SafetensorsError(file + ": " + what);
}

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

// "[begin, end)" for a byte range, "[begin, end]" for the data_offsets pair as written.
std::string pair_text(uint64_t begin, uint64_t end, char closing) {
  std::string text(1, '[');
  text += std::to_string(begin);
  text += ", ";
  text += std::to_string(end);
  text += closing;
  return text;
}
std::string range_text(uint64_t begin, uint64_t end) { return pair_text(begin, end, ')'); }

json parse_header(const char* text, size_t length, const std::string& file) {
  json header;
  try {
    header = json::parse(text, text + length);
  } catch (const json::exception& e) {
    fail(file, std::string("the header is not a valid UTF-8 JSON object: ") + e.what());
  }
  if (!header.is_object())
    fail(file, std::string("the header is a JSON ") + header.type_name() + ", not a JSON object");
  return header;
}

std::map<std::string, std::string> read_metadata(const json& value, const std::string& file) {
  if (!value.is_object())
    fail(file, std::string("\"__metadata__\" must be an object of strings, got a ") + value.type_name());
  std::map<std::string, std::string> metadata;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it.value().is_string())
      fail(file, "\"__metadata__\" must map strings to strings, but " + quoted(it.key()) + " is a " +
                     it.value().type_name());
    metadata[it.key()] = it.value().get<std::string>();
  }
  return metadata;
}

StoredDtype read_dtype(const json& entry, const std::string& where, const std::string& file) {
  auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string())
    fail(file, where + ": \"dtype\" is missing or not a string");
  const std::string name = dtype->get<std::string>();
  for (const StoredDtype& d : kReadableDtypes)
    if (name == d.name) return d;
  fail(file, "dtype " + name + " is not supported (" + where + "); seqnet reads " + kReadableList +
                 " and computes in float32");
}

// The dimensions, each a non-negative integer, with the element count checked against int64
// overflow. Checking the product of the non-zero dimensions bounds every partial product too, so
// Shape::numel (which multiplies left to right) cannot overflow either.
std::vector<int64_t> read_shape(const json& entry, const std::string& where, const std::string& file,
                                int64_t& numel) {
  auto shape = entry.find("shape");
  const std::string rule = where + ": \"shape\" must be an array of non-negative integers";
  if (shape == entry.end() || !shape->is_array()) fail(file, rule);
  std::vector<int64_t> dims;
  int64_t nonzero_product = 1;
  bool has_zero = false;
  for (const json& d : *shape) {
    if (!d.is_number_unsigned()) fail(file, rule);
    const uint64_t value = d.get<uint64_t>();
    if (value == 0) {
      has_zero = true;
    } else if (value > static_cast<uint64_t>(kMaxCount / nonzero_product)) {
      fail(file, where + ": the element count of its shape overflows a 64-bit integer");
    } else {
      nonzero_product *= static_cast<int64_t>(value);
    }
    dims.push_back(static_cast<int64_t>(value));
  }
  numel = has_zero ? 0 : nonzero_product;
  return dims;
}

void read_offsets(const json& entry, const std::string& where, const std::string& file, uint64_t data_size,
                  uint64_t& begin, uint64_t& end) {
  auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    fail(file, where + ": \"data_offsets\" must be [begin, end], two non-negative integers");
  begin = (*offsets)[0].get<uint64_t>();
  end = (*offsets)[1].get<uint64_t>();
  const std::string text = pair_text(begin, end, ']');
  if (begin > end) fail(file, where + ": data_offsets " + text + " end before they begin");
  if (end > data_size)
    fail(file, where + ": data_offsets " + text + " reach past the end of the data section (" +
                   std::to_string(data_size) + " bytes; the file is truncated or corrupt)");
}

Entry read_entry(const std::string& name, const json& value, const std::string& file, uint64_t data_size) {
  const std::string where = "tensor " + quoted(name);
  if (!value.is_object())
    fail(file, where + ": the entry must be an object with dtype, shape, data_offsets, got a " + value.type_name());
  Entry e;
  e.name = name;
  e.dtype = read_dtype(value, where, file);
  e.dims = read_shape(value, where, file, e.numel);
  read_offsets(value, where, file, data_size, e.begin, e.end);
  // numel * size may not fit 64 bits, so compare by division.
  const uint64_t bytes = e.end - e.begin;
  if (bytes % e.dtype.size != 0 || bytes / e.dtype.size != static_cast<uint64_t>(e.numel))
    fail(file, where + ": its byte length " + std::to_string(bytes) + " does not match its shape " +
                   Shape(e.dims).str() + " of " + e.dtype.name + " (" + std::to_string(e.numel) + " elements of " +
                   std::to_string(e.dtype.size) + " bytes)");
  return e;
}

// Sorted by start, each range must begin where the previous one ended, and the last must end at
// the end of the data section: no overlap, no hole (the format's rule).
void check_ranges_tile(std::vector<Entry>& entries, const std::string& file, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < covered)
      fail(file, "tensors " + quoted(previous->name) + " " + range_text(previous->begin, previous->end) + " and " +
                     quoted(e.name) + " " + range_text(e.begin, e.end) + " overlap in the data section");
    if (e.begin > covered)
      fail(file, "bytes " + range_text(covered, e.begin) + " of the data section belong to no tensor (a hole before " +
                     quoted(e.name) + ")");
    covered = e.end;
    previous = &e;
  }
  if (covered != data_size)
    fail(file, "bytes " + range_text(covered, data_size) +
                   " at the end of the data section belong to no tensor (a hole; the file may be corrupt)");
}

// IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Normal numbers and inf/NaN map
// bit by bit into float's wider fields (bias 127, so +112); subnormals are mantissa * 2^-24.
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// bfloat16 is the top half of a float32.
float bfloat16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

// The stored bytes may sit at any alignment, so every element is read with memcpy.
Tensor decode(const Entry& e, const unsigned char* bytes) {
  Tensor t = Tensor::empty(Shape(e.dims));
  float* out = t.f32();
  switch (e.dtype.type) {
    case StoredType::f32:
      std::memcpy(out, bytes, e.end - e.begin);
      break;
    case StoredType::f64:
      for (int64_t i = 0; i < e.numel; ++i) {
        double v;
        std::memcpy(&v, bytes + 8 * i, 8);
        out[i] = static_cast<float>(v);  // IEEE rounding; beyond float's range gives +-inf
      }
      break;
    case StoredType::f16:
    case StoredType::bf16:
      for (int64_t i = 0; i < e.numel; ++i) {
        uint16_t v;
        std::memcpy(&v, bytes + 2 * i, 2);
        out[i] = e.dtype.type == StoredType::f16 ? half_to_float(v) : bfloat16_to_float(v);
      }
      break;
  }
  return t;
}

}  // namespace

TensorFile parse_safetensors(const void* data, size_t size, const std::string& name_for_errors) {
  const std::string& file = name_for_errors;
  const auto* bytes = static_cast<const unsigned char*>(data);
  if (size < 8)
    fail(file, "not a safetensors file: " + std::to_string(size) + " bytes, fewer than the 8 of the header length");
  uint64_t header_length;
  std::memcpy(&header_length, bytes, 8);
  if (header_length > kMaxHeaderBytes)
    fail(file, "header length " + std::to_string(header_length) + " is over the format's limit of " +
                   std::to_string(kMaxHeaderBytes) + " bytes (not a safetensors file, or a corrupt one)");
  if (header_length > size - 8)
    fail(file, "header length " + std::to_string(header_length) + " is larger than the rest of the file (" +
                   std::to_string(size - 8) + " bytes; truncated?)");
  const json header = parse_header(reinterpret_cast<const char*>(bytes + 8), header_length, file);
  const unsigned char* data_section = bytes + 8 + header_length;
  const uint64_t data_size = size - 8 - header_length;

  TensorFile result;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == kMetadataKey) result.metadata = read_metadata(it.value(), file);
    else entries.push_back(read_entry(it.key(), it.value(), file, data_size));
  }
  check_ranges_tile(entries, file, data_size);
  for (const Entry& e : entries) result.tensors.emplace(e.name, decode(e, data_section + e.begin));
  return result;
}

// The file is mapped, not read into a buffer: tensors are copied once, straight from the page
// cache, which halves the time for model weights (tens of MB). Files are replaced by rename
// (write_safetensors), never truncated in place, so the mapping stays whole while it is read.
TensorFile read_safetensors(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw SafetensorsError("cannot open " + path + ": " + std::strerror(errno));
  struct stat info;
  std::string why_not;
  if (::fstat(fd, &info) != 0) why_not = std::strerror(errno);
  else if (S_ISDIR(info.st_mode)) why_not = "it is a folder";
  else if (!S_ISREG(info.st_mode)) why_not = "it is not a regular file";
  if (!why_not.empty()) {
    ::close(fd);
    fail(path, "cannot read: " + why_not);
  }
  const size_t size = static_cast<size_t>(info.st_size);
  if (size == 0) {
    ::close(fd);
    return parse_safetensors(nullptr, 0, path);
  }
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_error = errno;
  ::close(fd);  // the mapping outlives the descriptor
  if (mapped == MAP_FAILED) fail(path, std::string("cannot map the file into memory: ") + std::strerror(map_error));
  struct Unmap {
    void* address;
    size_t length;
    ~Unmap() { ::munmap(address, length); }
  } unmap{mapped, size};
  return parse_safetensors(mapped, size, path);
}

std::string serialize_safetensors(const TensorFile& file) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    const std::string what = "cannot write tensor " + quoted(name);
    if (name == kMetadataKey) throw SafetensorsError(what + ": the name is reserved for the metadata");
    if (!t.defined()) throw SafetensorsError(what + ": it is an empty handle (no data)");
    if (t.device() != Device::cpu || t.dtype() != DType::f32)
      throw SafetensorsError(what + ": it is " + device_name(t.device()) + " " + dtype_name(t.dtype()) +
                             "; files are written from host float32 tensors");
    header[name] = {{"dtype", "F32"},
                    {"shape", t.shape().dims()},
                    {"data_offsets", json::array({offset, offset + t.bytes()})}};
    offset += t.bytes();
  }
  if (!file.metadata.empty()) header[kMetadataKey] = file.metadata;
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    throw SafetensorsError(std::string("cannot write: a tensor name or metadata string is not valid UTF-8 (") +
                           e.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned, as PyTorch's side writes

  std::string out;
  out.reserve(8 + text.size() + offset);
  const uint64_t header_length = text.size();
  out.append(reinterpret_cast<const char*>(&header_length), 8);
  out += text;
  for (const auto& [name, t] : file.tensors) out.append(static_cast<const char*>(t.raw()), t.bytes());
  return out;
}

void write_safetensors(const std::string& path, const TensorFile& file) {
  std::string bytes;
  try {
    bytes = serialize_safetensors(file);
  } catch (const SafetensorsError& e) {
    throw SafetensorsError(path + ": " + e.what());
  }
  try {
    write_file_atomically(path, bytes);
  } catch (const std::runtime_error& e) {
    throw SafetensorsError(e.what());
  }
}

}  // namespace seqnet
