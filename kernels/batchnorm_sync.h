// batchnorm_sync.h: synchronised batch normalisation, the batch statistics of a data-parallel
// step taken over the crops of every rank instead of each rank's own (train/distributed.h).
//
// Every rank's batch has the same shape, so with R ranks the statistics cover R*N*H*W values per
// channel: the forward pass sums x over all ranks (mean), then (x - mean)^2 (variance); the backward
// pass sums dy and dy*xhat, the two per-channel sums its formula needs.
#pragma once

#include <cstdint>
#include <functional>

namespace seqnet {

struct BatchNormSync {
  // Replaces values[0..n) by their element-wise sums over all ranks (the same sums on every rank).
  std::function<void(double* values, int64_t n)> sum_over_ranks;
  int ranks = 1;
};

}  // namespace seqnet
