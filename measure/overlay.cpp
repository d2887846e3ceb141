// overlay.cpp: the measures drawn over the photograph (overlay.h).
#include "measure/overlay.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "io/drawing.h"

namespace seqnet::measure {

namespace {

constexpr Colour kDisc{1.0f, 0.9f, 0.1f}, kZone{1, 1, 1}, kZoneC{0.6f, 0.6f, 0.6f};
constexpr Colour kArtery{1.0f, 0.2f, 0.2f}, kVein{0.3f, 0.5f, 1.0f}, kText{1, 1, 1};
constexpr float kDim = 0.55f;  // the photograph at this brightness, so the drawing stands out

std::string format(const char* pattern, double value) {
  char text[48];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// The bar across vessel `v`: centred on its measured point, perpendicular to its direction, as
// long as its width; its name beside it.
void draw_vessel(Image& image, const ZoneVessel& v, const std::string& name, Colour c, int scale) {
  const double length = std::max(1e-9, std::hypot(v.direction.x, v.direction.y));
  const double nx = -v.direction.y / length, ny = v.direction.x / length;
  const double h = v.width / 2;
  line(image, v.at.x - h * nx, v.at.y - h * ny, v.at.x + h * nx, v.at.y + h * ny, c, std::max(2, scale));
  const double out = h + 4 * scale;
  draw_text(image, int(v.at.x + out * nx), int(v.at.y + out * ny) - kGlyphHeight * scale / 2, name, c, scale);
}

}  // namespace

Image measures_overlay(const Image& photo, const PhotoMeasures& m) {
  Image image = to_rgb(photo);
  for (float& p : image.pixels) p *= kDim;
  const int scale = std::max(1, int(std::lround(std::min(image.width, image.height) / 400.0)));
  const int thick = scale;

  std::vector<std::string> lines;
  if (m.disc.found || m.disc.diameter > 0) {
    const OpticDisc& d = m.disc;
    circle(image, d.x, d.y, d.diameter / 2, kDisc, thick, d.found ? 0 : 6 * scale);
    if (d.found) {
      const Zone b = zone_b(d), c = zone_c(d);
      circle(image, d.x, d.y, b.inner, kZone, thick);
      circle(image, d.x, d.y, b.outer, kZone, thick);
      circle(image, d.x, d.y, c.outer, kZoneC, thick, 8 * scale);
    }
  }
  for (size_t i = 0; i < m.measured_arteries.size(); ++i)
    draw_vessel(image, m.measured_arteries[i], std::string(1, 'A') + std::to_string(i + 1), kArtery, scale);
  for (size_t i = 0; i < m.measured_veins.size(); ++i)
    draw_vessel(image, m.measured_veins[i], std::string(1, 'V') + std::to_string(i + 1), kVein, scale);

  if (m.disc.found) {
    lines.push_back("disc " + format("%.0f px", m.disc.diameter) + format(", confidence %.2f", m.disc.confidence));
    lines.push_back("CRAE " + format("%.2f px", m.crae) + "  CRVE " + format("%.2f px", m.crve) + "  AVR " +
                    format("%.3f", m.avr));
  } else {
    lines.push_back("disc not found: " + m.disc.problem);
  }
  std::string widths = "A:";
  for (const ZoneVessel& v : m.measured_arteries) widths += format(" %.1f", v.width);
  widths += "  V:";
  for (const ZoneVessel& v : m.measured_veins) widths += format(" %.1f", v.width);
  lines.push_back(widths + " px");
  if (m.too_dark) lines.push_back("photograph too dark");
  int y = 4 * scale;
  for (const std::string& text : lines) {
    draw_text(image, 4 * scale, y, text, kText, scale);
    y += (kGlyphHeight + 4) * scale;
  }
  return image;
}

}  // namespace seqnet::measure
