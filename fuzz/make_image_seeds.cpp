// make_image_seeds.cpp: writes the image fuzzer's seeds (fuzz/image_corpus/), one small valid file
// per format and layout read_image accepts, so the fuzzer starts inside every decoder.
//
//   make_image_seeds OUTPUT_FOLDER
//
// PNG, BMP and baseline JPEG come from stb_image_write, the progressive JPEG from libjpeg, TIFF
// from libtiff, GIF from the encoder below (stb writes no GIF). Pictures are 5 x 3 or so: small
// seeds keep the fuzzer fast, and the decoders' paths do not depend on the size.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#include <jpeglib.h>
#include <tiffio.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr int kWidth = 5, kHeight = 3;
std::string out_dir;

std::string path_of(const std::string& name) { return out_dir + "/" + name; }

// A gradient with `channels` interleaved channels of 8-bit values.
std::vector<uint8_t> pixels8(int channels) {
  std::vector<uint8_t> p(size_t(kWidth) * kHeight * channels);
  for (size_t i = 0; i < p.size(); ++i) p[i] = uint8_t(i * 37 + 11);
  return p;
}

void write_bytes(const std::string& name, const std::vector<uint8_t>& bytes) {
  std::ofstream(path_of(name), std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// ---- PNG, BMP, JPEG --------------------------------------------------------------------------

void write_stb_files() {
  for (int channels : {1, 2, 3, 4}) {
    const std::vector<uint8_t> p = pixels8(channels);
    stbi_write_png(path_of("png_" + std::to_string(channels) + "ch.png").c_str(), kWidth, kHeight, channels, p.data(),
                   kWidth * channels);
  }
  stbi_write_bmp(path_of("bmp_rgb.bmp").c_str(), kWidth, kHeight, 3, pixels8(3).data());
  stbi_write_bmp(path_of("bmp_rgba.bmp").c_str(), kWidth, kHeight, 4, pixels8(4).data());
  stbi_write_jpg(path_of("jpeg_baseline.jpg").c_str(), kWidth, kHeight, 3, pixels8(3).data(), 90);
  stbi_write_jpg(path_of("jpeg_grey.jpg").c_str(), kWidth, kHeight, 1, pixels8(1).data(), 90);
}

// A 16-bit grey PNG, written by hand (stb writes 8-bit only): signature, IHDR, one stored-deflate
// IDAT, IEND, with their CRCs and the zlib Adler-32.
uint32_t crc32_of(const uint8_t* data, size_t n, uint32_t crc = 0xffffffffu) {
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc;
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}
void png_chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  put32(out, uint32_t(data.size()));
  std::vector<uint8_t> typed(type, type + 4);
  typed.insert(typed.end(), data.begin(), data.end());
  out.insert(out.end(), typed.begin(), typed.end());
  put32(out, crc32_of(typed.data(), typed.size()) ^ 0xffffffffu);
}
void write_png16() {
  std::vector<uint8_t> raw;  // per row: filter byte 0, then big-endian 16-bit samples
  for (int y = 0; y < kHeight; ++y) {
    raw.push_back(0);
    for (int x = 0; x < kWidth; ++x) {
      const uint16_t v = uint16_t((y * kWidth + x) * 4099);
      raw.push_back(uint8_t(v >> 8));
      raw.push_back(uint8_t(v));
    }
  }
  std::vector<uint8_t> z = {0x78, 0x01, 0x01, uint8_t(raw.size()), uint8_t(raw.size() >> 8), uint8_t(~raw.size()),
                            uint8_t(~raw.size() >> 8)};
  z.insert(z.end(), raw.begin(), raw.end());
  uint32_t a = 1, b = 0;
  for (uint8_t v : raw) a = (a + v) % 65521, b = (b + a) % 65521;
  put32(z, (b << 16) | a);
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put32(ihdr, kWidth);
  put32(ihdr, kHeight);
  ihdr.insert(ihdr.end(), {16, 0, 0, 0, 0});  // 16 bits, grey, deflate, filter 0, not interlaced
  png_chunk(png, "IHDR", ihdr);
  png_chunk(png, "IDAT", z);
  png_chunk(png, "IEND", {});
  write_bytes("png_16bit_grey.png", png);
}

void write_progressive_jpeg() {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = kWidth;
  cinfo.image_height = kHeight;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<uint8_t> p = pixels8(3);
  for (int y = 0; y < kHeight; ++y) {
    JSAMPROW row = p.data() + size_t(y) * kWidth * 3;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  write_bytes("jpeg_progressive.jpg", std::vector<uint8_t>(buffer, buffer + size));
  free(buffer);
}

// ---- GIF -------------------------------------------------------------------------------------

// LZW without compression: 2-bit colour indices, 3-bit codes, and a clear code every two
// literals so the decoder's table never grows past 3 bits.
void write_gif(const std::string& name, bool interlaced, bool two_frames) {
  std::vector<uint8_t> g = {'G', 'I', 'F', '8', '9', 'a', kWidth, 0, kHeight, 0, 0xf1, 0, 0};  // 4-colour global table
  g.insert(g.end(), {0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255});
  auto frame = [&](int shift) {
    g.insert(g.end(), {0x21, 0xf9, 4, 0, 10, 0, 0, 0});  // graphic control: 0.1 s delay
    g.insert(g.end(), {0x2c, 0, 0, 0, 0, kWidth, 0, kHeight, 0, uint8_t(interlaced ? 0x40 : 0)});
    std::vector<int> codes = {4};
    for (int i = 0; i < kWidth * kHeight; ++i) {
      codes.push_back((i + shift) % 4);
      if (i % 2 == 1) codes.push_back(4);
    }
    codes.push_back(5);
    std::vector<uint8_t> data;
    uint32_t bits = 0;
    int count = 0;
    for (int c : codes) {
      bits |= uint32_t(c) << count;
      count += 3;
      while (count >= 8) data.push_back(uint8_t(bits)), bits >>= 8, count -= 8;
    }
    if (count > 0) data.push_back(uint8_t(bits));
    g.push_back(2);  // minimum code size
    g.push_back(uint8_t(data.size()));
    g.insert(g.end(), data.begin(), data.end());
    g.push_back(0);
  };
  frame(0);
  if (two_frames) frame(1);
  g.push_back(0x3b);
  write_bytes(name, g);
}

// ---- TIFF ------------------------------------------------------------------------------------

void write_tiff(const std::string& name, int bits, int samples, uint16_t photometric, uint16_t compression, bool tiled) {
  TIFF* tif = TIFFOpen(path_of(name).c_str(), "w");
  const int width = tiled ? 16 : kWidth, height = tiled ? 16 : kHeight;  // tiles are multiples of 16
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, width);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, height);
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, samples);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, photometric);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tif, TIFFTAG_COMPRESSION, compression);
  if (samples == 4) {
    const uint16_t extra[] = {EXTRASAMPLE_UNASSALPHA};
    TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, 1, extra);
  }
  if (photometric == PHOTOMETRIC_PALETTE) {
    std::vector<uint16_t> r(1 << bits), g(1 << bits), b(1 << bits);
    for (size_t i = 0; i < r.size(); ++i) r[i] = uint16_t(i * 4000), g[i] = uint16_t(65535 - i * 4000), b[i] = 30000;
    TIFFSetField(tif, TIFFTAG_COLORMAP, r.data(), g.data(), b.data());
  }
  const size_t row_bytes = (size_t(width) * samples * bits + 7) / 8;
  std::vector<uint8_t> image(row_bytes * height);
  for (size_t i = 0; i < image.size(); ++i) image[i] = uint8_t(i * 29 + 3);
  if (tiled) {
    TIFFSetField(tif, TIFFTAG_TILEWIDTH, 16);
    TIFFSetField(tif, TIFFTAG_TILELENGTH, 16);
    TIFFWriteEncodedTile(tif, 0, image.data(), tmsize_t(image.size()));
  } else {
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 2);  // two strips
    for (int y = 0; y < height; ++y) TIFFWriteScanline(tif, image.data() + row_bytes * y, uint32_t(y), 0);
  }
  TIFFClose(tif);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_image_seeds OUTPUT_FOLDER\n");
    return 2;
  }
  out_dir = argv[1];
  write_stb_files();
  write_png16();
  write_progressive_jpeg();
  write_gif("gif.gif", false, false);
  write_gif("gif_interlaced_two_frames.gif", true, true);
  write_tiff("tiff_rgb8_lzw.tif", 8, 3, PHOTOMETRIC_RGB, COMPRESSION_LZW, false);
  write_tiff("tiff_rgba8_deflate.tif", 8, 4, PHOTOMETRIC_RGB, COMPRESSION_ADOBE_DEFLATE, false);
  write_tiff("tiff_grey8_packbits_tiled.tif", 8, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_PACKBITS, true);
  write_tiff("tiff_palette4.tif", 4, 1, PHOTOMETRIC_PALETTE, COMPRESSION_NONE, false);
  write_tiff("tiff_bilevel.tif", 1, 1, PHOTOMETRIC_MINISWHITE, COMPRESSION_NONE, false);
  write_tiff("tiff_grey16.tif", 16, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, false);
  write_tiff("tiff_rgb16_lzw.tif", 16, 3, PHOTOMETRIC_RGB, COMPRESSION_LZW, false);
  return 0;
}
