// batch_loader.cpp: make_batch and the worker threads that keep a few batches ready in order.
#include "train/batch_loader.h"

#include <random>
#include <stdexcept>
#include <string>

namespace seqnet {

void check_batch_split(int batch_size, int crops_per_image, int parts) {
  if (batch_size <= 0 || crops_per_image <= 0 || batch_size % crops_per_image != 0)
    throw std::invalid_argument("batch size " + std::to_string(batch_size) +
                                " must be a positive multiple of the crops per image (" + std::to_string(crops_per_image) + ")");
  const int images = batch_size / crops_per_image;
  if (parts < 1 || images % parts != 0)
    throw std::invalid_argument("a batch of " + std::to_string(batch_size) + " crops is " + std::to_string(images) +
                                " images of " + std::to_string(crops_per_image) + " crops, which " +
                                std::to_string(parts) + " ranks cannot share equally: use a batch that is a multiple of " +
                                std::to_string(parts * crops_per_image) + " (ranks x crops per image), fewer crops per "
                                "image, or a number of ranks that divides " + std::to_string(images));
}

Batch make_batch(const std::vector<LabeledImage>& images, const BatchLoaderSettings& s, uint64_t index) {
  const int64_t c = s.crop_size, plane = c * c;
  const int images_per_part = s.batch_size / s.crops_per_image / s.parts, crops = images_per_part * s.crops_per_image;
  Batch batch;
  batch.x = Tensor::empty({crops, 3, c, c});
  batch.vessel = Tensor::empty({crops, 1, c, c});
  batch.artery = Tensor::empty({crops, 1, c, c});
  batch.vein = Tensor::empty({crops, 1, c, c});
  batch.av_weight = Tensor::empty({crops, 1, c, c});
  std::uniform_int_distribution<size_t> pick(0, images.size() - 1);
  int b = 0;
  for (int k = 0; k < images_per_part; ++k) {
    const uint32_t image = uint32_t(s.part * images_per_part + k);  // within the whole batch
    std::seed_seq seeds{uint32_t(s.seed), uint32_t(s.seed >> 32), uint32_t(index), uint32_t(index >> 32), image};
    std::mt19937_64 rng(seeds);
    const LabeledImage augmented = augment(images[pick(rng)], s.augment, rng);
    for (int j = 0; j < s.crops_per_image; ++j, ++b) {
      const LabeledImage crop = random_crop(augmented, s.crop_size, rng);
      float* x = batch.x.f32() + b * 3 * plane;
      for (int64_t i = 0; i < plane; ++i)
        for (int ch = 0; ch < 3; ++ch) x[ch * plane + i] = crop.rgb.pixels[i * 3 + ch];  // HWC -> CHW
      for (int64_t i = 0; i < plane; ++i) {
        // The original targets are the maps the dataset decoded (train/dataset.h); the others
        // come from the colour class of the pixel.
        const ArteryVeinTarget t = s.av_targets == ArteryVeinTargets::original
                                       ? ArteryVeinTarget{crop.artery[i], crop.vein[i], crop.vessel[i]}
                                       : artery_vein_target(LabelClass(crop.label_class[i]), s.av_targets);
        batch.vessel.f32()[b * plane + i] = crop.vessel[i];
        batch.artery.f32()[b * plane + i] = t.artery;
        batch.vein.f32()[b * plane + i] = t.vein;
        batch.av_weight.f32()[b * plane + i] = t.weight;
      }
    }
  }
  return batch;
}

BatchLoader::BatchLoader(std::shared_ptr<const std::vector<LabeledImage>> images, const BatchLoaderSettings& settings,
                         uint64_t first_batch_index)
    : images_(std::move(images)), settings_(settings), next_to_return_(first_batch_index), next_to_claim_(first_batch_index) {
  const BatchLoaderSettings& s = settings_;
  if (!images_ || images_->empty()) throw std::invalid_argument("BatchLoader: no training images");
  check_batch_split(s.batch_size, s.crops_per_image, s.parts);
  if (s.part < 0 || s.part >= s.parts)
    throw std::invalid_argument("BatchLoader: part " + std::to_string(s.part) + " of " + std::to_string(s.parts));
  if (s.workers < 1 || s.queue_depth < 1)
    throw std::invalid_argument("BatchLoader: needs at least one worker and a queue of at least one batch");
  for (const LabeledImage& image : *images_)
    if (s.crop_size <= 0 || s.crop_size > image.width || s.crop_size > image.height)
      throw std::invalid_argument("BatchLoader: crop size " + std::to_string(s.crop_size) + " does not fit image " +
                                  image.name + " (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
  for (int i = 0; i < s.workers; ++i) workers_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  room_.notify_all();
  ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void BatchLoader::work() {
  for (;;) {
    uint64_t index;
    {
      std::unique_lock lock(mutex_);
      // Claim the next index only while it is within queue_depth of what the consumer needs.
      room_.wait(lock, [&] { return stopping_ || error_ || next_to_claim_ < next_to_return_ + settings_.queue_depth; });
      if (stopping_ || error_) return;
      index = next_to_claim_++;
    }
    try {
      Batch batch = make_batch(*images_, settings_, index);
      std::lock_guard lock(mutex_);
      done_.emplace(index, std::move(batch));
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    ready_.notify_all();
  }
}

Batch BatchLoader::next() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return error_ || done_.count(next_to_return_); });
  if (error_ && !done_.count(next_to_return_)) std::rethrow_exception(error_);
  auto it = done_.find(next_to_return_);
  Batch batch = std::move(it->second);
  done_.erase(it);
  ++next_to_return_;
  lock.unlock();
  room_.notify_all();
  return batch;
}

uint64_t BatchLoader::batches_produced() const {
  std::lock_guard lock(mutex_);
  return next_to_return_;
}

}  // namespace seqnet
