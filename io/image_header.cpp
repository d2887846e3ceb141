// image_header.cpp: declared_image_size (image_header.h).
#include "io/image_header.h"

#include <cstdlib>

namespace seqnet {

namespace {

struct Reader {
  std::string_view bytes;
  bool has(size_t at, size_t n) const { return at + n <= bytes.size(); }
  int64_t u8(size_t at) const { return uint8_t(bytes[at]); }
  int64_t be16(size_t at) const { return u8(at) << 8 | u8(at + 1); }
  int64_t be32(size_t at) const { return be16(at) << 16 | be16(at + 2); }
  int64_t le16(size_t at) const { return u8(at) | u8(at + 1) << 8; }
  int64_t le32_signed(size_t at) const { return int32_t(uint32_t(le16(at) | le16(at + 2) << 16)); }
};

// PNG: the IHDR chunk comes first: width and height, 4 bytes each, big-endian.
DeclaredSize png_size(const Reader& r) {
  if (!r.has(0, 24) || r.bytes.substr(0, 8) != std::string_view("\x89PNG\r\n\x1a\n", 8) || r.bytes.substr(12, 4) != "IHDR")
    return {};
  return {r.be32(16), r.be32(20)};
}

// GIF: the logical screen, 2 bytes each, little-endian.
DeclaredSize gif_size(const Reader& r) {
  if (!r.has(0, 10) || (r.bytes.substr(0, 6) != "GIF87a" && r.bytes.substr(0, 6) != "GIF89a")) return {};
  return {r.le16(6), r.le16(8)};
}

// BMP: the info header's width and height (negative height: rows top-down), 4 bytes, little-endian.
DeclaredSize bmp_size(const Reader& r) {
  if (!r.has(0, 26) || r.bytes.substr(0, 2) != "BM" || r.le32_signed(14) < 40) return {};
  return {std::abs(r.le32_signed(18)), std::abs(r.le32_signed(22))};
}

// JPEG: the first frame header (SOF0-SOF15 but DHT, JPG and DAC), walking the segments by length.
DeclaredSize jpeg_size(const Reader& r) {
  size_t i = 0;
  while (r.has(i, 1) && r.u8(i) == 0xff) ++i;  // FF (and fill bytes) before D8
  if (i == 0 || !r.has(i, 1) || r.u8(i) != 0xd8) return {};
  ++i;
  while (r.has(i, 4)) {
    if (r.u8(i) != 0xff) {  // padding between segments
      ++i;
      continue;
    }
    size_t m = i + 1;
    while (r.has(m, 1) && r.u8(m) == 0xff) ++m;
    if (!r.has(m, 8)) return {};
    const int64_t marker = r.u8(m);
    if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc)
      return {r.be16(m + 6), r.be16(m + 4)};  // length, precision, height, width
    if (marker == 0xda || marker == 0xd9) return {};
    i = m + 1 + size_t(r.be16(m + 1));
  }
  return {};
}

}  // namespace

DeclaredSize declared_image_size(std::string_view bytes) {
  const Reader r{bytes};
  for (auto size_of : {png_size, gif_size, bmp_size, jpeg_size}) {
    const DeclaredSize size = size_of(r);
    if (size.width > 0 || size.height > 0) return size;
  }
  return {};
}

}  // namespace seqnet
