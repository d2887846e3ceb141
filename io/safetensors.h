// safetensors.h: reading and writing the safetensors format (how weights and reference dumps are
// stored, the same files PyTorch's side writes).
//
// The format: an 8-byte little-endian header length N, N bytes of a UTF-8 JSON object, then the
// data section. Each header entry "name": {"dtype", "shape", "data_offsets": [begin, end]} places
// one C-order little-endian tensor at bytes [begin, end) of the data section; the optional
// "__metadata__" entry maps strings to strings. Ranges must tile the data section exactly (no
// overlap, no hole), as the format requires.
//
// seqnet computes in float32, so reading converts F64, F16 and BF16 to float32 (F32 is copied as
// is); integer and boolean dtypes are refused. Writing stores F32 only, keys sorted, the header
// padded with spaces to a multiple of 8 bytes. Every malformed file gives a SafetensorsError whose
// message names the file and what is wrong; no size read from a file is trusted before it is
// checked against the file's real size.
#pragma once

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>

#include "kernels/tensor.h"

namespace seqnet {

struct SafetensorsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TensorFile {
  // Host float32 tensors with their stored shapes (rank 0 gives Shape{} with numel 1).
  std::map<std::string, Tensor> tensors;
  // The "__metadata__" entry: string keys to string values.
  std::map<std::string, std::string> metadata;
};

// Maps the file into memory and parses it; errors name `path`.
TensorFile read_safetensors(const std::string& path);
// Parses bytes already in memory; errors name `name_for_errors`.
TensorFile parse_safetensors(const void* data, size_t size, const std::string& name_for_errors);

// The bytes of the file: every tensor must be a defined host float32 tensor.
std::string serialize_safetensors(const TensorFile& file);
// serialize_safetensors, written through write_file_atomically (readers never see half a file).
void write_safetensors(const std::string& path, const TensorFile& file);

}  // namespace seqnet
