// drawing.cpp: lines, rectangles, circles and text on an RGB Image (drawing.h).
#include "io/drawing.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

// stb_easy_font is all static functions, some of which we do not call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

namespace seqnet {

void put(Image& image, int x, int y, Colour c) {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  image.at(y, x, 0) = c.r;
  image.at(y, x, 1) = c.g;
  image.at(y, x, 2) = c.b;
}

void line(Image& image, double x0, double y0, double x1, double y1, Colour c, int thick) {
  const int steps = std::max(1, int(std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)))));
  for (int i = 0; i <= steps; ++i) {
    const double t = double(i) / steps;
    const int x = int(std::lround(x0 + t * (x1 - x0))), y = int(std::lround(y0 + t * (y1 - y0)));
    for (int dy = 0; dy < thick; ++dy)
      for (int dx = 0; dx < thick; ++dx) put(image, x + dx - thick / 2, y + dy - thick / 2, c);
  }
}

void fill(Image& image, int x0, int y0, int x1, int y1, Colour c) {
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) put(image, x, y, c);
}

void circle(Image& image, double cx, double cy, double radius, Colour c, int thick, int dash) {
  const int steps = std::max(8, int(std::ceil(2 * std::numbers::pi * radius)));  // one a pixel of arc
  for (int i = 0; i < steps; ++i) {
    if (dash > 0 && (i / dash) % 2) continue;
    const double a = 2 * std::numbers::pi * i / steps;
    const int x = int(std::lround(cx + radius * std::cos(a))), y = int(std::lround(cy + radius * std::sin(a)));
    for (int dy = 0; dy < thick; ++dy)
      for (int dx = 0; dx < thick; ++dx) put(image, x + dx - thick / 2, y + dy - thick / 2, c);
  }
}

int text_width(const std::string& text, int scale) {
  return stb_easy_font_width(const_cast<char*>(text.c_str())) * scale;
}

void draw_text(Image& image, int x, int y, const std::string& text, Colour c, int scale) {
  // Each quad is 4 vertices of 16 bytes (x, y, z floats and 4 colour bytes); no character
  // uses more than 16 quads (the most is 11).
  std::vector<char> buffer(text.size() * 16 * 64 + 64);
  const int quads = stb_easy_font_print(0, 0, const_cast<char*>(text.c_str()), nullptr, buffer.data(),
                                        int(buffer.size()));
  for (int q = 0; q < quads; ++q) {
    const float* first = reinterpret_cast<const float*>(buffer.data() + q * 64);       // top-left
    const float* opposite = reinterpret_cast<const float*>(buffer.data() + q * 64 + 32);  // bottom-right
    fill(image, x + int(first[0]) * scale, y + int(first[1]) * scale, x + int(opposite[0]) * scale,
         y + int(opposite[1]) * scale, c);
  }
}

}  // namespace seqnet
