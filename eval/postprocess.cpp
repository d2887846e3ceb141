// postprocess.cpp: the 8 steps of postprocess.h put together (the skeleton is in skeleton.cpp,
// the graph and continuations in vessel_graph.cpp).
#include "eval/postprocess.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <stdexcept>
#include <string>
#include <tuple>

#include "eval/skeleton.h"
#include "eval/vessel_graph.h"

namespace seqnet {

namespace {

constexpr int32_t kNoOwner = -1;        // not vessel, or no skeleton reached it
constexpr int32_t kJunctionOwner = -2;  // nearest skeleton pixel is a junction pixel

AVLabel pixel_wise_label(float artery, float vein) { return artery >= vein ? AVLabel::artery : AVLabel::vein; }

void check_sizes(size_t artery, size_t vein, size_t vessel, size_t fov, int width, int height) {
  if (width <= 0 || height <= 0)
    throw std::invalid_argument("propagate_av_labels: image size " + std::to_string(width) + "x" +
                                std::to_string(height) + " is not positive");
  const size_t n = size_t(width) * size_t(height);
  const auto check = [&](size_t size, const char* what) {
    if (size != n)
      throw std::invalid_argument(std::string("propagate_av_labels: the ") + what + " map has " + std::to_string(size) +
                                  " pixels, expected " + std::to_string(width) + "x" + std::to_string(height));
  };
  check(artery, "artery");
  check(vein, "vein");
  check(vessel, "vessel");
  check(fov, "FOV");
}

// Step 1: B = (S >= threshold) inside the FOV.
BinaryMask threshold_vessels(const std::vector<float>& vessel, const std::vector<uint8_t>& fov, int width,
                             int height, float threshold) {
  BinaryMask b(width, height);
  for (size_t i = 0; i < vessel.size(); ++i) b.on[i] = fov[i] && vessel[i] >= threshold;
  return b;
}

// Step 4: every pixel of B takes the owner of its geodesically nearest skeleton pixel (breadth-first
// from all skeleton pixels at once, 8-neighbour steps inside B).
std::vector<int32_t> assign_ownership(const BinaryMask& vessels, const VesselGraph& g) {
  std::vector<int32_t> owner(vessels.on.size(), kNoOwner);
  std::queue<int32_t> frontier;
  for (size_t i = 0; i < owner.size(); ++i) {
    if (g.segment_of[i] >= 0) owner[i] = g.segment_of[i];
    else if (g.node_of[i] >= 0) owner[i] = kJunctionOwner;
    else continue;
    frontier.push(static_cast<int32_t>(i));
  }
  while (!frontier.empty()) {
    const int32_t p = frontier.front();
    frontier.pop();
    for (int k = 0; k < 8; ++k) {
      const int nx = p % vessels.width + kNeighbourDx[k], ny = p / vessels.width + kNeighbourDy[k];
      if (!vessels.get(nx, ny)) continue;
      const size_t q = size_t(ny) * vessels.width + nx;
      if (owner[q] != kNoOwner) continue;
      owner[q] = owner[p];
      frontier.push(static_cast<int32_t>(q));
    }
  }
  return owner;
}

// Step 5: z_i = mean of (A - V) over the pixels segment i owns.
std::vector<double> segment_scores(const std::vector<int32_t>& owner, const std::vector<float>& artery,
                                   const std::vector<float>& vein, size_t segment_count) {
  std::vector<double> sum(segment_count, 0.0), count(segment_count, 0.0);
  for (size_t i = 0; i < owner.size(); ++i) {
    if (owner[i] < 0) continue;
    sum[owner[i]] += double(artery[i]) - double(vein[i]);
    count[owner[i]] += 1;
  }
  for (size_t s = 0; s < segment_count; ++s) sum[s] = count[s] > 0 ? sum[s] / count[s] : 0.0;
  return sum;
}

// Step 8 (first half): each pixel of B takes its segment's label; pixels owned by junctions take
// the majority of their labelled 8-neighbours, in rounds from the outside in (a tie, or a pixel
// no label reaches, keeps its pixel-wise label).
std::vector<AVLabel> label_pixels(const BinaryMask& vessels, const std::vector<int32_t>& owner,
                                  const std::vector<AVLabel>& segment_label, const std::vector<float>& artery,
                                  const std::vector<float>& vein) {
  std::vector<AVLabel> label(owner.size(), AVLabel::none);
  std::vector<int32_t> unresolved;
  for (size_t i = 0; i < owner.size(); ++i) {
    if (!vessels.on[i]) continue;
    if (owner[i] >= 0) label[i] = segment_label[owner[i]];
    else unresolved.push_back(static_cast<int32_t>(i));
  }
  while (!unresolved.empty()) {
    std::vector<std::pair<int32_t, AVLabel>> decided;
    std::vector<int32_t> still;
    for (int32_t p : unresolved) {
      int arteries = 0, veins = 0;
      for (int k = 0; k < 8; ++k) {
        const int nx = p % vessels.width + kNeighbourDx[k], ny = p / vessels.width + kNeighbourDy[k];
        if (!vessels.inside(nx, ny)) continue;
        const AVLabel l = label[size_t(ny) * vessels.width + nx];
        arteries += l == AVLabel::artery;
        veins += l == AVLabel::vein;
      }
      if (arteries + veins == 0) still.push_back(p);
      else if (arteries != veins) decided.emplace_back(p, arteries > veins ? AVLabel::artery : AVLabel::vein);
      else decided.emplace_back(p, pixel_wise_label(artery[p], vein[p]));
    }
    if (decided.empty()) {  // the rest touch no labelled pixel
      for (int32_t p : still) label[p] = pixel_wise_label(artery[p], vein[p]);
      break;
    }
    for (const auto& [p, l] : decided) label[p] = l;
    unresolved = std::move(still);
  }
  return label;
}

// The pixel thresholds in the maps' own pixels: lengths times pixel_scale, the area times its
// square, rounded; the direction fit keeps at least the 2 pixels a direction needs.
PostprocessSettings in_image_pixels(const PostprocessSettings& settings) {
  if (!(settings.pixel_scale > 0))
    throw std::invalid_argument("propagate_av_labels: pixel_scale " + std::to_string(settings.pixel_scale) +
                                " is not positive");
  const double k = settings.pixel_scale;
  PostprocessSettings s = settings;
  s.min_component_pixels = static_cast<int>(std::lround(settings.min_component_pixels * k * k));
  s.min_spur_pixels = static_cast<int>(std::lround(settings.min_spur_pixels * k));
  s.direction_pixels = std::max(2, static_cast<int>(std::lround(settings.direction_pixels * k)));
  s.crossing_node_distance = settings.crossing_node_distance * k;
  s.pixel_scale = 1.0;
  return s;
}

}  // namespace

// Step 7: anchors (|z| >= anchor_confidence) keep their label; the strongest claim spreads first
// (a max-product Dijkstra: a claim loses hop_decay per link), so every other segment linked to an
// anchor settles on its strongest claim. Two readings of the spec, both the conservative one:
//   - "a segment claimed by both labels keeps the stronger claim": a non-anchor's own evidence
//     |z| is a claim too, so a propagated label replaces its own only when strictly stronger
//     (the spec's "takes that label" would let a claim decayed to 0.01 overrule |z| = 0.29);
//   - opposite claims of equal confidence decide nothing: the segment keeps sign(z).
// A segment that keeps its own label passes nothing on (only anchors are sources).
std::vector<AVLabel> propagate_segment_labels(const std::vector<double>& z, const Continuations& links,
                                              const PostprocessSettings& settings, int& anchors) {
  const size_t n = z.size();
  const auto own_label = [&](size_t s) { return z[s] >= 0 ? AVLabel::artery : AVLabel::vein; };
  std::vector<AVLabel> label(n, AVLabel::none), best_label(n, AVLabel::none);
  std::vector<uint8_t> is_anchor(n, 0), settled(n, 0), tied(n, 0);
  std::vector<double> best_claim(n);
  using Claim = std::tuple<double, int32_t, AVLabel>;  // (confidence, segment, label)
  std::priority_queue<Claim> claims;                   // largest confidence on top
  anchors = 0;
  for (size_t s = 0; s < n; ++s) {
    best_claim[s] = std::abs(z[s]);  // what a claim must beat: the segment's own evidence
    best_label[s] = own_label(s);
    if (std::abs(z[s]) < settings.anchor_confidence) continue;
    is_anchor[s] = 1;
    ++anchors;
    claims.emplace(std::abs(z[s]), static_cast<int32_t>(s), own_label(s));
  }
  while (!claims.empty()) {
    const auto [confidence, s, claim_label] = claims.top();
    claims.pop();
    if (settled[s]) continue;
    settled[s] = 1;
    if (tied[s]) continue;  // equally strong opposite claims: label from z below, nothing passed on
    label[s] = claim_label;
    const double passed_on = confidence * settings.hop_decay;
    for (int32_t t : links.linked[s]) {
      if (is_anchor[t] || settled[t]) continue;
      if (passed_on == best_claim[t] && claim_label != best_label[t]) tied[t] = 1;
      if (passed_on <= best_claim[t]) continue;
      best_claim[t] = passed_on;
      best_label[t] = claim_label;
      tied[t] = 0;
      claims.emplace(passed_on, t, claim_label);
    }
  }
  for (size_t s = 0; s < n; ++s)
    if (label[s] == AVLabel::none) label[s] = own_label(s);
  return label;
}

PostprocessSettings scaled_to_image(PostprocessSettings settings, int width, int height, int working_size) {
  settings.pixel_scale = std::sqrt(double(width) * double(height)) / double(working_size);
  return settings;
}

PostprocessStats propagate_av_labels(std::vector<float>& artery, std::vector<float>& vein,
                                     const std::vector<float>& vessel, const std::vector<uint8_t>& fov, int width,
                                     int height, const PostprocessSettings& settings_at_working_size) {
  check_sizes(artery.size(), vein.size(), vessel.size(), fov.size(), width, height);
  const PostprocessSettings settings = in_image_pixels(settings_at_working_size);
  PostprocessStats stats;

  // Step 1: vessel mask without small components.
  BinaryMask vessels = threshold_vessels(vessel, fov, width, height, settings.vessel_threshold);
  stats.components_removed = remove_small_components(vessels, settings.min_component_pixels);
  stats.vessel_pixels = vessels.count();

  // Steps 2, 3 and 6: skeleton, graph, continuations.
  const VesselGraph graph = build_vessel_graph(skeletonize(vessels, settings.min_spur_pixels));
  const Continuations links = find_continuations(graph, settings);
  stats.segments = static_cast<int>(graph.segment_pixels.size());
  stats.nodes = static_cast<int>(graph.node_pixels.size());
  stats.crossings = links.crossings;
  stats.bifurcations = links.bifurcations;

  // Steps 4, 5, 7: ownership, evidence, propagation.
  const std::vector<int32_t> owner = assign_ownership(vessels, graph);
  const std::vector<double> z = segment_scores(owner, artery, vein, graph.segment_pixels.size());
  const std::vector<AVLabel> segment_label = propagate_segment_labels(z, links, settings, stats.anchors);

  // Step 8: rewrite A and V as S where the label agrees, 0 where it does not. Pixels outside B,
  // the dropped small components included, keep their pixel-wise A and V.
  const std::vector<AVLabel> label = label_pixels(vessels, owner, segment_label, artery, vein);
  for (size_t i = 0; i < label.size(); ++i) {
    if (!vessels.on[i]) continue;
    stats.relabelled_pixels += label[i] != pixel_wise_label(artery[i], vein[i]);
    artery[i] = label[i] == AVLabel::artery ? vessel[i] : 0.0f;
    vein[i] = label[i] == AVLabel::vein ? vessel[i] : 0.0f;
  }
  return stats;
}

}  // namespace seqnet
