// vessel_graph.cpp: nodes and segments of the skeleton (step 3) and continuations (step 6) of
// eval/postprocess.h.
#include "eval/vessel_graph.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <tuple>

namespace seqnet {

namespace {

void add_once(std::vector<int32_t>& list, int32_t value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

}  // namespace

// ---- Step 3: graph ----------------------------------------------------------------------------

VesselGraph build_vessel_graph(const BinaryMask& skeleton) {
  const int w = skeleton.width, h = skeleton.height;
  BinaryMask junctions(w, h), segments(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (skeleton.get(x, y)) (count_neighbours(skeleton, x, y) >= 3 ? junctions : segments).set(x, y, true);

  VesselGraph g;
  g.width = w;
  g.height = h;
  Components nodes = label_components(junctions);
  Components runs = label_components(segments);
  g.node_of = std::move(nodes.label);
  g.segment_of = std::move(runs.label);
  g.node_pixels.resize(nodes.sizes.size());
  g.segment_pixels.resize(runs.sizes.size());
  g.node_segments.resize(nodes.sizes.size());
  g.segment_nodes.resize(runs.sizes.size());
  for (int32_t i = 0; i < w * h; ++i) {
    if (g.segment_of[i] >= 0) g.segment_pixels[g.segment_of[i]].push_back(i);
    if (g.node_of[i] < 0) continue;
    g.node_pixels[g.node_of[i]].push_back(i);
    for (int k = 0; k < 8; ++k) {  // a segment touches a node where their pixels are neighbours
      const int nx = i % w + kNeighbourDx[k], ny = i / w + kNeighbourDy[k];
      if (!segments.get(nx, ny)) continue;
      const int32_t s = g.segment_of[size_t(ny) * w + nx];
      add_once(g.node_segments[g.node_of[i]], s);
      add_once(g.segment_nodes[s], g.node_of[i]);
    }
  }
  return g;
}

// ---- Step 6: directions -----------------------------------------------------------------------

namespace {

struct Point {
  double x = 0, y = 0;
};

Point node_centroid(const VesselGraph& g, int32_t node) {
  Point c;
  for (int32_t p : g.node_pixels[node]) c.x += p % g.width, c.y += p / g.width;
  const double n = double(g.node_pixels[node].size());
  return {c.x / n, c.y / n};
}

// The segment's pixels in order of distance along the segment from the node (breadth-first from
// the pixels touching it), at most `count` of them.
std::vector<int32_t> pixels_nearest_node(const VesselGraph& g, int32_t segment, int32_t node, int count) {
  std::vector<int32_t> order;
  std::vector<int32_t> visited;  // segment pixels are few; a linear search keeps this simple
  for (int32_t p : g.segment_pixels[segment])
    for (int k = 0; k < 8; ++k) {
      const int nx = p % g.width + kNeighbourDx[k], ny = p / g.width + kNeighbourDy[k];
      if (nx < 0 || ny < 0 || nx >= g.width || ny >= g.height) continue;
      if (g.node_of[size_t(ny) * g.width + nx] == node) {
        order.push_back(p);
        break;
      }
    }
  visited = order;
  for (size_t head = 0; head < order.size() && static_cast<int>(order.size()) < count; ++head) {
    const int32_t p = order[head];
    for (int k = 0; k < 8; ++k) {
      const int nx = p % g.width + kNeighbourDx[k], ny = p / g.width + kNeighbourDy[k];
      if (nx < 0 || ny < 0 || nx >= g.width || ny >= g.height) continue;
      const int32_t q = ny * g.width + nx;
      if (g.segment_of[q] != segment || std::find(visited.begin(), visited.end(), q) != visited.end()) continue;
      visited.push_back(q);
      order.push_back(q);
    }
  }
  if (static_cast<int>(order.size()) > count) order.resize(count);
  return order;
}

}  // namespace

Direction direction_at_node(const VesselGraph& g, int32_t segment, int32_t node, int pixel_count) {
  const std::vector<int32_t> pixels = pixels_nearest_node(g, segment, node, pixel_count);
  if (pixels.empty()) return {};
  Point mean;
  for (int32_t p : pixels) mean.x += p % g.width, mean.y += p / g.width;
  mean.x /= double(pixels.size());
  mean.y /= double(pixels.size());
  const Point from = node_centroid(g, node);
  const double away_x = mean.x - from.x, away_y = mean.y - from.y;

  // Principal axis of the pixel cloud: angle = atan2(2 sxy, sxx - syy) / 2.
  double sxx = 0, sxy = 0, syy = 0;
  for (int32_t p : pixels) {
    const double dx = p % g.width - mean.x, dy = p / g.width - mean.y;
    sxx += dx * dx, sxy += dx * dy, syy += dy * dy;
  }
  Direction d;
  if (pixels.size() >= 3 && sxx + syy > 0) {
    const double angle = 0.5 * std::atan2(2 * sxy, sxx - syy);
    d = {std::cos(angle), std::sin(angle)};
    if (d.x * away_x + d.y * away_y < 0) d = {-d.x, -d.y};
  } else {  // too few pixels for an axis: the way from the node to them
    const double length = std::hypot(away_x, away_y);
    if (length > 0) d = {away_x / length, away_y / length};
  }
  return d;
}

double deviation_from_straight(const Direction& a, const Direction& b) {
  if ((a.x == 0 && a.y == 0) || (b.x == 0 && b.y == 0)) return 180.0;
  const double opposite = std::clamp(-(a.x * b.x + a.y * b.y), -1.0, 1.0);
  return std::acos(opposite) * 180.0 / std::numbers::pi;
}

// ---- Step 6: continuations --------------------------------------------------------------------

namespace {

// A segment end at a node: the segment and its direction leaving that node.
struct SegmentEnd {
  int32_t segment;
  Direction direction;
};

void link(Continuations& c, int32_t a, int32_t b) {
  if (a == b) return;
  add_once(c.linked[a], b);
  add_once(c.linked[b], a);
}

std::vector<SegmentEnd> ends_at(const VesselGraph& g, int32_t node, int32_t except, int pixel_count) {
  std::vector<SegmentEnd> ends;
  for (int32_t s : g.node_segments[node])
    if (s != except) ends.push_back({s, direction_at_node(g, s, node, pixel_count)});
  return ends;
}

// A crossing's four ends: of the three ways to pair them, the one whose two pairs are together
// straightest gives the two vessels.
void link_crossing(Continuations& c, const std::vector<SegmentEnd>& e) {
  static constexpr int pairings[3][4] = {{0, 1, 2, 3}, {0, 2, 1, 3}, {0, 3, 1, 2}};
  int best = 0;
  double best_deviation = 1e9;
  for (int i = 0; i < 3; ++i) {
    const auto& p = pairings[i];
    const double deviation = deviation_from_straight(e[p[0]].direction, e[p[1]].direction) +
                             deviation_from_straight(e[p[2]].direction, e[p[3]].direction);
    if (deviation < best_deviation) best_deviation = deviation, best = i;
  }
  const auto& p = pairings[best];
  link(c, e[p[0]].segment, e[p[1]].segment);
  link(c, e[p[2]].segment, e[p[3]].segment);
  ++c.crossings;
}

// Any other node: pairs within the straightness limit, straightest first, each end used once.
void link_straight_pairs(Continuations& c, const std::vector<SegmentEnd>& e, double limit_degrees) {
  std::vector<std::tuple<double, size_t, size_t>> pairs;
  for (size_t i = 0; i < e.size(); ++i)
    for (size_t j = i + 1; j < e.size(); ++j)
      pairs.emplace_back(deviation_from_straight(e[i].direction, e[j].direction), i, j);
  std::sort(pairs.begin(), pairs.end());
  std::vector<uint8_t> used(e.size(), 0);
  for (const auto& [deviation, i, j] : pairs) {
    if (deviation > limit_degrees || used[i] || used[j]) continue;
    used[i] = used[j] = 1;
    link(c, e[i].segment, e[j].segment);
  }
}

// Pairs of 3-segment nodes joined by a short segment (centroids closer than the limit), closest
// first, each node in one pair at most: a crossing that thinning split in two. Returns
// (bridge segment, node a, node b).
std::vector<std::tuple<int32_t, int32_t, int32_t>> split_crossings(const VesselGraph& g, double max_distance) {
  std::vector<std::tuple<double, int32_t, int32_t, int32_t>> candidates;
  for (int32_t s = 0; s < static_cast<int32_t>(g.segment_nodes.size()); ++s) {
    if (g.segment_nodes[s].size() != 2) continue;
    const int32_t a = g.segment_nodes[s][0], b = g.segment_nodes[s][1];
    if (g.node_segments[a].size() != 3 || g.node_segments[b].size() != 3) continue;
    const Point pa = node_centroid(g, a), pb = node_centroid(g, b);
    const double distance = std::hypot(pa.x - pb.x, pa.y - pb.y);
    if (distance < max_distance) candidates.emplace_back(distance, s, a, b);
  }
  std::sort(candidates.begin(), candidates.end());
  std::vector<uint8_t> used(g.node_pixels.size(), 0);
  std::vector<std::tuple<int32_t, int32_t, int32_t>> pairs;
  for (const auto& [distance, s, a, b] : candidates) {
    if (used[a] || used[b]) continue;
    used[a] = used[b] = 1;
    pairs.emplace_back(s, a, b);
  }
  return pairs;
}

}  // namespace

Continuations find_continuations(const VesselGraph& g, const PostprocessSettings& settings) {
  Continuations c;
  c.linked.resize(g.segment_pixels.size());
  std::vector<uint8_t> done(g.node_pixels.size(), 0);

  for (const auto& [bridge, a, b] : split_crossings(g, settings.crossing_node_distance)) {
    std::vector<SegmentEnd> ends = ends_at(g, a, bridge, settings.direction_pixels);
    for (const SegmentEnd& e : ends_at(g, b, bridge, settings.direction_pixels)) ends.push_back(e);
    if (ends.size() != 4) continue;  // not four distinct outer segments: the nodes stay separate
    bool distinct = true;
    for (size_t i = 0; i < 4; ++i)
      for (size_t j = i + 1; j < 4; ++j) distinct = distinct && ends[i].segment != ends[j].segment;
    if (!distinct) continue;
    link_crossing(c, ends);
    done[a] = done[b] = 1;
  }

  for (int32_t node = 0; node < static_cast<int32_t>(g.node_pixels.size()); ++node) {
    if (done[node]) continue;
    const std::vector<SegmentEnd> ends = ends_at(g, node, -1, settings.direction_pixels);
    if (ends.size() == 4) {
      link_crossing(c, ends);
    } else if (ends.size() == 3) {  // bifurcation: all three share a label
      link(c, ends[0].segment, ends[1].segment);
      link(c, ends[0].segment, ends[2].segment);
      link(c, ends[1].segment, ends[2].segment);
      ++c.bifurcations;
    } else {
      link_straight_pairs(c, ends, settings.straightness_degrees);
    }
  }
  return c;
}

}  // namespace seqnet
