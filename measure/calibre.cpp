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
  const double middle = 0.5 * (zone.inner + zone.outer);
  for (size_t s = 0; s < lines.lines.size(); ++s) {
    const std::vector<Point2>& line = lines.lines[s];
    std::vector<double> in_zone;
    double artery = 0, vein = 0, nearest = 1e30;
    int points = 0;
    ZoneVessel v;
    v.segment = int(s);
    for (size_t i = 0; i < line.size(); ++i) {
      const double d = std::hypot(line[i].x - disc.x, line[i].y - disc.y);
      if (!zone.contains(d)) continue;
      ++points;
      in_zone.push_back(widths[s][i]);
      const size_t p = size_t(line[i].y) * in.width + size_t(line[i].x);
      artery += in.artery[p];
      vein += in.vein[p];
      if (std::abs(d - middle) < nearest) {
        nearest = std::abs(d - middle);
        v.at = line[i];
        const Point2 a = line[i > 3 ? i - 3 : 0], b = line[std::min(line.size() - 1, i + 3)];
        v.direction = {b.x - a.x, b.y - a.y};
      }
    }
    if (points < kMinZonePoints) continue;
    v.width = median_of_measured(in_zone);
    if (std::isnan(v.width)) continue;
    v.artery = artery >= vein;
    found.push_back(v);
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
