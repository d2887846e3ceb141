// summary.h: a table of SeqNet's layers as they run for one input size, computed from the
// configuration alone (no model is built): output shape, parameters, multiply-adds, memory.
//
// The walk follows the model code (model/branch.cpp, unet.cpp, refiner.cpp, double_conv.cpp)
// layer by layer in forward order. Counting rules:
//   parameters  trainable values (BatchNorm running statistics are state, not parameters); a
//               weight used again (the refiner's UNet at iterations >= 1) counts once, and
//               its later rows are marked shared with 0 new parameters
//   MACs        conv k x k: N*K*H*W * C*k*k; transposed conv 2x2 stride 2: N*K*(2H)*(2W) * C;
//               BatchNorm one per element (it is y = a*x + b per channel); the Block BP
//               product one per element; pooling, ReLU, dropout, copies: none
//   activation  bytes of the layer's output buffer (float32); in-place layers (ReLU, Dropout)
//               write into their input and add none
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/tensor.h"
#include "model/config.h"

namespace seqnet {

struct SummaryRow {
  std::string path;  // parameter-name prefix, e.g. seg.unet.enc.0.conv1
  std::string type;  // Conv2d 3x3, BatchNorm2d, ReLU (in place), ...
  Shape output;
  int64_t parameters = 0;  // new trainable values (0 when shared)
  bool shared = false;     // reuses the weights of an earlier row with the same path
  int64_t macs = 0;
  int64_t activation_bytes = 0;
};

struct ModelSummary {
  ModelConfig config;
  Shape input;
  std::vector<SummaryRow> rows;
  int64_t parameters = 0, macs = 0, activation_bytes = 0;  // totals over the rows
};

// Throws std::invalid_argument when the config is invalid or the size is not a multiple of
// config.size_multiple().
ModelSummary summarize_model(const ModelConfig& config, int batch, int height, int width);

// The table with totals, as `seqnet summary` prints it.
std::string format_summary(const ModelSummary& summary);
// One row's six cells as printed: path, type, output, parameters, MACs, activation.
std::vector<std::string> summary_cells(const SummaryRow& row);
// The totals line, e.g. "466 layers; parameters 16,496,012; forward 338.98 G multiply-adds; ...".
std::string summary_totals(const ModelSummary& summary);

}  // namespace seqnet
