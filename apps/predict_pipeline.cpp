// predict_pipeline.cpp: the reader -> model -> writer stages (predict_pipeline.h).
#include "apps/predict_pipeline.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "apps/predict_outputs.h"
#include "io/image.h"
#include "measure/overlay.h"
#include "train/dataset.h"

namespace seqnet::cli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A FIFO of at most `capacity` items. push waits for room, pop for an item; close() ends the
// stream (pop then drains what is left and returns nothing), cancel() also drops what is queued
// and makes push return false, so that a failing stage stops the others.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  bool push(T item) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return cancelled_ || items_.size() < capacity_; });
    if (cancelled_) return false;
    items_.push_back(std::move(item));
    changed_.notify_all();
    return true;
  }
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return cancelled_ || closed_ || !items_.empty(); });
    if (cancelled_ || items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    changed_.notify_all();
    return item;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }
  void cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    items_.clear();
    changed_.notify_all();
  }

 private:
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<T> items_;
  bool closed_ = false, cancelled_ = false;
};

// A photograph between stages: decoded (or why not), then predicted.
struct Work {
  const InputPhoto* photo = nullptr;
  Image rgb;
  std::string error;     // not empty: unreadable, no prediction
  double seconds = 0;    // spent on it so far
  Prediction prediction;
};

Work decode(const InputPhoto& photo, double& stage_seconds) {
  const auto start = std::chrono::steady_clock::now();
  Work work;
  work.photo = &photo;
  try {
    if (!photo.problem.empty()) throw ImageError(photo.file.string() + ": " + photo.problem);
    work.rgb = to_rgb(read_image(photo.file.string()));
  } catch (const ImageError& e) {
    work.error = e.what();
  }
  work.seconds = seconds_since(start);
  stage_seconds += work.seconds;
  return work;
}

// The model (or the ensemble's models) on the readable photographs of `batch`, as one batch; the
// time is shared out evenly.
void predict(const std::vector<SeqNet*>& models, std::vector<Work>& batch, const InferenceSettings& inference,
             double& stage_seconds) {
  const auto start = std::chrono::steady_clock::now();
  // The photographs are lent to the model and given back whatever happens (moved: a copy would be
  // 28 MB a LES-AV photograph).
  std::vector<Image> photos;
  struct GiveBack {
    std::vector<Work>& batch;
    std::vector<Image>& photos;
    ~GiveBack() {
      size_t next = 0;
      for (Work& work : batch)
        if (work.error.empty() && next < photos.size()) work.rgb = std::move(photos[next++]);
    }
  } give_back{batch, photos};
  for (Work& work : batch)
    if (work.error.empty()) photos.push_back(std::move(work.rgb));
  if (photos.empty()) return;
  std::vector<Prediction> predictions = predict_images(models, photos, inference);
  const double seconds = seconds_since(start), each = seconds / double(photos.size());
  stage_seconds += seconds;
  size_t next = 0;
  for (Work& work : batch)
    if (work.error.empty()) work.prediction = std::move(predictions[next++]), work.seconds += each;
}

// Post-processing, the fractions and the five maps of one photograph: its manifest row.
// The vascular measures of the maps as written (measure/photo_measures.h) into `row`, and their
// picture. A failure is the row's message, not an error: the maps are written.
void add_measures(const Prediction& p, const Image& rgb, const std::vector<uint8_t>& fov, const PipelineSettings& settings,
                  const std::string& key, ManifestRow& row) {
  try {
    measure::MeasureInput in{p.width, p.height, p.vessel, p.artery, p.vein, fov, measure::luminance(rgb)};
    const measure::PhotoMeasures m = measure::measure_photograph(in, settings.measure_scale);
    row.measures = measure::measure_column_values(m);
    if (!settings.measures_overlay.empty()) {
      const std::filesystem::path file =
          settings.measures_overlay / std::filesystem::path(key).replace_extension(".png");
      std::filesystem::create_directories(file.parent_path());
      write_png(file.string(), measure::measures_overlay(rgb, m));
    }
  } catch (const std::exception& e) {
    row.message += (row.message.empty() ? "" : "; ") + std::string("measures failed: ") + e.what();
  }
}

ManifestRow finish(Work& work, const PipelineSettings& settings, StageSeconds& stages) {
  double& stage_seconds = stages.finish;
  const auto start = std::chrono::steady_clock::now();
  ManifestRow row;
  row.path = work.photo->key;
  row.model_sha256 = settings.model_sha256;
  if (!work.error.empty()) {
    row.status = "error";
    row.message = work.error;
    row.seconds = work.seconds;
    return row;
  }
  Prediction& p = work.prediction;
  const std::vector<uint8_t> fov = compute_fov(work.rgb);
  if (settings.postprocess)
    propagate_av_labels(p.artery, p.vein, p.vessel, fov, p.width, p.height,
                        scaled_to_image(settings.postprocess_settings, p.width, p.height, settings.inference.size));
  const VesselFractions fractions = vessel_fractions(p, fov);
  write_outputs(settings.out, work.photo->key, work.rgb, p);
  row.width = p.width;
  row.height = p.height;
  row.status = "ok";
  if (fractions.whole_image) row.message = "no field of view found: fractions of the whole image";
  row.vessel_fraction = fractions.vessel;
  row.artery_fraction = fractions.artery;
  row.vein_fraction = fractions.vein;
  if (settings.measures) {
    const auto measures_start = std::chrono::steady_clock::now();
    add_measures(p, work.rgb, fov, settings, work.photo->key, row);
    stages.measures += seconds_since(measures_start);
  }
  const double seconds = seconds_since(start);
  stage_seconds += seconds;
  row.seconds = work.seconds + seconds;
  return row;
}

StageSeconds run_sequentially(const std::vector<SeqNet*>& models, const std::vector<InputPhoto>& photos,
                              const PipelineSettings& settings,
                              const std::function<void(const ManifestRow&)>& on_finished) {
  StageSeconds stages;
  for (const InputPhoto& photo : photos) {
    std::vector<Work> one;
    one.push_back(decode(photo, stages.decode));
    predict(models, one, settings.inference, stages.model);
    on_finished(finish(one.front(), settings, stages));
  }
  return stages;
}

}  // namespace

StageSeconds run_prediction_pipeline(const std::vector<SeqNet*>& models, const std::vector<InputPhoto>& photos,
                                     const PipelineSettings& settings,
                                     const std::function<void(const ManifestRow&)>& on_finished) {
  if (settings.sequential) return run_sequentially(models, photos, settings, on_finished);

  StageSeconds stages;  // each field written by its stage's thread only, read after the joins
  const size_t depth = size_t(2 * std::max(1, settings.batch));
  BoundedQueue<Work> decoded(depth), predicted(depth);
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto fail = [&](std::exception_ptr e) {
    std::lock_guard lock(failure_mutex);
    if (!failure) failure = e;
    decoded.cancel();
    predicted.cancel();
  };

  std::thread reader([&] {
    try {
      for (const InputPhoto& photo : photos)
        if (!decoded.push(decode(photo, stages.decode))) return;
      decoded.close();
    } catch (...) {
      fail(std::current_exception());
    }
  });
  std::thread writer([&] {
    try {
      while (std::optional<Work> work = predicted.pop()) on_finished(finish(*work, settings, stages));
    } catch (...) {
      fail(std::current_exception());
    }
  });

  try {
    for (bool more = true; more;) {
      std::vector<Work> batch;
      while (int(batch.size()) < settings.batch) {
        std::optional<Work> work = decoded.pop();
        if (!work) {
          more = false;
          break;
        }
        batch.push_back(std::move(*work));
      }
      predict(models, batch, settings.inference, stages.model);
      for (Work& work : batch)
        if (!predicted.push(std::move(work))) more = false;
    }
    predicted.close();
  } catch (...) {
    fail(std::current_exception());
  }
  reader.join();
  writer.join();
  if (failure) std::rethrow_exception(failure);
  return stages;
}

}  // namespace seqnet::cli
