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
    if (own[i] >= other[i] || own[i] >= 0.5f) map[i] = in.vessel[i];
  return map;
}

std::vector<ZoneVessel> vessels_in_zone(const CentreLines& lines, const std::vector<std::vector<double>>& widths,
                                        const OpticDisc& disc, const Zone& zone, bool artery) {
  std::vector<ZoneVessel> found;
  const double middle = 0.5 * (zone.inner + zone.outer), reach = 0.5 * (zone.outer - zone.inner);
  const VesselGraph& g = lines.graph;
  for (size_t s = 0; s < lines.lines.size(); ++s) {
    const std::vector<Point2>& line = lines.lines[s];
    const int n = int(line.size());
    auto radius = [&](int i) { return std::hypot(line[i].x - disc.x, line[i].y - disc.y); };
    // Junction pixels belong to no segment, so a vessel whose centre line meets the middle circle
    // inside a junction would cross it in no segment. Each segment ending at a junction is
    // extended to the junction's centroid for the crossing test: every segment there sees the
    // same point, so on either side of the circle exactly the segments on the other side cross.
    const double no_end = -1;
    double front_end = no_end, back_end = no_end;  // radius of the junction at each end
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
      if (front < 1.5 && front <= back) front_end = r;  // touching: 8-neighbours (one pixel: its front)
      else if (back < 1.5) back_end = r;
    }
    // Near a junction the profile runs into the other vessels: leave out the points within
    // (the segment's width + 2) of an end that touches one.
    const int skip = int(std::ceil(median_of_measured(widths[s]))) + 2;
    const int skip_front = front_end == no_end ? 0 : skip, skip_back = back_end == no_end ? 0 : skip;
    int last_crossing = -1 << 20;
    // The crossing test runs over the points -1 (the front junction), 0 .. n-1, n (the back one);
    // a crossing found there is measured at the segment's nearest point.
    auto extended = [&](int i) { return i < 0 ? front_end : i >= n ? back_end : radius(i); };
    for (int k = -1; k < n; ++k) {
      const double r0 = extended(k), r1 = extended(k + 1);
      if (r0 == no_end || r1 == no_end || (r0 - middle) * (r1 - middle) > 0 || r0 == r1) continue;
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
      std::vector<double> near, away_from_nodes;
      for (int j = std::max(0, i - int(reach)); j <= std::min(n - 1, i + int(reach)); ++j) {
        if (!zone.contains(radius(j))) continue;
        near.push_back(widths[s][j]);
        if (j >= skip_front && j < n - skip_back) away_from_nodes.push_back(widths[s][j]);
      }
      if (int(near.size()) < kMinZonePoints) continue;
      // A short segment between two junctions has no points away from them: then all of them.
      v.width = interquartile_mean(int(away_from_nodes.size()) >= kMinZonePoints ? away_from_nodes : near);
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
