// verify.h: checking the implementation against a reference dump: inputs, parameters, outputs,
// losses, gradients and Adam steps computed in float64 by an independent PyTorch transcription.
//
// A dump is a safetensors file whose metadata "op" says what it checks: one layer (conv2d,
// conv_transpose2d, maxpool2d, batchnorm2d, bce_with_logits, relu, sigmoid, adam) or the whole
// model (seqnet). verify_dump() reruns exactly that on the chosen device and compares every
// expected tensor: rel = ||got - ref|| / max(||ref||, 1e-12).
#pragma once

#include <string>
#include <vector>

#include "kernels/tensor.h"

namespace seqnet {

// The float32 bound for every tensor of a layer dump.
inline constexpr double kLayerDumpTolerance = 1e-5;

struct VerifyRow {
  std::string check;      // tensor name (layer dumps) or group (model dumps)
  std::string worst;      // the tensor with the worst error within the group
  double rel_error = 0;   // worst relative error
  double bound = 0;
  bool pass() const { return rel_error <= bound; }
};

struct VerifyResult {
  std::string file, op;
  std::vector<VerifyRow> rows;
  std::vector<VerifyRow> details;  // model dumps: every tensor, for --all
  bool pass() const;
};

// Throws std::runtime_error (naming the file) when the dump cannot be read or is not a dump
// this program knows how to run.
// `dtype` float64 (CPU only) reruns model dumps in double precision: it separates a real
// mistake from float32 rounding.
VerifyResult verify_dump(const std::string& path, Device device, DType dtype = DType::f32);

}  // namespace seqnet
