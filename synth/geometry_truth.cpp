// geometry_truth.cpp: what a synthetic fundus was drawn with (geometry_truth.h).
#include "synth/geometry_truth.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <nlohmann/json.hpp>

namespace seqnet::synth {

GeometryTruth geometry_truth(const FundusLayout& layout, const std::vector<VesselSegment>& segments) {
  GeometryTruth t;
  t.disc_x = layout.disc_x - 0.5;
  t.disc_y = layout.disc_y - 0.5;
  t.disc_diameter = 2 * layout.disc_radius;
  t.zone_b_middle = 1.25 * t.disc_diameter;
  t.segments = segments;
  const VesselSegment* previous = nullptr;
  double start_x = 0, start_y = 0;  // the first point of the vessel being followed
  for (const VesselSegment& s : segments) {
    // A vessel's segments are grown one after another, each starting where the last ended.
    const bool continues = previous && previous->x1 == s.x0 && previous->y1 == s.y0 && previous->type == s.type;
    if (!continues) {
      t.vessels.push_back({s.type == VesselType::artery, 0, 0});
      start_x = s.x0, start_y = s.y0;
    }
    VesselTortuosity& v = t.vessels.back();
    v.length += std::hypot(s.x1 - s.x0, s.y1 - s.y0);
    v.chord = std::hypot(s.x1 - start_x, s.y1 - start_y);
    t.segment_vessel.push_back(int(t.vessels.size()) - 1);
    previous = &s;
  }
  t.zone_b = circle_crossings(t, t.disc_x, t.disc_y, t.zone_b_middle);
  t.zone_b_label = label_crossings(t, t.disc_x, t.disc_y, t.zone_b_middle, t.disc_diameter);
  return t;
}

std::vector<ZoneCrossing> circle_crossings(const GeometryTruth& t, double x, double y, double radius) {
  std::vector<ZoneCrossing> crossings;
  const double cx = x + 0.5, cy = y + 0.5;  // in the drawing's coordinates
  for (size_t i = 0; i < t.segments.size(); ++i) {
    const VesselSegment& s = t.segments[i];
    // Where the distance from the centre passes the radius (linear in t is close enough over one
    // growth step of a few pixels); a step ending exactly on the circle crosses it in the next.
    const double d0 = std::hypot(s.x0 - cx, s.y0 - cy) - radius, d1 = std::hypot(s.x1 - cx, s.y1 - cy) - radius;
    if ((d0 < 0) == (d1 < 0)) continue;
    const double f = d0 / (d0 - d1);
    crossings.push_back({s.type == VesselType::artery, s.x0 + f * (s.x1 - s.x0) - 0.5, s.y0 + f * (s.y1 - s.y0) - 0.5,
                         2 * (s.r0 + f * (s.r1 - s.r0)), t.segment_vessel[i]});
  }
  return crossings;
}

namespace {

// Distance along the circle of `radius` about (x, y) between two of its points.
double along_circle(const ZoneCrossing& a, const ZoneCrossing& b, double x, double y, double radius) {
  const double turn = std::remainder(std::atan2(a.y - y, a.x - x) - std::atan2(b.y - y, b.x - x), 2 * std::numbers::pi);
  return std::abs(turn) * radius;
}

bool touch(const ZoneCrossing& a, const ZoneCrossing& b, double x, double y, double radius) {
  return a.artery == b.artery && along_circle(a, b, x, y, radius) < (a.width + b.width) / 2 + kLabelTouchGap;
}

}  // namespace

std::vector<ZoneCrossing> label_crossings(const GeometryTruth& t, double x, double y, double radius,
                                          double inner_radius) {
  std::vector<ZoneCrossing> crossings = circle_crossings(t, x, y, radius);
  const std::vector<ZoneCrossing> inner = circle_crossings(t, x, y, inner_radius);
  auto run_together = [&](const ZoneCrossing& a, const ZoneCrossing& b) {
    if (!touch(a, b, x, y, radius)) return false;
    for (const ZoneCrossing& p : inner)
      for (const ZoneCrossing& q : inner)
        if (p.vessel == a.vessel && q.vessel == b.vessel && touch(p, q, x, y, inner_radius)) return true;
    return false;
  };
  // Merge pairs until none is left. On the circle a crossing at angle theta of width w spans
  // theta -+ w / 2 radius; the merged one spans both, and sits in the middle.
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t i = 0; i < crossings.size() && !merged; ++i)
      for (size_t j = i + 1; j < crossings.size() && !merged; ++j) {
        ZoneCrossing& a = crossings[i];
        const ZoneCrossing& b = crossings[j];
        if (a.vessel == b.vessel || !run_together(a, b)) continue;
        const double angle_a = std::atan2(a.y - y, a.x - x);
        const double angle_b = angle_a + std::remainder(std::atan2(b.y - y, b.x - x) - angle_a, 2 * std::numbers::pi);
        const double low = std::min(angle_a - a.width / (2 * radius), angle_b - b.width / (2 * radius));
        const double high = std::max(angle_a + a.width / (2 * radius), angle_b + b.width / (2 * radius));
        if (b.width > a.width) a.vessel = b.vessel;
        a.width = (high - low) * radius;
        a.x = x + radius * std::cos((low + high) / 2), a.y = y + radius * std::sin((low + high) / 2);
        a.drawn += b.drawn;
        crossings.erase(crossings.begin() + long(j));
        merged = true;
      }
  }
  return crossings;
}

std::string geometry_truth_json(const GeometryTruth& t) {
  auto crossings_json = [](const std::vector<ZoneCrossing>& list) {
    nlohmann::json out = nlohmann::json::array();
    for (const ZoneCrossing& c : list)
      out.push_back({{"type", c.artery ? "artery" : "vein"}, {"x", c.x}, {"y", c.y}, {"width", c.width}, {"drawn", c.drawn}});
    return out;
  };
  nlohmann::json vessels = nlohmann::json::array();
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
      {"zone_b_crossings", crossings_json(t.zone_b)},
      {"zone_b_label_crossings", crossings_json(t.zone_b_label)},
      {"distance_factor_artery", length[1] > 0 ? nlohmann::json(df[1] / length[1]) : nlohmann::json(nullptr)},
      {"distance_factor_vein", length[0] > 0 ? nlohmann::json(df[0] / length[0]) : nlohmann::json(nullptr)},
      {"vessels", vessels}};
  return record.dump(1) + "\n";
}

}  // namespace seqnet::synth
