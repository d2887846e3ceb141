// photo_measures.cpp: every measure of one photograph and the table's columns (photo_measures.h).
#include "measure/photo_measures.h"

#include <cmath>
#include <cstdio>

#include "measure/centre_lines.h"
#include "measure/fractal.h"
#include "measure/vessel_width.h"

namespace seqnet::measure {

namespace {

void add_flag(std::string& flags, const std::string& flag) { flags += (flags.empty() ? "" : ";") + flag; }

ClassMeasures class_measures(const CentreLines& c, const std::vector<std::vector<double>>& widths,
                             const std::vector<int>& segments, const BinaryMask& mask, const std::vector<uint8_t>& fov) {
  ClassMeasures m;
  std::vector<double> all_widths;
  std::vector<Tortuosity> parts;
  for (int s : segments) {
    all_widths.insert(all_widths.end(), widths[s].begin(), widths[s].end());
    parts.push_back(tortuosity_of(c.lines[s]));
  }
  m.segments = int(segments.size());
  m.width_median = median_of_measured(all_widths);
  m.tortuosity = combined(parts);
  m.fractal_dimension = box_counting_dimension(mask);
  m.density = density(mask, fov);
  return m;
}

}  // namespace

TraceLengths lengths_for(double fov_d) {
  const double s = fov_d / 540.0;
  return {std::max(30, int(30 * s * s)), std::max(5, int(5 * s)), std::max(10.0, 0.05 * fov_d)};
}

PhotoMeasures measure_photograph(const MeasureInput& in, const ScaleOption& scale) {
  check_input(in, "measure");
  PhotoMeasures m;
  m.width = in.width;
  m.height = in.height;
  m.brightness = mean_brightness(in);
  m.too_dark = m.brightness < kTooDarkBrightness;
  const double fov_d = fov_diameter(in);
  const TraceLengths lengths = lengths_for(fov_d);
  m.box_sizes = box_sizes_text(in.width, in.height);

  // Centre lines, each segment's class and widths.
  const CentreLines c = trace_centre_lines(in, lengths.min_component_pixels, lengths.spur_pixels);
  std::vector<std::vector<double>> widths;
  std::vector<int> all, arteries, veins;
  for (size_t s = 0; s < c.lines.size(); ++s) {
    widths.push_back(widths_along(in.vessel, in.width, in.height, c.lines[s], lengths.max_half_width));
    double a = 0, v = 0;
    for (const Point2& p : c.lines[s]) {
      const size_t i = size_t(p.y) * in.width + size_t(p.x);
      a += in.artery[i], v += in.vein[i];
    }
    all.push_back(int(s));
    (a >= v ? arteries : veins).push_back(int(s));
  }
  BinaryMask artery_mask(in.width, in.height), vein_mask(in.width, in.height);
  for (size_t i = 0; i < c.vessels.on.size(); ++i)
    if (c.vessels.on[i]) (in.artery[i] >= in.vein[i] ? artery_mask : vein_mask).on[i] = 1;
  m.all = class_measures(c, widths, all, c.vessels, in.fov);
  m.artery = class_measures(c, widths, arteries, artery_mask, in.fov);
  m.vein = class_measures(c, widths, veins, vein_mask, in.fov);
  for (const auto& node : c.graph.node_segments) (node.size() >= 4 ? m.crossings : m.branch_points) += node.size() >= 3;

  // The disc, zone B and the calibres.
  m.disc = find_optic_disc(in);
  if (m.disc.found) {
    const std::vector<ZoneVessel> arteries = zone_b_vessels(in, m.disc, lengths, true);
    const std::vector<ZoneVessel> veins = zone_b_vessels(in, m.disc, lengths, false);
    m.arteries_in_zone_b = int(arteries.size());
    m.veins_in_zone_b = int(veins.size());
    m.measured_arteries = widest(arteries);
    m.measured_veins = widest(veins);
    m.crae = calibre_equivalent(arteries, true);
    m.crve = calibre_equivalent(veins, false);
    m.avr = m.crae / m.crve;
  }

  // Scale.
  if (scale.pixel_size_um > 0) m.um_per_px = scale.pixel_size_um, m.scale_source = "pixel-size";
  else if (scale.fov_degrees > 0) m.um_per_px = scale.fov_degrees * kMicrometresPerDegree / fov_d, m.scale_source = "fov-degrees";
  else if (m.disc.found) m.um_per_px = kAssumedDiscMicrometres / m.disc.diameter, m.scale_source = "disc-diameter";
  else m.scale_source = "none";

  // Quality flags.
  const std::string dark = m.too_dark ? "too_dark" : "";
  m.disc_quality = m.crae_quality = m.crve_quality = m.vessel_quality = dark;
  if (!m.disc.found) add_flag(m.disc_quality, "not_found");
  else if (m.disc.confidence < 0.5) add_flag(m.disc_quality, "low_confidence");
  if (c.vessels.count() == 0) add_flag(m.vessel_quality, "no_vessels");
  auto calibre_flags = [&](std::string& q, int count, const char* kind) {
    if (!m.disc.found) add_flag(q, "disc_not_found");
    else if (count == 0) add_flag(q, std::string("no_") + kind + "_in_zone_b");
    else if (count < kKnudtsonVessels) add_flag(q, std::string("few_") + kind + "_in_zone_b");
    if (m.disc.found && m.disc.confidence < 0.5) add_flag(q, "disc_low_confidence");
  };
  calibre_flags(m.crae_quality, m.arteries_in_zone_b, "arteries");
  calibre_flags(m.crve_quality, m.veins_in_zone_b, "veins");
  m.avr_quality = m.crae_quality;
  if (!m.crve_quality.empty() && m.crve_quality != m.crae_quality) add_flag(m.avr_quality, m.crve_quality);
  for (std::string* q : {&m.disc_quality, &m.crae_quality, &m.crve_quality, &m.avr_quality, &m.vessel_quality})
    if (q->empty()) *q = "ok";
  return m;
}

// ---- The table --------------------------------------------------------------------------------

namespace {

std::string number(double v, const char* format = "%.6g") {
  if (std::isnan(v)) return "";
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

struct Column {
  std::string name;
  std::string value;
};

std::vector<Column> columns(const PhotoMeasures& m) {
  const double um = m.um_per_px;
  std::vector<Column> c = {
      {"photo_brightness", number(m.brightness, "%.4f")},
      {"disc_found", m.disc.found ? "1" : "0"},
      {"disc_x", number(m.disc.x, "%.1f")},
      {"disc_y", number(m.disc.y, "%.1f")},
      {"disc_diameter_px", number(m.disc.diameter, "%.1f")},
      {"disc_confidence", number(m.disc.confidence, "%.3f")},
      {"disc_method", kDiscMethod},
      {"disc_quality", m.disc_quality + (m.disc.problem.empty() ? "" : " (" + m.disc.problem + ")")},
      {"um_per_px", number(um, "%.4g")},
      {"scale_source", m.scale_source},
      {"crae_px", number(m.crae, "%.3f")},
      {"crae_um", number(m.crae * um, "%.1f")},
      {"crae_vessels", std::to_string(m.measured_arteries.size())},
      {"crae_quality", m.crae_quality},
      {"crve_px", number(m.crve, "%.3f")},
      {"crve_um", number(m.crve * um, "%.1f")},
      {"crve_vessels", std::to_string(m.measured_veins.size())},
      {"crve_quality", m.crve_quality},
      {"avr", number(m.avr, "%.4f")},
      {"avr_quality", m.avr_quality},
  };
  const std::pair<const char*, const ClassMeasures*> groups[] = {{"all", &m.all}, {"artery", &m.artery}, {"vein", &m.vein}};
  for (const auto& [name, g] : groups) {
    const std::string n = name;
    c.push_back({"width_" + n + "_px", number(g->width_median, "%.3f")});
    c.push_back({"width_" + n + "_um", number(g->width_median * um, "%.1f")});
    c.push_back({"tortuosity_df_" + n, number(g->tortuosity.distance_factor, "%.5f")});
    c.push_back({"curvature_" + n + "_per_px", number(g->tortuosity.mean_curvature, "%.5f")});
    c.push_back({"curvature_" + n + "_per_mm", number(g->tortuosity.mean_curvature / um * 1000, "%.3f")});
    c.push_back({"fractal_dimension_" + n, number(g->fractal_dimension, "%.4f")});
    c.push_back({"density_" + n, number(g->density, "%.5f")});
  }
  c.push_back({"fractal_box_sizes", m.box_sizes});
  c.push_back({"branch_points", std::to_string(m.branch_points)});
  c.push_back({"crossings", std::to_string(m.crossings)});
  c.push_back({"vessel_quality", m.vessel_quality});
  return c;
}

}  // namespace

std::vector<std::string> measure_column_names() {
  std::vector<std::string> names;
  for (const Column& c : columns(PhotoMeasures{})) names.push_back(c.name);
  return names;
}

std::vector<std::string> measure_column_values(const PhotoMeasures& m) {
  std::vector<std::string> values;
  for (const Column& c : columns(m)) values.push_back(c.value);
  return values;
}

}  // namespace seqnet::measure
