// fuzz_image.cpp: libFuzzer harness for the image loader (decode_image, io/image.h): every format
// read_image accepts (PNG, JPEG, BMP, GIF through stb_image; TIFF through libtiff), chosen by
// content as for a file.
//
// Passes when every input either decodes into a well-formed image or is refused with an
// ImageError. A crash, a sanitizer report, a leak, another exception or a malformed image is a
// finding.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "io/image.h"

namespace {

// A quarter megapixel: far more than any seed, small enough that decoding one input stays well
// inside the 10-second timeout on a loaded machine (a 306-byte BMP may declare a million pixels,
// all of which stb fills in and the checks below visit). The limit itself is tested in tests/.
constexpr int64_t kMaxPixels = 250'000;

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_image: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  seqnet::Image image;
  try {
    image = seqnet::decode_image(bytes, "fuzz input", kMaxPixels);
  } catch (const seqnet::ImageError&) {
    return 0;
  }
  require(image.width > 0 && image.height > 0, "decoded an image with a zero side");
  require(int64_t(image.width) * image.height <= kMaxPixels, "decoded more pixels than the limit");
  require(image.channels >= 1 && image.channels <= 4, "decoded an image with no or more than 4 channels");
  require(image.pixels.size() == size_t(image.width) * image.height * image.channels, "pixel count differs from the size");
  for (float v : image.pixels) require(v >= 0.0f && v <= 1.0f, "a pixel value outside [0, 1]");
  // What every caller does next with a photograph.
  require(seqnet::to_rgb(image).channels == 3, "to_rgb did not give 3 channels");
  return 0;
}
