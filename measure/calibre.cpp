// calibre.cpp: CRAE, CRVE and the vessels of zone B (calibre.h).
#include "measure/calibre.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "measure/vessel_width.h"

namespace seqnet::measure {

double knudtson_summary(std::vector<double> widths, double factor) {
  if (widths.empty()) return NAN;
  while (widths.size() > 1) {
    std::sort(widths.begin(), widths.end(), std::greater<>());
    const size_t n = widths.size();
    std::vector<double> next;
    for (size_t i = 0; i < n / 2; ++i)
      next.push_back(factor * std::sqrt(widths[i] * widths[i] + widths[n - 1 - i] * widths[n - 1 - i]));
    if (n % 2) next.push_back(widths[n / 2]);  // the middle one, carried over
    widths = std::move(next);
  }
  return widths[0];
}

std::vector<float> class_vessel_map(const MeasureInput& in, bool artery) {
  const std::vector<float>& own = artery ? in.artery : in.vein;
  const std::vector<float>& other = artery ? in.vein : in.artery;
  std::vector<float> map(in.vessel.size(), 0.0f);
  for (size_t i = 0; i < map.size(); ++i)
    if (own[i] >= other[i]) map[i] = in.vessel[i];
  return map;
}

namespace {

// A segment's ends: the junction each touches (-1 for a free end) and that junction's distance
// from the disc centre.
struct SegmentEnds {
  int32_t node[2] = {-1, -1};  // front, back
  double radius[2] = {0, 0};
};

SegmentEnds segment_ends(const CentreLines& lines, size_t s, const OpticDisc& disc) {
  const VesselGraph& g = lines.graph;
  const std::vector<Point2>& line = lines.lines[s];
  SegmentEnds e;
  for (int32_t node : g.segment_nodes[s]) {
    double cx = 0, cy = 0, front = 1e30, back = 1e30;
    for (int32_t p : g.node_pixels[node]) {
      const double x = p % g.width, y = p / g.width;
      cx += x, cy += y;
      front = std::min(front, std::hypot(x - line.front().x, y - line.front().y));
      back = std::min(back, std::hypot(x - line.back().x, y - line.back().y));
    }
    const double count = double(g.node_pixels[node].size());
    const double r = std::hypot(cx / count - disc.x, cy / count - disc.y);
    const int end = front < 1.5 && front <= back ? 0 : back < 1.5 ? 1 : -1;  // touching: 8-neighbours
    if (end >= 0) e.node[end] = node, e.radius[end] = r;
  }
  return e;
}

// The widths of segment `s` at its points in `zone` within `reach` of `at` (along the line from
// index `i` when i >= 0, else by distance), leaving out the points within (the segment's width +
// 2) of an end at a junction, where the profile runs into the other vessels; with `all_if_few`,
// all of them when fewer than kMinZonePoints are left (a short segment between two junctions).
std::vector<double> zone_widths(const CentreLines& lines, const std::vector<std::vector<double>>& widths, size_t s,
                                const SegmentEnds& ends, const OpticDisc& disc, const Zone& zone, Point2 at, int i,
                                double reach, bool all_if_few) {
  const std::vector<Point2>& line = lines.lines[s];
  const int n = int(line.size());
  const int skip = int(std::ceil(median_of_measured(widths[s]))) + 2;
  const int skip_front = ends.node[0] < 0 ? 0 : skip, skip_back = ends.node[1] < 0 ? 0 : skip;
  std::vector<double> near, away_from_nodes;
  for (int j = 0; j < n; ++j) {
    const bool close = i >= 0 ? std::abs(j - i) <= reach : std::hypot(line[j].x - at.x, line[j].y - at.y) <= reach;
    if (!close || !zone.contains(std::hypot(line[j].x - disc.x, line[j].y - disc.y)) || std::isnan(widths[s][j]))
      continue;
    near.push_back(widths[s][j]);
    if (j >= skip_front && j < n - skip_back) away_from_nodes.push_back(widths[s][j]);
  }
  return all_if_few && int(away_from_nodes.size()) < kMinZonePoints ? near : away_from_nodes;
}

}  // namespace

std::vector<ZoneVessel> vessels_in_zone(const CentreLines& lines, const std::vector<std::vector<double>>& widths,
                                        const OpticDisc& disc, const Zone& zone, bool artery) {
  std::vector<ZoneVessel> found;
  const double middle = 0.5 * (zone.inner + zone.outer), reach = 0.5 * (zone.outer - zone.inner);
  const VesselGraph& g = lines.graph;
  std::vector<SegmentEnds> ends;
  for (size_t s = 0; s < lines.lines.size(); ++s) ends.push_back(segment_ends(lines, s, disc));
  for (size_t s = 0; s < lines.lines.size(); ++s) {
    const std::vector<Point2>& line = lines.lines[s];
    const int n = int(line.size());
    auto radius = [&](int i) { return std::hypot(line[i].x - disc.x, line[i].y - disc.y); };
    // Junction pixels belong to no segment, so a vessel whose centre line meets the middle circle
    // inside a junction would cross it in no segment. The crossing test runs over the junction's
    // centroid (index -1 at the front, n at the back), the segment's points between: every
    // segment at a junction sees the same point, so on either side of the circle exactly the
    // segments on the other side cross. A crossing found there is measured at the nearest point.
    auto extended = [&](int i) {
      const int end = i < 0 ? 0 : i >= n ? 1 : -1;
      return end < 0 ? radius(i) : ends[s].node[end] < 0 ? NAN : ends[s].radius[end];
    };
    int last_crossing = -1 << 20;
    for (int k = -1; k < n; ++k) {
      const double r0 = extended(k), r1 = extended(k + 1);
      if (std::isnan(r0) || std::isnan(r1) || (r0 - middle) * (r1 - middle) > 0 || r0 == r1) continue;
      const int i = std::clamp(k, 0, n - 1);
      // A staircase running along the circle crosses it back and forth: one vessel.
      if (i - last_crossing <= reach) continue;
      last_crossing = i;
      ZoneVessel v;
      v.segment = int(s);
      v.artery = artery;
      v.at = line[i];
      const Point2 a = line[std::max(0, i - 3)], b = line[std::min(n - 1, i + 3)];
      v.direction = {b.x - a.x, b.y - a.y};
      // A crossing inside a junction is measured away from it only: at a hole in the map (a
      // vessel's pale central reflex) two short segments run around it, and their points, all
      // near the junctions, read the profile across the other vessels there.
      const bool in_junction = k < 0 || k + 1 >= n;
      std::vector<double> w = zone_widths(lines, widths, s, ends[s], disc, zone, v.at, i, reach, !in_junction);
      // A segment too short to measure (between two junctions close together, where a small
      // vessel joins at the circle) is measured on the segments that carry the vessel on through
      // its junctions: at each, the one leaving straightest (within kMaxContinuationDegrees) whose
      // median width is within kContinuationWidthRatio of the short one's (not the wider parent of
      // a fork), all its points near the crossing when too few lie away from its junctions. The
      // short one's width is its narrowest profile: those near a junction read across the other
      // vessels there, wider.
      double own = NAN;
      for (double x : widths[s])
        if (!std::isnan(x) && !(x >= own)) own = x;
      for (int end = 0; end < 2 && int(w.size()) < kMinZonePoints && !std::isnan(own); ++end) {
        const int32_t node = ends[s].node[end];
        if (node < 0) continue;
        const Direction here = direction_at_node(g, int32_t(s), node, 5);
        int32_t best = -1;
        double best_deviation = kMaxContinuationDegrees;
        for (int32_t t : g.node_segments[node]) {
          if (t == int32_t(s) || !(std::abs(median_of_measured(widths[t]) / own - 1) < kContinuationWidthRatio)) continue;
          const double deviation = deviation_from_straight(here, direction_at_node(g, t, node, 5));
          if (deviation < best_deviation) best_deviation = deviation, best = t;
        }
        if (best < 0) continue;
        const std::vector<double> more =
            zone_widths(lines, widths, size_t(best), ends[best], disc, zone, v.at, -1, reach, true);
        w.insert(w.end(), more.begin(), more.end());
      }
      if (int(w.size()) < kMinZonePoints) continue;
      v.width = interquartile_mean(w);
      if (std::isnan(v.width)) continue;
      found.push_back(v);
    }
  }
  std::sort(found.begin(), found.end(), [](const ZoneVessel& a, const ZoneVessel& b) { return a.width > b.width; });
  return found;
}

std::vector<ZoneVessel> zone_b_vessels(const MeasureInput& in, const OpticDisc& disc, const TraceLengths& lengths,
                                       bool artery) {
  const std::vector<float> map = class_vessel_map(in, artery);
  const CentreLines c = trace_centre_lines(map, in.fov, in.width, in.height, lengths.min_component_pixels,
                                           lengths.spur_pixels);
  const Zone zone = zone_b(disc);
  // Widths only of the lines that reach into the zone: the others are never read.
  std::vector<std::vector<double>> widths;
  for (const std::vector<Point2>& line : c.lines) {
    bool inside = false;
    for (const Point2& p : line) inside = inside || zone.contains(std::hypot(p.x - disc.x, p.y - disc.y));
    widths.push_back(inside ? widths_along(map, in.width, in.height, line, lengths.max_half_width)
                            : std::vector<double>(line.size(), NAN));
  }
  return vessels_in_zone(c, widths, disc, zone, artery);
}

std::vector<ZoneVessel> widest(const std::vector<ZoneVessel>& vessels) {
  return {vessels.begin(), vessels.begin() + std::min<size_t>(vessels.size(), kKnudtsonVessels)};
}

double calibre_equivalent(const std::vector<ZoneVessel>& vessels, bool artery) {
  std::vector<double> w;
  for (const ZoneVessel& v : widest(vessels)) w.push_back(v.width);
  return knudtson_summary(w, artery ? kKnudtsonArtery : kKnudtsonVein);
}

}  // namespace seqnet::measure
