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

std::vector<ZoneVessel> vessels_in_zone(const MeasureInput& in, const CentreLines& lines,
                                        const std::vector<std::vector<double>>& widths, const OpticDisc& disc,
                                        const Zone& zone) {
  std::vector<ZoneVessel> found;
  const double middle = 0.5 * (zone.inner + zone.outer), reach = 0.5 * (zone.outer - zone.inner);
  for (size_t s = 0; s < lines.lines.size(); ++s) {
    const std::vector<Point2>& line = lines.lines[s];
    const int n = int(line.size());
    auto radius = [&](int i) { return std::hypot(line[i].x - disc.x, line[i].y - disc.y); };
    // Near a junction the profile runs into the other vessels: leave out the points within
    // (the segment's width + 2) of an end that touches a node.
    const int skip = int(std::ceil(median_of_measured(widths[s]))) + 2;
    const bool node_at_end = !lines.graph.segment_nodes[s].empty();
    int last_crossing = -1 << 20;
    for (int i = 0; i + 1 < n; ++i) {
      if ((radius(i) - middle) * (radius(i + 1) - middle) > 0 || radius(i) == radius(i + 1)) continue;
      // A staircase running along the circle crosses it back and forth: one vessel.
      if (i - last_crossing <= reach) continue;
      last_crossing = i;
      ZoneVessel v;
      v.segment = int(s);
      v.at = line[i];
      const Point2 a = line[std::max(0, i - 3)], b = line[std::min(n - 1, i + 3)];
      v.direction = {b.x - a.x, b.y - a.y};
      std::vector<double> near, away_from_nodes;
      double artery = 0, vein = 0;
      for (int j = std::max(0, i - int(reach)); j <= std::min(n - 1, i + int(reach)); ++j) {
        if (!zone.contains(radius(j))) continue;
        near.push_back(widths[s][j]);
        if (!node_at_end || (j >= skip && j < n - skip)) away_from_nodes.push_back(widths[s][j]);
        const size_t p = size_t(line[j].y) * in.width + size_t(line[j].x);
        artery += in.artery[p];
        vein += in.vein[p];
      }
      if (int(near.size()) < kMinZonePoints) continue;
      // A short segment between two junctions has no points away from them: then all of them.
      v.width = median_of_measured(int(away_from_nodes.size()) >= kMinZonePoints ? away_from_nodes : near);
      if (std::isnan(v.width)) continue;
      v.artery = artery >= vein;
      found.push_back(v);
    }
  }
  std::sort(found.begin(), found.end(), [](const ZoneVessel& a, const ZoneVessel& b) { return a.width > b.width; });
  return found;
}

std::vector<ZoneVessel> widest_of_class(const std::vector<ZoneVessel>& vessels, bool artery) {
  std::vector<ZoneVessel> out;
  for (const ZoneVessel& v : vessels)
    if (v.artery == artery && int(out.size()) < kKnudtsonVessels) out.push_back(v);
  return out;
}

}  // namespace seqnet::measure
