// draw_diagrams.cpp: draws the pictures of docs/WALKTHROUGH.md as PNG files (docs/images/), from
// the model's default shapes. Text comes from stb_easy_font (glyphs made of rectangles, no font
// file), images are written by stb_image_write: nothing beyond libstb-dev.
//
//   build/seqnet_diagrams docs/images        writes unet.png and refiner.png there
//
// Built with the project (CMake target seqnet_diagrams, in CMakeLists.txt) so it keeps compiling;
// run it by hand after changing a picture.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#include <stb_easy_font.h>

namespace {

struct Color {
  unsigned char r, g, b;
};
constexpr Color kInk{30, 30, 30}, kEncoder{198, 219, 239}, kDecoder{199, 233, 192}, kSkip{49, 130, 189},
    kPool{230, 85, 13}, kUp{49, 163, 84}, kShared{253, 208, 162}, kGrey{120, 120, 120};

class Canvas {
 public:
  Canvas(int width, int height) : w_(width), h_(height), pixels_(size_t(width) * height * 3, 255) {}

  void fill(int x0, int y0, int x1, int y1, Color c) {
    for (int y = std::max(0, y0); y < std::min(h_, y1); ++y)
      for (int x = std::max(0, x0); x < std::min(w_, x1); ++x) {
        unsigned char* p = &pixels_[(size_t(y) * w_ + x) * 3];
        p[0] = c.r, p[1] = c.g, p[2] = c.b;
      }
  }
  // A filled box with a 2-pixel outline.
  void box(int x0, int y0, int x1, int y1, Color inside) {
    fill(x0, y0, x1, y1, kInk);
    fill(x0 + 2, y0 + 2, x1 - 2, y1 - 2, inside);
  }
  // Text at (x, y) (top-left), each glyph pixel drawn as scale x scale.
  void text(int x, int y, const std::string& s, int scale = 2, Color c = kInk) {
    static char buffer[200000];
    std::string copy = s;
    const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, buffer, sizeof buffer);
    for (int q = 0; q < quads; ++q) {
      const float* v = reinterpret_cast<const float*>(buffer + q * 64);  // 4 vertices of 16 bytes
      const float x0 = v[0], y0 = v[1], x1 = v[8], y1 = v[9];          // first and third vertex
      fill(x + int(x0 * scale), y + int(y0 * scale), x + int(x1 * scale), y + int(y1 * scale), c);
    }
  }
  static int text_width(const std::string& s, int scale = 2) {
    std::string copy = s;
    return stb_easy_font_width(copy.data()) * scale;
  }
  // Horizontal or vertical arrow of thickness 3 from (x0,y0) to (x1,y1), head at the end.
  void arrow(int x0, int y0, int x1, int y1, Color c) {
    if (y0 == y1) {
      fill(std::min(x0, x1), y0 - 1, std::max(x0, x1), y0 + 2, c);
      const int dir = x1 > x0 ? -1 : 1;
      for (int i = 0; i < 10; ++i) fill(x1 + dir * i - (dir < 0 ? 1 : 0), y1 - i / 2 - 1, x1 + dir * i + 1, y1 + i / 2 + 2, c);
    } else {
      fill(x0 - 1, std::min(y0, y1), x0 + 2, std::max(y0, y1), c);
      const int dir = y1 > y0 ? -1 : 1;
      for (int i = 0; i < 10; ++i) fill(x1 - i / 2 - 1, y1 + dir * i - (dir < 0 ? 1 : 0), x1 + i / 2 + 2, y1 + dir * i + 1, c);
    }
  }
  void save(const std::string& path) const {
    if (!stbi_write_png(path.c_str(), w_, h_, 3, pixels_.data(), w_ * 3))
      throw std::runtime_error("cannot write " + path);
    std::printf("wrote %s (%dx%d)\n", path.c_str(), w_, h_);
  }

 private:
  int w_, h_;
  std::vector<unsigned char> pixels_;
};

// The branch UNet at the defaults (width 32, depth 5, a 576x576 image): encoder down the left,
// decoder up the right, skips across, shapes in every box.
void draw_unet(const std::string& path) {
  const int depth = 5, width = 32, side0 = 576, canvas_w = 1600;
  Canvas c(canvas_w, 760);
  c.text(20, 14, "SeqNet branch UNet (width 32, depth 5), one 576x576 image; shapes are (N,C,H,W)", 3);
  const int box_w = 340, box_h = 64, row_h = 128, top = 90;
  auto enc_x = [&](int l) { return 30 + 80 * l; };
  auto dec_x = [&](int l) { return canvas_w - 30 - box_w - 80 * l; };
  auto shape = [&](int ch, int side) {
    return "(1," + std::to_string(ch) + "," + std::to_string(side) + "," + std::to_string(side) + ")";
  };
  c.text(enc_x(0), top - 30, "x (1,3,576,576) -> enc.0", 2, kGrey);
  const std::string out = "d0: the UNet's output -> heads.0 and the refiner";
  c.text(canvas_w - 30 - Canvas::text_width(out), top - 30, out, 2, kGrey);
  for (int l = 0; l < depth; ++l) {
    const int ch = width << l, side = side0 >> l, y = top + l * row_h, ex = enc_x(l);
    const std::string L = std::to_string(l);
    c.box(ex, y, ex + box_w, y + box_h, kEncoder);
    c.text(ex + 10, y + 8, "enc." + L + ": DoubleConv", 2);
    c.text(ex + 10, y + 36, "e" + L + " " + shape(ch, side), 2);
    if (l + 1 == depth) {
      // the deepest map feeds up.(depth-2): across, then up into the arrow of that level
      const int ux = dec_x(l - 1) + box_w - 60, my = y + box_h / 2;
      c.fill(ex + box_w, my - 1, ux + 2, my + 2, kUp);
      c.arrow(ux, my, ux, y - row_h + box_h + 4, kUp);
      continue;
    }
    const int ax = ex + 60;
    c.arrow(ax, y + box_h, ax, y + row_h - 4, kPool);
    c.text(ax + 8, y + box_h + 16, "max-pool 2x2 -> " + shape(ch, side / 2), 2, kPool);
    const int dx = dec_x(l);
    c.box(dx, y, dx + box_w, y + box_h, kDecoder);
    c.text(dx + 10, y + 8, "dec." + L + " on cat[u" + L + "|e" + L + "] " + std::to_string(2 * ch) + "ch", 2);
    c.text(dx + 10, y + 36, "d" + L + " " + shape(ch, side), 2);
    c.arrow(ex + box_w, y + box_h / 2, dx - 4, y + box_h / 2, kSkip);
    const std::string skip = "skip: e" + L + " copied";
    c.text((ex + box_w + dx) / 2 - Canvas::text_width(skip) / 2, y + box_h / 2 - 22, skip, 2, kSkip);
    if (l + 2 < depth) {  // the up arrow from the decoder below (the deepest level draws its own)
      const int ux = dx + box_w - 60;
      c.arrow(ux, y + row_h, ux, y + box_h + 4, kUp);
    }
    const std::string up = "up." + L + ": ConvT 2x2 s2 -> " + std::to_string(ch) + "ch";
    c.text(dx + box_w - 72 - Canvas::text_width(up), y + box_h + 16, up, 2, kUp);
  }
  c.text(30, 720, "Each level down: half the side, twice the channels; every 3x3 conv of a level costs the same "
                  "3057.6 M multiply-adds.", 2, kGrey);
  c.save(path);
}

// The refiner of one branch (3 iterations): shared weights in orange, the growing list F.
void draw_refiner(const std::string& path) {
  Canvas c(1400, 540);
  c.text(20, 14, "The refiner, 3 iterations (orange: weights shared by every iteration)", 3);
  const int top = 70, row_h = 110, h = 56;
  const int enc0 = 40, cat = 300, fuse = 580, body = 860, heads = 1120, w = 240;
  c.box(enc0, top, enc0 + 2 * w + 20, top + h, kEncoder);
  c.text(enc0 + 10, top + 8, "branch UNet: F0 = its enc.0 output,", 2);
  c.text(enc0 + 10, top + 32, "f0 = its output (1,32,576,576)", 2);
  c.arrow(enc0 + 2 * w + 20, top + h / 2, heads - 4, top + h / 2, kInk);
  c.box(heads, top, heads + w, top + h, kDecoder);
  c.text(heads + 10, top + 20, "heads.0 -> s0", 2);
  for (int i = 0; i < 3; ++i) {
    const int y = top + (i + 1) * row_h;
    const std::string I = std::to_string(i), J = std::to_string(i + 1);
    // f_i: from the UNet (i = 0) or from the previous iteration's body
    if (i == 0) {
      c.arrow(enc0 + 100, top + h, enc0 + 100, y - 4, kGrey);
    } else {
      const int yb = y - row_h + h, ym = yb + (row_h - h) / 2;
      c.fill(body + w / 2 - 1, yb, body + w / 2 + 2, ym + 2, kGrey);
      c.fill(enc0 + 99, ym - 1, body + w / 2 + 2, ym + 2, kGrey);
      c.arrow(enc0 + 100, ym, enc0 + 100, y - 4, kGrey);
    }
    c.text(enc0 + 110, y - 24, "f" + I, 2, kGrey);
    c.box(enc0, y, enc0 + w, y + h, kShared);
    c.text(enc0 + 10, y + 8, "enc.0* (shared)", 2);
    c.text(enc0 + 10, y + 32, "f" + I + " -> F" + J, 2);
    c.arrow(enc0 + w, y + h / 2, cat - 4, y + h / 2, kInk);
    c.box(cat, y, cat + w, y + h, kEncoder);
    std::string list = "cat[F0";
    for (int j = 1; j <= i + 1; ++j) list += "|F" + std::to_string(j);
    c.text(cat + 10, y + 8, list + "]", 2);
    c.text(cat + 10, y + 32, std::to_string(32 * (i + 2)) + " channels", 2);
    c.arrow(cat + w, y + h / 2, fuse - 4, y + h / 2, kInk);
    c.box(fuse, y, fuse + w, y + h, kEncoder);
    c.text(fuse + 10, y + 8, "fuse." + I + " 1x1 (own)", 2);
    c.text(fuse + 10, y + 32, "-> g" + I + " (32 channels)", 2);
    c.arrow(fuse + w, y + h / 2, body - 4, y + h / 2, kInk);
    c.box(body, y, body + w, y + h, kShared);
    c.text(body + 10, y + 8, "body* (shared)", 2);
    c.text(body + 10, y + 32, "g" + I + " as level 0 -> f" + J, 2);
    c.arrow(body + w, y + h / 2, heads - 4, y + h / 2, kInk);
    c.box(heads, y, heads + w, y + h, kDecoder);
    c.text(heads + 10, y + 20, "heads." + J + " -> s" + J, 2);
  }
  c.text(40, 480, "Backward runs the rows bottom to top. Each F gets the sum of its blocks of every later fuse's", 2,
         kGrey);
  c.text(40, 502, "input gradient; each shared weight the sum of its three iterations' (docs/DERIVATIONS.md, 10).", 2,
         kGrey);
  c.save(path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: seqnet_diagrams DIR\nwrites DIR/unet.png and DIR/refiner.png, the pictures of "
                         "docs/WALKTHROUGH.md\n");
    return argc == 2 ? 0 : 2;
  }
  try {
    draw_unet(std::string(argv[1]) + "/unet.png");
    draw_refiner(std::string(argv[1]) + "/refiner.png");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seqnet_diagrams: %s\n", e.what());
    return 1;
  }
  return 0;
}
