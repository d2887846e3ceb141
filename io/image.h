// image.h: reading and writing pictures (photographs, labels, masks).
//
// Pixels are float, interleaved (row-major, channel fastest), scaled to [0, 1] from 8- or
// 16-bit storage. PNG, JPEG, BMP and GIF are read with stb_image, TIFF with libtiff; PNG is
// written with stb_image_write (8-bit), atomically (a temporary file, then a rename). Also the
// conversions every caller needs: to RGB, bilinear resize (images), nearest resize (labels).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
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

// A picture whose header declares more pixels (width x height) than the limit is refused before
// its pixels are allocated, so a corrupt or hostile header cannot exhaust memory. Decoded, a pixel
// costs about 16 bytes (4 float channels), so the default, 100 megapixels (10000 x 10000), needs
// about 1.6 GB; fundus photographs are under 25 megapixels. The environment variable raises it.
inline constexpr const char* kMaxImageMegapixelsVariable = "SEQNET_MAX_IMAGE_MEGAPIXELS";
inline constexpr int64_t kDefaultMaxImageMegapixels = 100;
// The limit in pixels: SEQNET_MAX_IMAGE_MEGAPIXELS when set (ImageError when it is not a positive
// number), else the default.
int64_t max_image_pixels();
// read_image on bytes already in memory; `path` names them in errors. Throws ImageError.
Image decode_image(std::string_view bytes, const std::string& path, int64_t max_pixels);
// Writes an 8-bit PNG (values clamped to [0,1], rounded). Throws ImageError.
void write_png(const std::string& path, const Image& image);

// Three channels: grey is repeated, alpha is dropped. Throws ImageError for other channel counts.
Image to_rgb(const Image& image);
// The same for an image the caller gives up: an RGB one is moved, not copied (28 MB at 1620x1444).
Image to_rgb(Image&& image);
// Resampled to w x h with a triangle (bilinear) filter on pixel centres, as PIL's BILINEAR:
// when shrinking, the filter widens by the shrink factor so every source pixel contributes
// (no aliasing when a 1620-pixel photograph becomes 576). Enlarging is plain bilinear.
Image resize_bilinear(const Image& image, int w, int h);
// Resampled to w x h taking the source pixel under each target pixel centre (for labels/masks).
Image resize_nearest(const Image& image, int w, int h);

}  // namespace seqnet
