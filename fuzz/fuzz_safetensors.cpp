// fuzz_safetensors.cpp: libFuzzer harness for the safetensors reader.
//
// Any input may be rejected, but only with a SafetensorsError: another exception, a crash, a leak
// or undefined behaviour (the sanitizers) is a finding. An accepted input must also survive a
// round trip: written back and read again, it gives the same metadata and bit-identical tensors.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "io/safetensors.h"

namespace {

bool same_file(const seqnet::TensorFile& a, const seqnet::TensorFile& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (const auto& [name, t] : a.tensors) {
    auto other = b.tensors.find(name);
    if (other == b.tensors.end() || other->second.shape() != t.shape()) return false;
    if (std::memcmp(other->second.raw(), t.raw(), t.bytes()) != 0) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seqnet::TensorFile file;
  try {
    file = seqnet::parse_safetensors(data, size, "fuzz input");
  } catch (const seqnet::SafetensorsError&) {
    return 0;
  }
  const std::string bytes = seqnet::serialize_safetensors(file);
  if (!same_file(file, seqnet::parse_safetensors(bytes.data(), bytes.size(), "round trip"))) std::abort();
  return 0;
}
