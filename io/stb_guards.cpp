// stb_guards.cpp: check_stb_input (stb_guards.h).
#include "io/stb_guards.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "io/image.h"

namespace seqnet {

namespace {

// stb_image 2.27 (fixed in 2.28): a JPEG Huffman table (DHT segment) declaring more than 256
// codes overruns the decoder's 257-entry code tables (found by fuzz/fuzz_image). stb reads a
// DHT's tables until their declared sizes cover the segment's length, past its end if need be;
// this reads them the same way.
bool dht_overruns(std::string_view bytes, size_t at) {  // `at`: the first byte after FF C4
  auto byte = [&](size_t i) -> int { return i < bytes.size() ? uint8_t(bytes[i]) : 0; };  // stb reads 0 past the end
  long remaining = long(byte(at) << 8 | byte(at + 1)) - 2;
  size_t i = at + 2;
  while (remaining > 0 && i < bytes.size()) {
    int codes = 0;
    for (int k = 1; k <= 16; ++k) codes += byte(i + k);
    if (codes > 256) return true;
    i += 17 + codes;
    remaining -= 17 + codes;
  }
  return false;
}

// `start`: the first byte after the start-of-image marker.
void check_jpeg_huffman_tables(std::string_view bytes, size_t start, const std::string& path) {
  auto byte = [&](size_t i) -> int { return uint8_t(bytes[i]); };
  auto refuse = [&] {
    throw ImageError("cannot decode image " + path + ": a JPEG Huffman table declares more than 256 codes (corrupt file)");
  };
  // The segments before the first scan, walked by their lengths as stb walks them (so bytes inside
  // an APP or comment segment, e.g. an EXIF thumbnail, are not mistaken for markers), skipping
  // padding between them as stb does (a fuzzer finding).
  size_t i = start;
  while (i + 1 < bytes.size()) {
    if (byte(i) != 0xff) {  // padding between segments: stb skips to the next FF, and so does this
      ++i;
      continue;
    }
    size_t m = i + 1;
    while (m < bytes.size() && byte(m) == 0xff) ++m;  // fill bytes
    if (m >= bytes.size()) return;
    const int marker = byte(m);
    if (marker == 0xc4 && dht_overruns(bytes, m + 1)) refuse();
    if (marker == 0xda) {
      i = m + 1;
      break;
    }
    if (marker == 0xd9 || m + 2 >= bytes.size()) return;
    const size_t length = size_t(byte(m + 1) << 8 | byte(m + 2));
    i = m + 1 + length;
  }
  // After the first scan header, tables between scans (progressive JPEG) sit among entropy-coded
  // data, where a real marker is any FF not followed by 00; every FF (FF...) C4 is checked.
  for (; i + 1 < bytes.size(); ++i) {
    if (byte(i) != 0xff) continue;
    size_t m = i + 1;
    while (m < bytes.size() && byte(m) == 0xff) ++m;
    if (m < bytes.size() && byte(m) == 0xc4 && dht_overruns(bytes, m + 1)) refuse();
  }
}

// stb_image 2.27 grows its buffer for a PNG's compressed data to a chunk's declared length before
// reading it, so a 100-byte file declaring a 1 GB IDAT chunk takes a gigabyte of memory (found by
// fuzz/fuzz_image as a timeout). A chunk cannot be longer than what is left of the file.
void check_png_chunk_lengths(std::string_view bytes, const std::string& path) {
  auto be32 = [&](size_t i) {
    return uint32_t(uint8_t(bytes[i])) << 24 | uint32_t(uint8_t(bytes[i + 1])) << 16 | uint32_t(uint8_t(bytes[i + 2])) << 8 |
           uint32_t(uint8_t(bytes[i + 3]));
  };
  for (size_t i = 8; i + 8 <= bytes.size();) {  // each chunk: length, type, data, CRC
    const uint64_t length = be32(i);
    const std::string type(bytes.substr(i + 4, 4));
    if (length > bytes.size() - (i + 8))
      throw ImageError("cannot decode image " + path + ": PNG chunk '" + type + "' declares " + std::to_string(length) +
                       " bytes but only " + std::to_string(bytes.size() - (i + 8)) + " follow (truncated or corrupt file)");
    if (type == "IEND") return;
    i += 12 + length;
  }
}

// stb_image 2.27 decodes an uncompressed BMP cut short without an error, the missing rows black.
// Its pixel rows (each padded to 4 bytes) start at the header's offset and must all be there.
void check_bmp_length(std::string_view bytes, const std::string& path) {
  if (bytes.size() < 34 || bytes.substr(0, 2) != "BM") return;  // a header cut shorter: stb refuses it
  auto le = [&](size_t at, int n) {
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = v << 8 | uint8_t(bytes[at + k]);
    return v;
  };
  const uint64_t info_size = le(14, 4), offset = le(10, 4), bits = le(28, 2), compression = le(30, 4);
  if (info_size < 40 || (compression != 0 && compression != 3 && compression != 6)) return;  // RLE: stb checks
  const double width = std::abs(double(int32_t(uint32_t(le(18, 4))))), height = std::abs(double(int32_t(uint32_t(le(22, 4)))));
  const double row_bytes = std::floor((width * double(bits) + 31) / 32) * 4;
  const double needed = double(offset) + row_bytes * height;
  if (double(bytes.size()) < needed)
    throw ImageError("cannot decode image " + path + ": truncated BMP: its " + std::to_string(int64_t(width)) + " x " +
                     std::to_string(int64_t(height)) + " pixels need " + std::to_string(int64_t(needed)) +
                     " bytes but the file has " + std::to_string(bytes.size()));
}

}  // namespace

void check_stb_input(std::string_view bytes, const std::string& path) {
  // stb takes a file for a JPEG when it starts with FF, any fill bytes FF, then D8 (a fuzzer
  // finding: the guard first looked for FF D8 only).
  size_t soi = 0;
  while (soi < bytes.size() && uint8_t(bytes[soi]) == 0xff) ++soi;
  if (soi > 0 && soi < bytes.size() && uint8_t(bytes[soi]) == 0xd8) check_jpeg_huffman_tables(bytes, soi + 1, path);
  const bool png = bytes.size() >= 8 && bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8);
  if (png) check_png_chunk_lengths(bytes, path);
  check_bmp_length(bytes, path);
}

}  // namespace seqnet
