// test_batch_loader.cpp: batches are deterministic per (seed, index), whatever the threads.
#include <memory>
#include <random>

#include "test_support.h"
#include "train/batch_loader.h"

namespace seqnet {
namespace {

std::shared_ptr<const std::vector<LabeledImage>> random_images(int count, int size) {
  auto images = std::make_shared<std::vector<LabeledImage>>();
  std::mt19937 rng(11);
  for (int k = 0; k < count; ++k) {
    LabeledImage item;
    item.width = item.height = size;
    item.name = "image" + std::to_string(k);
    item.rgb = Image(size, size, 3);
    for (float& v : item.rgb.pixels) v = float(rng() % 256) / 255.0f;
    const size_t n = size_t(size) * size;
    for (auto* v : {&item.vessel, &item.artery, &item.vein, &item.fov, &item.label_class}) v->assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
      item.vessel[i] = item.rgb.pixels[3 * i] > 0.6f;
      item.artery[i] = item.vessel[i] && item.rgb.pixels[3 * i + 1] > 0.5f;
      item.vein[i] = item.vessel[i] && !item.artery[i];
      item.fov[i] = 1;
    }
    images->push_back(std::move(item));
  }
  return images;
}

BatchLoaderSettings small_settings(int workers) {
  BatchLoaderSettings s;
  s.batch_size = 8;
  s.crops_per_image = 4;
  s.crop_size = 32;
  s.seed = 1234;
  s.workers = workers;
  return s;
}

void expect_same_batch(const Batch& a, const Batch& b, int index) {
  EXPECT_EQ(a.x.to_floats(), b.x.to_floats()) << "batch " << index;
  EXPECT_EQ(a.vessel.to_floats(), b.vessel.to_floats()) << "batch " << index;
  EXPECT_EQ(a.artery.to_floats(), b.artery.to_floats()) << "batch " << index;
  EXPECT_EQ(a.vein.to_floats(), b.vein.to_floats()) << "batch " << index;
}

TEST(BatchLoader, ShapesAndTargetsAreBinary) {
  BatchLoader loader(random_images(3, 64), small_settings(2));
  const Batch batch = loader.next();
  EXPECT_EQ(batch.x.shape(), Shape({8, 3, 32, 32}));
  EXPECT_EQ(batch.vessel.shape(), Shape({8, 1, 32, 32}));
  EXPECT_EQ(batch.vein.shape(), Shape({8, 1, 32, 32}));
  for (float v : batch.artery.to_floats()) ASSERT_TRUE(v == 0.0f || v == 1.0f);
  for (float v : batch.x.to_floats()) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
  EXPECT_EQ(loader.batches_produced(), 1u);
}

TEST(BatchLoader, SameSeedSameBatchesWithOneOrThreeWorkers) {
  const auto images = random_images(3, 64);
  BatchLoader one(images, small_settings(1));
  BatchLoader three(images, small_settings(3));
  Batch first;
  for (int i = 0; i < 12; ++i) {
    const Batch a = one.next(), b = three.next();
    expect_same_batch(a, b, i);
    if (i == 0) first = a;
  }
  // Different batches differ (the loader is not repeating one batch).
  EXPECT_NE(first.x.to_floats(), one.next().x.to_floats());
}

TEST(BatchLoader, ResumeAtBatchKEqualsBatchKOfAFreshLoader) {
  const auto images = random_images(3, 64);
  BatchLoader fresh(images, small_settings(2));
  for (int i = 0; i < 5; ++i) fresh.next();
  EXPECT_EQ(fresh.batches_produced(), 5u);
  BatchLoader resumed(images, small_settings(2), 5);
  for (int i = 5; i < 8; ++i) expect_same_batch(resumed.next(), fresh.next(), i);
  expect_same_batch(make_batch(*images, small_settings(1), 8), fresh.next(), 8);
}

TEST(BatchLoader, OtherSeedOtherBatches) {
  const auto images = random_images(3, 64);
  BatchLoaderSettings other = small_settings(1);
  other.seed = 99;
  EXPECT_NE(make_batch(*images, small_settings(1), 0).x.to_floats(), make_batch(*images, other, 0).x.to_floats());
}

TEST(BatchLoader, StopsCleanlyWithBatchesPending) {
  // Destroyed while workers are blocked on a full queue: must join without hanging.
  for (int k = 0; k < 5; ++k) {
    BatchLoader loader(random_images(2, 64), small_settings(3));
    loader.next();
  }
  SUCCEED();
}

TEST(BatchLoader, PartsTogetherAreTheWholeBatch) {
  // What data-parallel training relies on: rank p of P trains on part p, and the parts are the
  // batch of one process, crop for crop (each image of a batch has its own random stream).
  const auto images = random_images(3, 64);
  BatchLoaderSettings whole = small_settings(1);
  whole.batch_size = 12;
  whole.crops_per_image = 2;
  const Batch all = make_batch(*images, whole, 5);
  const std::vector<float> x = all.x.to_floats(), vein = all.vein.to_floats();
  for (int parts : {2, 3, 6}) {
    std::vector<float> joined_x, joined_vein;
    for (int part = 0; part < parts; ++part) {
      BatchLoaderSettings s = whole;
      s.part = part;
      s.parts = parts;
      const Batch piece = make_batch(*images, s, 5);
      EXPECT_EQ(piece.x.shape().n(), 12 / parts);
      const std::vector<float> px = piece.x.to_floats(), pv = piece.vein.to_floats();
      joined_x.insert(joined_x.end(), px.begin(), px.end());
      joined_vein.insert(joined_vein.end(), pv.begin(), pv.end());
    }
    EXPECT_EQ(joined_x, x) << parts << " parts";
    EXPECT_EQ(joined_vein, vein) << parts << " parts";
  }
  // 6 images cannot be shared by 4 ranks: refused, naming a batch that can.
  try {
    check_batch_split(12, 2, 4);
    FAIL() << "12 crops of 2 per image split 4 ways";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 8"), std::string::npos) << e.what();
  }
}

TEST(BatchLoader, RejectsUnusableSettings) {
  BatchLoaderSettings s = small_settings(1);
  s.crop_size = 128;  // larger than the 64x64 images
  EXPECT_THROW(BatchLoader(random_images(1, 64), s), std::invalid_argument);
  s = small_settings(1);
  s.batch_size = 6;  // not a multiple of 4 crops per image
  EXPECT_THROW(BatchLoader(random_images(1, 64), s), std::invalid_argument);
}

}  // namespace
}  // namespace seqnet
