// geometry_truth.cpp: what a synthetic fundus was drawn with (geometry_truth.h).
#include "synth/geometry_truth.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace seqnet::synth {

GeometryTruth geometry_truth(const FundusLayout& layout, const std::vector<VesselSegment>& segments) {
  GeometryTruth t;
  t.disc_x = layout.disc_x - 0.5;
  t.disc_y = layout.disc_y - 0.5;
  t.disc_diameter = 2 * layout.disc_radius;
  t.zone_b_middle = 1.25 * t.disc_diameter;
  const VesselSegment* previous = nullptr;
  double start_x = 0, start_y = 0;  // the first point of the vessel being followed
  for (const VesselSegment& s : segments) {
    const bool artery = s.type == VesselType::artery;
    // Zone B: where the distance from the disc centre passes the middle circle (linear in t is
    // close enough over one growth step of a few pixels).
    const double d0 = std::hypot(s.x0 - layout.disc_x, s.y0 - layout.disc_y) - t.zone_b_middle;
    const double d1 = std::hypot(s.x1 - layout.disc_x, s.y1 - layout.disc_y) - t.zone_b_middle;
    if (d0 * d1 <= 0 && d0 != d1) {
      const double f = d0 / (d0 - d1);
      t.zone_b.push_back({artery, s.x0 + f * (s.x1 - s.x0) - 0.5, s.y0 + f * (s.y1 - s.y0) - 0.5,
                          2 * (s.r0 + f * (s.r1 - s.r0))});
    }
    // A vessel's segments are grown one after another, each starting where the last ended.
    const bool continues = previous && previous->x1 == s.x0 && previous->y1 == s.y0 && previous->type == s.type;
    if (!continues) {
      t.vessels.push_back({artery, 0, 0});
      start_x = s.x0, start_y = s.y0;
    }
    VesselTortuosity& v = t.vessels.back();
    v.length += std::hypot(s.x1 - s.x0, s.y1 - s.y0);
    v.chord = std::hypot(s.x1 - start_x, s.y1 - start_y);
    previous = &s;
  }
  return t;
}

std::string geometry_truth_json(const GeometryTruth& t) {
  nlohmann::json zone = nlohmann::json::array(), vessels = nlohmann::json::array();
  for (const ZoneCrossing& c : t.zone_b)
    zone.push_back({{"type", c.artery ? "artery" : "vein"}, {"x", c.x}, {"y", c.y}, {"width", c.width}});
  double df[2] = {0, 0}, length[2] = {0, 0};
  for (const VesselTortuosity& v : t.vessels) {
    vessels.push_back({{"type", v.artery ? "artery" : "vein"}, {"length", v.length}, {"chord", v.chord}});
    if (v.length < 20 || v.chord <= 0) continue;
    df[v.artery] += v.length / v.chord * v.length;
    length[v.artery] += v.length;
  }
  const nlohmann::json record = {
      {"coordinates", "pixel centres at integer (x, y); x column, y row"},
      {"disc", {{"x", t.disc_x}, {"y", t.disc_y}, {"diameter", t.disc_diameter}, {"height_over_width", 1.08}}},
      {"zone_b_middle_radius", t.zone_b_middle},
      {"zone_b_crossings", zone},
      {"distance_factor_artery", length[1] > 0 ? nlohmann::json(df[1] / length[1]) : nlohmann::json(nullptr)},
      {"distance_factor_vein", length[0] > 0 ? nlohmann::json(df[0] / length[0]) : nlohmann::json(nullptr)},
      {"vessels", vessels}};
  return record.dump(1) + "\n";
}

}  // namespace seqnet::synth
