// batch_loader.h: training batches of random augmented crops, prepared on background threads.
//
// Batch i is a pure function of (seed, i): its random numbers come from generators seeded with
// both, so the batches are the same whatever the number of threads or their timing, and a run
// resumed at batch k sees exactly the batches k, k+1, ... of an uninterrupted run.
// A batch: G = batch_size / crops_per_image images drawn uniformly (with replacement), each
// augmented once, then crops_per_image random crop_size x crop_size windows of each. Image g of
// the batch draws from its own generator, seeded with (seed, i, g), so that data-parallel
// training (train/distributed.h) can split a batch without changing it: part p of P holds images
// [p*G/P, (p+1)*G/P), its own deterministic stream, and the P parts together are the whole batch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/tensor.h"
#include "train/augment.h"
#include "train/av_targets.h"
#include "train/dataset.h"

namespace seqnet {

struct Batch {
  Tensor x;                    // (B,3,C,C) host float32, the photographs in [0,1]
  Tensor vessel, artery, vein; // (B,1,C,C) host float32, 0 or 1
  Tensor av_weight;            // (B,1,C,C) host float32: 1 where the artery/vein terms count (train/av_targets.h)
};

struct BatchLoaderSettings {
  int batch_size = 24;
  int crops_per_image = 4;  // 6 images x 4 crops, as the original
  int crop_size = 128;
  ArteryVeinTargets av_targets = ArteryVeinTargets::original;
  AugmentSettings augment;
  uint64_t seed = 0;
  int workers = 2;
  int queue_depth = 4;      // batches prepared ahead of the consumer
  int part = 0, parts = 1;  // this loader's share of every batch (G must be a multiple of parts)
};

// Throws std::invalid_argument unless a batch of batch_size crops, crops_per_image from each
// image, splits into `parts` equal shares of whole images.
void check_batch_split(int batch_size, int crops_per_image, int parts);

// This loader's part of batch `index` (batch_size / parts crops) for these images and settings,
// on the calling thread (what the workers run).
Batch make_batch(const std::vector<LabeledImage>& images, const BatchLoaderSettings& settings, uint64_t index);

class BatchLoader {
 public:
  // `images` are already at the working size. Starts the workers; the first call to next()
  // returns batch `first_batch_index`. Throws std::invalid_argument for unusable settings.
  BatchLoader(std::shared_ptr<const std::vector<LabeledImage>> images, const BatchLoaderSettings& settings,
              uint64_t first_batch_index = 0);
  ~BatchLoader();  // stops and joins the workers
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch in order (waits for it). Rethrows an error a worker met.
  Batch next();
  // The index of the batch next() returns now: first_batch_index + batches returned so far
  // (what a checkpoint stores to resume exactly).
  uint64_t batches_produced() const;

 private:
  void work();

  std::shared_ptr<const std::vector<LabeledImage>> images_;
  BatchLoaderSettings settings_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;  // a batch arrived (or an error, or stop)
  std::condition_variable room_;   // the consumer took one: workers may run further ahead
  std::map<uint64_t, Batch> done_;
  uint64_t next_to_return_;
  uint64_t next_to_claim_;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

}  // namespace seqnet
