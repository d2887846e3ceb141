// metrics.cpp: the scores of metrics.h (which states the evaluation protocol).
#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <stdexcept>
#include <utility>

namespace seqnet {

// ---- Ranking scores ----------------------------------------------------------------------------

namespace {

// Checks the inputs of roc_auc / pr_auc and counts the positives.
int64_t count_positives(const char* function, const std::vector<float>& scores,
                        const std::vector<uint8_t>& labels) {
  if (scores.size() != labels.size())
    throw std::invalid_argument(std::string(function) + ": " + std::to_string(scores.size()) + " scores but " +
                                std::to_string(labels.size()) + " labels; they must be the same length");
  int64_t positives = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i]))
      throw std::invalid_argument(std::string(function) + ": score " + std::to_string(i) + " is NaN");
    positives += labels[i] != 0;
  }
  return positives;
}

// (score, is positive) sorted by score; `descending` picks the order.
std::vector<std::pair<float, bool>> sorted_by_score(const std::vector<float>& scores,
                                                   const std::vector<uint8_t>& labels, bool descending) {
  std::vector<std::pair<float, bool>> pairs(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) pairs[i] = {scores[i], labels[i] != 0};
  if (descending)
    std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  else
    std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return pairs;
}

double ratio(double numerator, double denominator) { return denominator == 0 ? 0.0 : numerator / denominator; }

}  // namespace

double roc_auc(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  const int64_t positives = count_positives("roc_auc", scores, labels);
  const int64_t negatives = static_cast<int64_t>(scores.size()) - positives;
  if (positives == 0 || negatives == 0)
    throw std::invalid_argument("roc_auc: only one class is present (" + std::to_string(positives) + " positives, " +
                                std::to_string(negatives) + " negatives); ROC AUC is undefined");
  // Mann-Whitney U with mid-ranks: each positive scores 1 per negative below it and 1/2 per
  // negative tied with it. Counted twice over, in integers, so the sum is exact.
  const auto pairs = sorted_by_score(scores, labels, false);
  int64_t negatives_below = 0, twice_u = 0;
  for (size_t begin = 0; begin < pairs.size();) {
    size_t end = begin;
    int64_t group_positives = 0, group_negatives = 0;
    for (; end < pairs.size() && pairs[end].first == pairs[begin].first; ++end)
      (pairs[end].second ? group_positives : group_negatives) += 1;
    twice_u += 2 * group_positives * negatives_below + group_positives * group_negatives;
    negatives_below += group_negatives;
    begin = end;
  }
  return static_cast<double>(twice_u) / (2.0 * static_cast<double>(positives) * static_cast<double>(negatives));
}

double pr_auc(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  const int64_t positives = count_positives("pr_auc", scores, labels);
  if (positives == 0)
    throw std::invalid_argument("pr_auc: no positive label among " + std::to_string(scores.size()) +
                                " pixels; average precision is undefined");
  const auto pairs = sorted_by_score(scores, labels, true);
  int64_t true_positives = 0, false_positives = 0;
  double previous_recall = 0, average_precision = 0;
  for (size_t begin = 0; begin < pairs.size();) {
    size_t end = begin;
    for (; end < pairs.size() && pairs[end].first == pairs[begin].first; ++end)
      (pairs[end].second ? true_positives : false_positives) += 1;
    const double recall = static_cast<double>(true_positives) / static_cast<double>(positives);
    const double precision =
        static_cast<double>(true_positives) / static_cast<double>(true_positives + false_positives);
    average_precision += (recall - previous_recall) * precision;
    previous_recall = recall;
    begin = end;
  }
  return average_precision;
}

// ---- Thresholded statistics -------------------------------------------------------------------

void ConfusionCounts::add(bool truth_positive, bool predicted_positive) {
  if (truth_positive) (predicted_positive ? tp : fn) += 1;
  else (predicted_positive ? fp : tn) += 1;
}

ConfusionCounts& ConfusionCounts::operator+=(const ConfusionCounts& other) {
  tp += other.tp;
  fp += other.fp;
  tn += other.tn;
  fn += other.fn;
  return *this;
}

double ConfusionCounts::accuracy() const { return ratio(double(tp + tn), double(total())); }
double ConfusionCounts::sensitivity() const { return ratio(double(tp), double(tp + fn)); }
double ConfusionCounts::specificity() const { return ratio(double(tn), double(tn + fp)); }
double ConfusionCounts::precision() const { return ratio(double(tp), double(tp + fp)); }
double ConfusionCounts::f1() const { return ratio(2.0 * double(tp), double(2 * tp + fp + fn)); }
double ConfusionCounts::negative_f1() const { return ratio(2.0 * double(tn), double(2 * tn + fn + fp)); }
double ConfusionCounts::iou() const { return ratio(double(tp), double(tp + fp + fn)); }
double ConfusionCounts::balanced_accuracy() const { return 0.5 * (sensitivity() + specificity()); }

// ---- Score records ----------------------------------------------------------------------------

const std::vector<std::string>& VesselScores::names() {
  static const std::vector<std::string> names = {"roc_auc",     "pr_auc",    "accuracy", "sensitivity",
                                                 "specificity", "precision", "f1",       "iou"};
  return names;
}

std::vector<double> VesselScores::values() const {
  return {roc_auc, pr_auc, accuracy, sensitivity, specificity, precision, f1, iou};
}

VesselScores VesselScores::from_values(const std::vector<double>& v) {
  return VesselScores{v.at(0), v.at(1), v.at(2), v.at(3), v.at(4), v.at(5), v.at(6), v.at(7)};
}

AVStats AVStats::from_counts(const ConfusionCounts& c) {
  return AVStats{c.accuracy(), c.sensitivity(), c.specificity(), c.balanced_accuracy(), c.f1(), c.negative_f1()};
}

namespace {
const char* const kAVStatNames[] = {"accuracy", "sensitivity", "specificity", "balanced_accuracy", "f1_artery",
                                    "f1_vein"};
constexpr size_t kAVStatCount = 6;

std::vector<double> av_stat_values(const AVStats& s) {
  return {s.accuracy, s.sensitivity, s.specificity, s.balanced_accuracy, s.f1_artery, s.f1_vein};
}
AVStats av_stats_from(const std::vector<double>& v, size_t first) {
  return AVStats{v.at(first),     v.at(first + 1), v.at(first + 2),
                 v.at(first + 3), v.at(first + 4), v.at(first + 5)};
}
}  // namespace

const std::vector<std::string>& AVScores::names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const char* variant : {"all", "detected"})
      for (const char* stat : kAVStatNames) n.push_back(std::string(variant) + "." + stat);
    n.push_back("detected_fraction");
    return n;
  }();
  return names;
}

std::vector<double> AVScores::values() const {
  std::vector<double> v = av_stat_values(all);
  for (double x : av_stat_values(detected)) v.push_back(x);
  v.push_back(detected_fraction);
  return v;
}

AVScores AVScores::from_values(const std::vector<double>& v) {
  return AVScores{av_stats_from(v, 0), av_stats_from(v, kAVStatCount), v.at(2 * kAVStatCount)};
}

AVCounts& AVCounts::operator+=(const AVCounts& other) {
  all += other.all;
  detected += other.detected;
  return *this;
}

AVScores AVCounts::scores() const {
  return AVScores{AVStats::from_counts(all), AVStats::from_counts(detected),
                  ratio(double(detected.total()), double(all.total()))};
}

// ---- One image ---------------------------------------------------------------------------------

namespace {
// Largest valid LabelClass value; anything above it in a class map is an input error.
constexpr uint8_t kLastLabelClass = static_cast<uint8_t>(LabelClass::uncertain);

void check_same_size(const char* what, size_t expected, size_t actual, const char* name) {
  if (actual != expected)
    throw std::invalid_argument(std::string(what) + ": " + name + " has " + std::to_string(actual) +
                                " pixels but the vessel probability map has " + std::to_string(expected));
}
}  // namespace

void select_fov_pixels(std::span<const float> vessel_prob, std::span<const uint8_t> vessel_truth,
                       std::span<const uint8_t> fov, std::vector<float>& scores_out,
                       std::vector<uint8_t>& labels_out) {
  check_same_size("vessel evaluation", vessel_prob.size(), vessel_truth.size(), "the ground truth");
  check_same_size("vessel evaluation", vessel_prob.size(), fov.size(), "the FOV mask");
  for (size_t i = 0; i < vessel_prob.size(); ++i) {
    if (!fov[i]) continue;
    scores_out.push_back(vessel_prob[i]);
    labels_out.push_back(vessel_truth[i] != 0);
  }
}

VesselScores vessel_scores(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  ConfusionCounts c;
  for (size_t i = 0; i < scores.size() && i < labels.size(); ++i)
    c.add(labels[i] != 0, scores[i] >= kVesselThreshold);
  return VesselScores{roc_auc(scores, labels), pr_auc(scores, labels), c.accuracy(), c.sensitivity(),
                      c.specificity(), c.precision(), c.f1(), c.iou()};
}

AVCounts av_counts(std::span<const float> artery_prob, std::span<const float> vein_prob,
                   std::span<const float> vessel_prob, std::span<const uint8_t> classes,
                   std::span<const uint8_t> fov) {
  const char* what = "artery/vein evaluation";
  check_same_size(what, vessel_prob.size(), artery_prob.size(), "the artery probability map");
  check_same_size(what, vessel_prob.size(), vein_prob.size(), "the vein probability map");
  check_same_size(what, vessel_prob.size(), classes.size(), "the ground-truth class map");
  check_same_size(what, vessel_prob.size(), fov.size(), "the FOV mask");
  AVCounts counts;
  for (size_t i = 0; i < classes.size(); ++i) {
    if (classes[i] > kLastLabelClass)
      throw std::invalid_argument(std::string(what) + ": pixel " + std::to_string(i) + " has class value " +
                                  std::to_string(classes[i]) + ", not one of 0..4 (background, artery, vein, "
                                  "crossing, uncertain)");
    const auto truth = static_cast<LabelClass>(classes[i]);
    if (!fov[i] || (truth != LabelClass::artery && truth != LabelClass::vein)) continue;
    const bool is_artery = truth == LabelClass::artery;
    const bool called_artery = artery_prob[i] >= vein_prob[i];
    counts.all.add(is_artery, called_artery);
    if (vessel_prob[i] >= kVesselThreshold) counts.detected.add(is_artery, called_artery);
  }
  return counts;
}

std::vector<uint8_t> vessel_truth_from_classes(std::span<const uint8_t> classes) {
  std::vector<uint8_t> truth(classes.size());
  for (size_t i = 0; i < classes.size(); ++i) truth[i] = classes[i] != static_cast<uint8_t>(LabelClass::background);
  return truth;
}

// ---- Aggregation ------------------------------------------------------------------------------

namespace {

// Fills mean and std (sample standard deviation, divisor n-1; 0 for one image) of `aggregate`.
template <class Scores>
void average_over_images(Aggregate<Scores>& aggregate, const char* what) {
  const size_t n = aggregate.images.size();
  if (n == 0) throw std::invalid_argument(std::string(what) + ": no image was added, nothing to aggregate");
  const size_t fields = Scores::names().size();
  std::vector<double> mean(fields, 0.0), std(fields, 0.0);
  for (const Scores& s : aggregate.images) {
    const auto v = s.values();
    for (size_t f = 0; f < fields; ++f) mean[f] += v[f] / double(n);
  }
  if (n > 1) {
    for (const Scores& s : aggregate.images) {
      const auto v = s.values();
      for (size_t f = 0; f < fields; ++f) std[f] += (v[f] - mean[f]) * (v[f] - mean[f]);
    }
    for (double& x : std) x = std::sqrt(x / double(n - 1));
  }
  aggregate.mean = Scores::from_values(mean);
  aggregate.std = Scores::from_values(std);
}

}  // namespace

void VesselEvaluation::add_image(const std::string& name, std::span<const float> vessel_prob,
                                 std::span<const uint8_t> vessel_truth, std::span<const uint8_t> fov) {
  std::vector<float> scores;
  std::vector<uint8_t> labels;
  VesselScores image_scores;
  try {
    select_fov_pixels(vessel_prob, vessel_truth, fov, scores, labels);
    image_scores = vessel_scores(scores, labels);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("image " + name + ": " + e.what());
  }
  result_.image_names.push_back(name);
  result_.images.push_back(image_scores);
  pooled_scores_.insert(pooled_scores_.end(), scores.begin(), scores.end());
  pooled_labels_.insert(pooled_labels_.end(), labels.begin(), labels.end());
}

Aggregate<VesselScores> VesselEvaluation::result() const {
  Aggregate<VesselScores> out = result_;
  average_over_images(out, "vessel evaluation");
  out.pooled = vessel_scores(pooled_scores_, pooled_labels_);
  return out;
}

void AVEvaluation::add_image(const std::string& name, std::span<const float> artery_prob,
                             std::span<const float> vein_prob, std::span<const float> vessel_prob,
                             std::span<const uint8_t> classes, std::span<const uint8_t> fov) {
  AVCounts counts;
  try {
    counts = av_counts(artery_prob, vein_prob, vessel_prob, classes, fov);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("image " + name + ": " + e.what());
  }
  if (counts.all.total() == 0)
    throw std::invalid_argument("image " + name + ": no ground-truth artery or vein pixel inside the FOV; "
                                "artery/vein scores are undefined");
  result_.image_names.push_back(name);
  result_.images.push_back(counts.scores());
  pooled_ += counts;
}

Aggregate<AVScores> AVEvaluation::result() const {
  Aggregate<AVScores> out = result_;
  average_over_images(out, "artery/vein evaluation");
  out.pooled = pooled_.scores();
  return out;
}

// ---- The report ------------------------------------------------------------------------------

const std::vector<std::string>& protocol_lines() {
  static const std::vector<std::string> lines = {
      "pixels: inside the field-of-view mask only",
      "vessel: ground truth = every labelled pixel; AUCs from the vessel probability "
      "(ROC AUC exact with tied scores averaged; PR AUC = average precision); other statistics at threshold 0.5",
      "artery/vein: ground-truth artery and vein pixels only (crossings, uncertain and background left out); "
      "artery iff P_artery >= P_vein; artery is the positive class (sensitivity = artery recall, "
      "specificity = vein recall)",
      "artery/vein variants: all = every GT artery/vein pixel; detected = those with vessel probability >= 0.5",
      "aggregation: pooled = all pixels of all images together; mean and sample std (n-1) over images",
  };
  return lines;
}

namespace {

std::string fixed(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

std::string padded(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

template <class Scores>
void print_aggregate(std::ostream& out, const std::string& title, const Aggregate<Scores>& a) {
  const auto& names = Scores::names();
  size_t name_width = 6;
  for (const auto& n : names) name_width = std::max(name_width, n.size() + 2);
  out << "\n" << title << " (" << a.images.size() << " images)\n";
  out << "  " << padded("metric", name_width) << padded("pooled", 10) << padded("mean", 10) << "std\n";
  const auto pooled = a.pooled.values(), mean = a.mean.values(), std = a.std.values();
  for (size_t f = 0; f < names.size(); ++f)
    out << "  " << padded(names[f], name_width) << padded(fixed(pooled[f]), 10) << padded(fixed(mean[f]), 10)
        << fixed(std[f]) << "\n";

  size_t image_width = 7;
  for (const auto& n : a.image_names) image_width = std::max(image_width, n.size() + 2);
  out << "  per image:\n  " << padded("image", image_width);
  for (const auto& n : names) out << padded(n, std::max<size_t>(n.size(), 6) + 2);
  out << "\n";
  for (size_t i = 0; i < a.images.size(); ++i) {
    out << "  " << padded(a.image_names[i], image_width);
    const auto v = a.images[i].values();
    for (size_t f = 0; f < names.size(); ++f) out << padded(fixed(v[f]), std::max<size_t>(names[f].size(), 6) + 2);
    out << "\n";
  }
}

nlohmann::json to_json(const VesselScores& s) {
  nlohmann::json j;
  const auto v = s.values();
  for (size_t f = 0; f < v.size(); ++f) j[VesselScores::names()[f]] = v[f];
  return j;
}

nlohmann::json to_json(const AVStats& s) {
  nlohmann::json j;
  const auto v = av_stat_values(s);
  for (size_t f = 0; f < kAVStatCount; ++f) j[kAVStatNames[f]] = v[f];
  return j;
}

nlohmann::json to_json(const AVScores& s) {
  return {{"all", to_json(s.all)}, {"detected", to_json(s.detected)}, {"detected_fraction", s.detected_fraction}};
}

template <class Scores>
nlohmann::json to_json(const Aggregate<Scores>& a) {
  nlohmann::json images = nlohmann::json::array();
  for (size_t i = 0; i < a.images.size(); ++i)
    images.push_back({{"name", a.image_names[i]}, {"scores", to_json(a.images[i])}});
  return {{"image_count", a.images.size()},
          {"pooled", to_json(a.pooled)},
          {"mean", to_json(a.mean)},
          {"std", to_json(a.std)},
          {"images", images}};
}

}  // namespace

void print_report(std::ostream& out, const EvaluationReport& report) {
  out << "Protocol:\n";
  for (const auto& line : protocol_lines()) out << "  - " << line << "\n";
  for (const auto& line : report.protocol_notes) out << "  - " << line << "\n";
  if (report.vessel) print_aggregate(out, "Vessel segmentation", *report.vessel);
  if (report.artery_vein) print_aggregate(out, "Artery/vein classification", *report.artery_vein);
}

nlohmann::json report_to_json(const EvaluationReport& report) {
  nlohmann::json protocol = protocol_lines();
  for (const auto& line : report.protocol_notes) protocol.push_back(line);
  nlohmann::json j = {{"protocol", protocol}};
  if (report.vessel) j["vessel"] = to_json(*report.vessel);
  if (report.artery_vein) j["artery_vein"] = to_json(*report.artery_vein);
  return j;
}

}  // namespace seqnet
