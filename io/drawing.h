// drawing.h: drawing on an RGB Image: pixels, lines, rectangles, circles and text (stb_easy_font's
// glyphs, made of rectangles). Used by the training curves (train/plot.h) and the measures'
// overlay (measure/overlay.h). Everything outside the image is clipped.
#pragma once

#include <string>

#include "io/image.h"

namespace seqnet {

struct Colour {
  float r, g, b;
};

void put(Image& image, int x, int y, Colour c);
// A line by stepping along its longer axis one pixel at a time (DDA), `thick` pixels wide.
void line(Image& image, double x0, double y0, double x1, double y1, Colour c, int thick = 1);
void fill(Image& image, int x0, int y0, int x1, int y1, Colour c);  // [x0, x1) x [y0, y1)
// A circle outline of `radius` around (cx, cy); `dash` > 0 leaves every other arc of `dash`
// pixels out.
void circle(Image& image, double cx, double cy, double radius, Colour c, int thick = 1, int dash = 0);

// Text: stb_easy_font describes each character as axis-aligned quads in font units (a digit or
// capital is kGlyphHeight units tall, about 6 wide); each quad is filled scaled by `scale` pixels per unit.
inline constexpr int kGlyphHeight = 7;  // font units from the top of a capital to its baseline
int text_width(const std::string& text, int scale);
// Draws `text` with its top-left corner at (x, y).
void draw_text(Image& image, int x, int y, const std::string& text, Colour c, int scale);

}  // namespace seqnet
