// test_image_hostile.cpp: pictures that must be refused with a message, never a crash or an
// out-of-memory kill: headers declaring huge sizes (PNG, JPEG, TIFF), and the inputs the image
// fuzzer found (fuzz/regressions/). Also the reading from memory the fuzzer drives.
#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <tiffio.h>

#include "io/image.h"
#include "test_support.h"

namespace seqnet {
namespace {

std::string image_error_of(const std::string& bytes, const std::string& name, int64_t max_pixels) {
  try {
    decode_image(bytes, name, max_pixels);
  } catch (const ImageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ImageError for " << name;
  return "";
}

void put_be32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(char(v >> s));
}
void put_le(std::string& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(char(v >> (8 * i)));
}

uint32_t crc32_of(const std::string& data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

// A PNG whose IHDR declares w x h RGB (valid CRC) and whose pixel data is absent.
std::string png_header(uint32_t w, uint32_t h) {
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr = "IHDR";
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, no interlace
  put_be32(png, 13);
  png += ihdr;
  put_be32(png, crc32_of(ihdr));
  return png;
}

// A baseline JPEG's start: SOI and a frame header (SOF0) declaring w x h, 3 components.
std::string jpeg_header(uint16_t w, uint16_t h) {
  std::string j = "\xff\xd8\xff\xc0";
  j += std::string("\x00\x11\x08", 3);
  j += char(h >> 8), j += char(h), j += char(w >> 8), j += char(w);
  j += std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10);
  return j;
}

// A little-endian TIFF with one strip declaring w x h 8-bit grey (the strip itself missing).
std::string tiff_header(uint32_t w, uint32_t h) {
  std::string t = std::string("II*\0", 4);
  put_le(t, 8, 4);
  const std::vector<std::array<uint32_t, 3>> entries = {  // tag, type (3 short, 4 long), value
      {256, 4, w}, {257, 4, h}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1}, {273, 4, 8}, {277, 3, 1}, {278, 4, h}, {279, 4, w * h}};
  put_le(t, uint32_t(entries.size()), 2);
  for (const auto& [tag, type, value] : entries) {
    put_le(t, tag, 2);
    put_le(t, type, 2);
    put_le(t, 1, 4);
    put_le(t, value, 4);
  }
  put_le(t, 0, 4);  // no next directory
  return t;
}

TEST(ImageLimits, HugeDeclaredSizeIsRefusedWithTheLimitAndHowToRaiseIt) {
  const int64_t limit = max_image_pixels();
  ASSERT_EQ(limit, kDefaultMaxImageMegapixels * 1000000) << "run without " << kMaxImageMegapixelsVariable << " set";
  for (const auto& [name, bytes] : {std::pair{"huge.png", png_header(30000, 30000)},
                                    std::pair{"huge.jpg", jpeg_header(30000, 30000)},
                                    std::pair{"huge.tif", tiff_header(30000, 30000)}}) {
    const std::string message = image_error_of(bytes, name, limit);
    EXPECT_NE(message.find(name), std::string::npos) << message;
    EXPECT_NE(message.find("30000 x 30000"), std::string::npos) << message;
    EXPECT_NE(message.find("limit of 100.0 megapixels"), std::string::npos) << message;
    EXPECT_NE(message.find("SEQNET_MAX_IMAGE_MEGAPIXELS=900"), std::string::npos) << message;
  }
}

TEST(ImageLimits, TheSizeCheckComesFromTheHeaderAndTheLimitIsTheCallers) {
  // Just under the limit the header passes and the missing pixel data is what is reported.
  const std::string under = image_error_of(png_header(1000, 1000), "under.png", 1000000);
  EXPECT_EQ(under.find("megapixels"), std::string::npos) << under;
  EXPECT_NE(under.find("corrupt or truncated"), std::string::npos) << under;
  const std::string over = image_error_of(png_header(1000, 1001), "over.png", 1000000);
  EXPECT_NE(over.find("limit of 1.0 megapixels"), std::string::npos) << over;
}

TEST(ImageLimits, EnvironmentVariableRaisesTheLimitAndABadValueIsNamed) {
  ASSERT_EQ(setenv(kMaxImageMegapixelsVariable, "950", 1), 0);
  EXPECT_EQ(max_image_pixels(), int64_t(950) * 1000000);
  // The program-wide reader uses it: the 900-megapixel header now passes the check.
  test::TempDir dir;
  std::ofstream(dir.str("huge.png"), std::ios::binary) << png_header(30000, 30000);
  try {
    read_image(dir.str("huge.png"));
    ADD_FAILURE() << "a header without pixel data was read";
  } catch (const ImageError& e) {
    EXPECT_EQ(std::string(e.what()).find("megapixels"), std::string::npos) << e.what();
  }
  ASSERT_EQ(setenv(kMaxImageMegapixelsVariable, "lots", 1), 0);
  try {
    max_image_pixels();
    ADD_FAILURE() << "SEQNET_MAX_IMAGE_MEGAPIXELS=lots was accepted";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("SEQNET_MAX_IMAGE_MEGAPIXELS='lots'"), std::string::npos) << e.what();
  }
  unsetenv(kMaxImageMegapixelsVariable);
}

// Found by fuzz/fuzz_image: a JPEG Huffman table declaring more than 256 codes overran stb_image
// 2.27's tables (an out-of-bounds write); io/stb_guards.cpp now refuses it.
// The second file hides the table behind padding between segments, which stb skips, the third
// behind fill bytes before the start-of-image marker.
TEST(ImageFuzzRegressions, JpegHuffmanTableOfMoreThan256CodesIsRefused) {
  for (const char* name : {"jpeg_dht_over_256_codes.jpg", "jpeg_dht_after_padding.jpg", "jpeg_dht_after_fill_bytes.jpg"}) {
    const std::string path = std::string(SEQNET_SOURCE_DIR) + "/fuzz/regressions/" + name;
    const std::string message = image_error_of(test::read_text(path), path, 2000000);
    EXPECT_NE(message.find("Huffman table declares more than 256 codes"), std::string::npos) << message;
  }
}

// Found by fuzz/fuzz_image: stb_image 2.27 returns a BMP of height 0 as an image, which the
// callers would divide by; an empty picture is refused.
TEST(ImageFuzzRegressions, BmpOfHeightZeroIsRefused) {
  const std::string path = std::string(SEQNET_SOURCE_DIR) + "/fuzz/regressions/bmp_zero_height.bmp";
  const std::string message = image_error_of(test::read_text(path), path, 2000000);
  EXPECT_NE(message.find("declares 2 x 0 pixels (an empty picture"), std::string::npos) << message;
}

// Found by fuzz/fuzz_image (a timeout): a 99-byte PNG whose chunk declares about a gigabyte made
// stb_image allocate that much before reading it; a chunk longer than the file is refused.
TEST(ImageFuzzRegressions, PngChunkLongerThanTheFileIsRefused) {
  const std::string path = std::string(SEQNET_SOURCE_DIR) + "/fuzz/regressions/png_chunk_longer_than_file.png";
  const std::string message = image_error_of(test::read_text(path), path, 2000000);
  EXPECT_NE(message.find("bytes but only"), std::string::npos) << message;
  EXPECT_NE(message.find("truncated or corrupt"), std::string::npos) << message;
}

TEST(ImageFromMemory, TiffDecodedFromBytesEqualsTheFile) {
  test::TempDir dir;
  const std::string path = dir.str("palette.tif");
  {
    TIFF* tif = TIFFOpen(path.c_str(), "w");
    ASSERT_NE(tif, nullptr);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 3);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 2);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_PALETTE);
    std::vector<uint16_t> r(256, 0), g(256, 0), b(256, 0);
    r[1] = 65535, g[2] = 65535, b[3] = 65535;
    TIFFSetField(tif, TIFFTAG_COLORMAP, r.data(), g.data(), b.data());
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 2);
    uint8_t rows[2][3] = {{0, 1, 2}, {3, 1, 0}};
    for (uint32_t y = 0; y < 2; ++y) ASSERT_GE(TIFFWriteScanline(tif, rows[y], y, 0), 0);
    TIFFClose(tif);
  }
  const Image from_file = read_image(path);
  const Image from_bytes = decode_image(test::read_text(path), path, 100);
  EXPECT_EQ(from_bytes.pixels, from_file.pixels);
  // A palette picture is colour: index 1 red, 2 green, 3 blue.
  ASSERT_EQ(from_file.channels, 3);
  EXPECT_EQ(from_file.at(0, 1, 0), 1.0f);
  EXPECT_EQ(from_file.at(0, 2, 1), 1.0f);
  EXPECT_EQ(from_file.at(1, 0, 2), 1.0f);
  EXPECT_EQ(from_file.at(1, 0, 0), 0.0f);
}

}  // namespace
}  // namespace seqnet
