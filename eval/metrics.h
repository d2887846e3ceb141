// metrics.h: the scores of the evaluation protocol below: ROC and PR AUC, thresholded confusion statistics,
// vessel segmentation and artery/vein classification per image, pooled and averaged over images,
// and the report as a text table and as JSON.
//
// Protocol (printed with every report):
//   - only pixels inside the field-of-view mask count (fov != 0);
//   - vessel: ground truth = every labelled pixel; scores from the vessel probability; thresholded
//     statistics at probability >= 0.5;
//   - artery/vein: only ground-truth artery and vein pixels (crossing, uncertain and background
//     are left out); decision artery iff P_artery >= P_vein; artery is the positive class;
//     "all" = every such pixel, "detected" = those whose vessel probability is >= 0.5;
//   - aggregations: pooled (all pixels of all images together) and mean and sample standard
//     deviation (divisor n-1; 0 for a single image) over images.
//
// A ratio whose denominator is 0 (e.g. precision with no predicted positive) is reported as 0, as
// scikit-learn does with zero_division=0.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/label_class.h"

namespace seqnet {

// The probability at or above which a pixel is called vessel.
inline constexpr float kVesselThreshold = 0.5f;

// ---- Ranking scores ----------------------------------------------------------------------------

// ROC AUC = P(score of a random positive > score of a random negative) + 0.5 P(equal), computed
// exactly by the Mann-Whitney statistic with mid-ranks for ties. labels: nonzero = positive.
// Throws std::invalid_argument when the sizes differ, a score is NaN, or one class is absent.
double roc_auc(const std::vector<float>& scores, const std::vector<uint8_t>& labels);

// PR AUC as average precision (scikit-learn's average_precision_score):
//   AP = sum_k (R_k - R_{k-1}) P_k
// over the distinct score thresholds in decreasing order (equal scores form one step), with
// P_k, R_k the precision and recall of "score >= threshold k" and R_0 = 0. No interpolation.
// Throws std::invalid_argument when the sizes differ, a score is NaN, or no label is positive.
double pr_auc(const std::vector<float>& scores, const std::vector<uint8_t>& labels);

// ---- Thresholded statistics -------------------------------------------------------------------

// Counts of a binary decision against binary truth.
struct ConfusionCounts {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;

  void add(bool truth_positive, bool predicted_positive);
  ConfusionCounts& operator+=(const ConfusionCounts& other);
  int64_t total() const { return tp + fp + tn + fn; }

  double accuracy() const;           // (tp + tn) / total
  double sensitivity() const;        // tp / (tp + fn), recall of the positive class
  double specificity() const;        // tn / (tn + fp), recall of the negative class
  double precision() const;          // tp / (tp + fp)
  double f1() const;                 // 2tp / (2tp + fp + fn), equal to Dice
  double negative_f1() const;        // 2tn / (2tn + fn + fp), F1 of the negative class
  double iou() const;                // tp / (tp + fp + fn), Jaccard
  double balanced_accuracy() const;  // (sensitivity + specificity) / 2
};

// ---- Per-image and aggregated scores ----------------------------------------------------------

// Vessel segmentation scores. Every field is a double so that the mean and the standard deviation
// over images have the same shape.
struct VesselScores {
  double roc_auc = 0, pr_auc = 0;
  double accuracy = 0, sensitivity = 0, specificity = 0, precision = 0, f1 = 0, iou = 0;

  static const std::vector<std::string>& names();  // in the order of values()
  std::vector<double> values() const;
  static VesselScores from_values(const std::vector<double>& values);
};

// Artery/vein statistics of one variant ("all" or "detected"); artery is the positive class.
struct AVStats {
  double accuracy = 0;
  double sensitivity = 0;  // artery recall
  double specificity = 0;  // vein recall
  double balanced_accuracy = 0;
  double f1_artery = 0, f1_vein = 0;

  static AVStats from_counts(const ConfusionCounts& counts);
};

struct AVScores {
  AVStats all, detected;
  double detected_fraction = 0;  // detected GT artery/vein pixels / all GT artery/vein pixels

  static const std::vector<std::string>& names();  // "all.accuracy", ..., "detected_fraction"
  std::vector<double> values() const;
  static AVScores from_values(const std::vector<double>& values);
};

// One image's artery/vein confusion counts, both variants.
struct AVCounts {
  ConfusionCounts all, detected;
  AVCounts& operator+=(const AVCounts& other);
  AVScores scores() const;
};

// Vessel pixels of one image (H*W row-major each): truth nonzero = vessel, fov nonzero = inside.
// Only FOV pixels are returned; throws std::invalid_argument when the sizes differ.
void select_fov_pixels(std::span<const float> vessel_prob, std::span<const uint8_t> vessel_truth,
                       std::span<const uint8_t> fov, std::vector<float>& scores_out,
                       std::vector<uint8_t>& labels_out);

// Scores of already selected pixels (roc_auc throws when one class is absent).
VesselScores vessel_scores(const std::vector<float>& scores, const std::vector<uint8_t>& labels);

// Artery/vein counts of one image (H*W row-major each); classes are LabelClass values.
// Throws std::invalid_argument when the sizes differ or a class value is not a LabelClass.
AVCounts av_counts(std::span<const float> artery_prob, std::span<const float> vein_prob,
                   std::span<const float> vessel_prob, std::span<const uint8_t> classes,
                   std::span<const uint8_t> fov);

// Ground-truth vessel map of a class map: every labelled (non-background) pixel is vessel.
std::vector<uint8_t> vessel_truth_from_classes(std::span<const uint8_t> classes);

// Per-image scores, their mean and sample standard deviation, and the pooled scores.
template <class Scores>
struct Aggregate {
  std::vector<std::string> image_names;
  std::vector<Scores> images;
  Scores pooled, mean, std;
};

// Collects images one by one and aggregates them.
class VesselEvaluation {
 public:
  // Throws std::invalid_argument naming the image when sizes differ or the image's FOV holds no
  // vessel or no background pixel (its AUC would be undefined).
  void add_image(const std::string& name, std::span<const float> vessel_prob,
                 std::span<const uint8_t> vessel_truth, std::span<const uint8_t> fov);
  size_t image_count() const { return result_.images.size(); }
  // Throws std::invalid_argument when no image was added.
  Aggregate<VesselScores> result() const;

 private:
  Aggregate<VesselScores> result_;
  std::vector<float> pooled_scores_;  // the FOV pixels of every image, for the pooled AUCs
  std::vector<uint8_t> pooled_labels_;
};

class AVEvaluation {
 public:
  // Throws std::invalid_argument naming the image when sizes differ, a class value is invalid or
  // its FOV holds no ground-truth artery or vein pixel.
  void add_image(const std::string& name, std::span<const float> artery_prob,
                 std::span<const float> vein_prob, std::span<const float> vessel_prob,
                 std::span<const uint8_t> classes, std::span<const uint8_t> fov);
  size_t image_count() const { return result_.images.size(); }
  // Throws std::invalid_argument when no image was added.
  Aggregate<AVScores> result() const;

 private:
  Aggregate<AVScores> result_;
  AVCounts pooled_;
};

// ---- The report ------------------------------------------------------------------------------

struct EvaluationReport {
  std::optional<Aggregate<VesselScores>> vessel;
  std::optional<Aggregate<AVScores>> artery_vein;
  // Lines the caller adds to the protocol, e.g. where the FOV masks came from and whether the
  // artery/vein post-processing was on.
  std::vector<std::string> protocol_notes;
};

// The fixed protocol lines of this page's header comment.
const std::vector<std::string>& protocol_lines();

// Text tables: protocol, summary (pooled, mean, std) and one row per image.
void print_report(std::ostream& out, const EvaluationReport& report);
nlohmann::json report_to_json(const EvaluationReport& report);

}  // namespace seqnet
