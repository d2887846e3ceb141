// image.h: reading and writing pictures (photographs, labels, masks).
//
// Pixels are float, interleaved (row-major, channel fastest), scaled to [0, 1] from 8- or
// 16-bit storage. PNG, JPEG, BMP and GIF are read with stb_image, TIFF with libtiff; PNG is
// written with stb_image_write (8-bit), atomically (a temporary file, then a rename).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace seqnet {

// An error about one image file; the message names the file and what is wrong with it.
struct ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Image {
  int width = 0, height = 0, channels = 0;  // channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA
  std::vector<float> pixels;                // height * width * channels, values in [0, 1]

  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), pixels(size_t(w) * h * c, 0.0f) {}
  float& at(int y, int x, int c) { return pixels[(size_t(y) * width + x) * channels + c]; }
  float at(int y, int x, int c) const { return pixels[(size_t(y) * width + x) * channels + c]; }
};

// Reads any supported format (chosen by content, TIFF by its magic bytes). Throws ImageError.
Image read_image(const std::string& path);
// Writes an 8-bit PNG (values clamped to [0,1], rounded). Throws ImageError.
void write_png(const std::string& path, const Image& image);

}  // namespace seqnet
