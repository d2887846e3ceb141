// image.cpp: read_image (stb_image for PNG/JPEG/BMP/GIF, libtiff for TIFF) and write_png.
//
// Every failure becomes an ImageError naming the file and the reason: missing, unreadable,
// empty, unsupported format, corrupt or truncated, too large, or an unsupported sample layout.
// Both decoders read from memory, so decode_image is what the fuzzer drives (fuzz/fuzz_image.cpp).
#define STB_IMAGE_IMPLEMENTATION
// Only the formats the program promises: stb's other decoders (PSD, TGA, HDR, PIC, PNM) would be
// reachable attack surface nobody asked for.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
// PNG's deflate by libdeflate at its fastest level instead of stb's own compressor: for the five
// maps of a 1620x1444 photograph 1.8x less time than zlib's fastest level (which had replaced stb's:
// 2.9x) and 8% smaller files (docs/PERFORMANCE.md, "Cohort throughput"); the pixels decode the same
// either way.
#define STBIW_ZLIB_COMPRESS seqnet_png_deflate
#include <libdeflate.h>

#include <cstdlib>
#include <memory>
static unsigned char* seqnet_png_deflate(unsigned char* data, int data_len, int* out_len, int /*quality*/) {
  // One compressor per thread (it is not safe to share), kept: allocating it costs more than a map.
  struct Free {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  static thread_local std::unique_ptr<libdeflate_compressor, Free> compressor(libdeflate_alloc_compressor(1));
  *out_len = 0;
  if (!compressor) return nullptr;
  const size_t bound = libdeflate_zlib_compress_bound(compressor.get(), size_t(data_len));
  unsigned char* out = static_cast<unsigned char*>(malloc(bound));  // stb frees it with STBIW_FREE (free)
  if (!out) return nullptr;
  const size_t size = libdeflate_zlib_compress(compressor.get(), data, size_t(data_len), out, bound);
  if (size == 0) {  // cannot happen with the bound's room; stb then reports the failure
    free(out);
    return nullptr;
  }
  *out_len = int(size);
  return out;
}
// stb's own code trips -Wextra warnings; they are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC diagnostic pop
#include <tiffio.h>

// Every PNG row is filtered with "Up" (the difference from the row above) instead of stb trying all
// five filters on each row and keeping the one with the smallest sum: the maps are smooth from row
// to row, so Up is what the search mostly finds anyway. Measured on the five maps of four LES-AV
// photographs: 0.835 -> 0.555 s and 2% smaller; of one DRIVE photograph: 0.033 -> 0.027 s and 4%
// larger (docs/PERFORMANCE.md). Set once, before main, as stb reads it for every image.
[[maybe_unused]] static const bool png_filter_fixed = (stbi_write_force_png_filter = 2, true);

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "io/atomic_file.h"
#include "io/image.h"
#include "io/image_header.h"
#include "io/stb_guards.h"

namespace seqnet {
namespace {

std::string read_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);  // through symbolic links
  if (status.type() == fs::file_type::not_found) throw ImageError("image file not found: " + path);
  if (ec) throw ImageError("cannot read image " + path + ": " + ec.message());  // a symbolic link loop
  if (fs::is_directory(status)) throw ImageError("cannot read image " + path + ": it is a folder");
  // A FIFO would be read until its writer closes it (forever), a device until it ends (never).
  if (!fs::is_regular_file(status)) throw ImageError("cannot read image " + path + ": it is not a regular file (a FIFO, device or socket)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError("cannot open image " + path + " (no read permission?)");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ImageError("cannot read image " + path + ": read error");
  return bytes;
}

bool is_tiff(std::string_view bytes) {
  return bytes.size() >= 4 && (std::memcmp(bytes.data(), "II*\0", 4) == 0 || std::memcmp(bytes.data(), "MM\0*", 4) == 0);
}

// Refuses a picture whose header declares no pixels or more than `max_pixels`, before its pixels
// are allocated.
void check_image_size(const std::string& path, int64_t w, int64_t h, int64_t max_pixels) {
  if (w <= 0 || h <= 0)  // stb 2.27 "decodes" a BMP of height 0 (a fuzzer finding)
    throw ImageError("cannot read image " + path + ": it declares " + std::to_string(w) + " x " + std::to_string(h) +
                     " pixels (an empty picture; corrupt file?)");
  const double pixels = double(w) * double(h);  // up to 2^64: a header can declare 2^32 x 2^32
  if (pixels <= double(max_pixels)) return;
  char text[512];
  std::snprintf(text, sizeof text,
                ": it declares %lld x %lld pixels (%.1f megapixels), more than the limit of %.1f megapixels; to read "
                "it anyway set %s=%.0f (it needs about %.1f GB of memory)",
                (long long)w, (long long)h, pixels / 1e6, double(max_pixels) / 1e6, kMaxImageMegapixelsVariable,
                std::ceil(pixels / 1e6), pixels * 16 / 1e9);
  throw ImageError("cannot read image " + path + text);
}

// ---- stb_image: PNG, JPEG, BMP, GIF (first frame) ------------------------------------------

Image read_with_stb(std::string_view bytes, const std::string& path, int64_t max_pixels) {
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  check_stb_input(bytes, path);  // before stb parses anything, the header included
  // stb's header reader refuses the largest sizes as "unknown image type": the size is read here
  // first, so such a picture is refused with the limit. (stb's own reading decides the rest.)
  const DeclaredSize declared = declared_image_size(bytes);
  if (declared.width > 0 || declared.height > 0) check_image_size(path, declared.width, declared.height, max_pixels);
  if (!stbi_info_from_memory(data, size, &w, &h, &c))
    throw ImageError("cannot read image " + path + ": unsupported format (" + stbi_failure_reason() +
                     "); use PNG, JPEG, BMP, GIF or TIFF");
  check_image_size(path, w, h, max_pixels);
  const bool sixteen_bit = stbi_is_16_bit_from_memory(data, size);
  Image image;
  if (sixteen_bit) {
    std::unique_ptr<stbi_us, void (*)(void*)> px(stbi_load_16_from_memory(data, size, &w, &h, &c, 0), stbi_image_free);
    if (!px) throw ImageError("cannot decode image " + path + ": " + stbi_failure_reason() + " (corrupt or truncated file)");
    image = Image(w, h, c);
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = px.get()[i] / 65535.0f;
  } else {
    std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(data, size, &w, &h, &c, 0), stbi_image_free);
    if (!px) throw ImageError("cannot decode image " + path + ": " + stbi_failure_reason() + " (corrupt or truncated file)");
    image = Image(w, h, c);
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = px.get()[i] / 255.0f;
  }
  return image;
}

// ---- libtiff ---------------------------------------------------------------------------------

// Collects libtiff's messages for this one file (per-open handlers, so threads don't mix them).
int collect_tiff_error(TIFF*, void* user_data, const char* module, const char* fmt, va_list ap) {
  char text[512];
  std::vsnprintf(text, sizeof text, fmt, ap);
  auto* errors = static_cast<std::string*>(user_data);
  if (!errors->empty()) *errors += "; ";
  *errors += (module ? std::string(module) + ": " : std::string()) + text;
  return 1;
}
int ignore_tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

// 16-bit contiguous grey or RGB(A) strips, read scanline by scanline.
Image read_tiff_16bit(TIFF* tif, const std::string& path, int w, int h, int samples, const std::string& errors) {
  uint16_t planar = PLANARCONFIG_CONTIG;
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
  if (TIFFIsTiled(tif) || planar != PLANARCONFIG_CONTIG || samples < 1 || samples > 4)
    throw ImageError("cannot read image " + path + ": unsupported 16-bit TIFF layout (tiled, planar or " +
                     std::to_string(samples) + " samples); save it as a PNG");
  // A row must hold w x samples values (it does not for, e.g., subsampled YCbCr).
  const tmsize_t row_bytes = TIFFScanlineSize(tif);
  if (row_bytes < tmsize_t(w) * samples * 2)
    throw ImageError("cannot read image " + path + ": unsupported 16-bit TIFF layout (rows of " + std::to_string(row_bytes) +
                     " bytes for " + std::to_string(w) + " x " + std::to_string(samples) + " samples); save it as a PNG");
  Image image(w, h, samples);
  std::vector<uint16_t> line(row_bytes / 2 + 1);
  for (int y = 0; y < h; ++y) {
    if (TIFFReadScanline(tif, line.data(), y, 0) < 0)
      throw ImageError("cannot decode image " + path + " at row " + std::to_string(y) + ": " + errors +
                       " (corrupt or truncated file)");
    for (int i = 0; i < w * samples; ++i) image.pixels[size_t(y) * w * samples + i] = line[i] / 65535.0f;
  }
  return image;
}

// libtiff reading from memory: the client procedures over a byte range.
struct MemoryFile {
  std::string_view bytes;
  uint64_t position = 0;
};
tmsize_t memory_read(thandle_t handle, void* buffer, tmsize_t size) {
  auto* file = static_cast<MemoryFile*>(handle);
  if (size <= 0 || file->position >= file->bytes.size()) return 0;
  const uint64_t n = std::min<uint64_t>(uint64_t(size), file->bytes.size() - file->position);
  std::memcpy(buffer, file->bytes.data() + file->position, n);
  file->position += n;
  return tmsize_t(n);
}
tmsize_t memory_write(thandle_t, void*, tmsize_t) { return 0; }
toff_t memory_seek(thandle_t handle, toff_t offset, int whence) {
  auto* file = static_cast<MemoryFile*>(handle);
  const uint64_t base = whence == SEEK_CUR ? file->position : whence == SEEK_END ? file->bytes.size() : 0;
  file->position = base + offset;  // past the end is allowed: reads there return nothing
  return file->position;
}
int memory_close(thandle_t) { return 0; }
toff_t memory_size(thandle_t handle) { return static_cast<MemoryFile*>(handle)->bytes.size(); }
int memory_map(thandle_t, void**, toff_t*) { return 0; }  // not mapped: libtiff reads through memory_read
void memory_unmap(thandle_t, void*, toff_t) {}

// Refuses a TIFF whose strips or tiles reach past the end of the file (cut short in a copy): libtiff
// would fill what is missing with garbage or black and carry on.
void check_tiff_complete(TIFF* tif, const std::string& path, uint64_t file_size) {
  const uint32_t count = TIFFIsTiled(tif) ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t offset = TIFFGetStrileOffset(tif, i), length = TIFFGetStrileByteCount(tif, i);
    if (offset > file_size || length > file_size - offset)
      throw ImageError("cannot read image " + path + ": truncated TIFF: " + (TIFFIsTiled(tif) ? "tile " : "strip ") +
                       std::to_string(i) + " of " + std::to_string(count) + " needs bytes " + std::to_string(offset) +
                       " to " + std::to_string(offset + length) + " but the file has " + std::to_string(file_size));
  }
}

Image read_with_libtiff(std::string_view bytes, const std::string& path, int64_t max_pixels) {
  std::string errors;
  MemoryFile file{bytes};
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(options, collect_tiff_error, &errors);
  TIFFOpenOptionsSetWarningHandlerExtR(options, ignore_tiff_warning, nullptr);
  // libtiff's own buffers (strips, tiles, tag arrays) stay within what the pixel limit allows: a
  // whole 16-bit RGBA image, and at least 64 MB for small limits.
  TIFFOpenOptionsSetMaxSingleMemAlloc(options, tmsize_t(std::max<int64_t>(max_pixels * 8, int64_t(64) << 20)));
  std::unique_ptr<TIFF, void (*)(TIFF*)> tif(
      TIFFClientOpenExt(path.c_str(), "rm", &file, memory_read, memory_write, memory_seek, memory_close, memory_size,
                        memory_map, memory_unmap, options),
      TIFFClose);
  TIFFOpenOptionsFree(options);
  if (!tif) throw ImageError("cannot open TIFF image " + path + ": " + errors);

  uint32_t w = 0, h = 0;
  uint16_t bits = 8, samples = 1, extra = 0;
  uint16_t* extra_types = nullptr;
  TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_EXTRASAMPLES, &extra, &extra_types);
  if (w == 0 || h == 0 || w > 65535 || h > 65535)
    throw ImageError("cannot read image " + path + ": bad TIFF size " + std::to_string(w) + "x" + std::to_string(h));
  check_image_size(path, w, h, max_pixels);
  check_tiff_complete(tif.get(), path, bytes.size());
  // libtiff turns every sample into unsigned values; signed or floating-point samples would be
  // misread (a signed -1 as white), so they are refused.
  uint16_t sample_format = SAMPLEFORMAT_UINT;
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLEFORMAT, &sample_format);
  if (sample_format != SAMPLEFORMAT_UINT && sample_format != SAMPLEFORMAT_VOID)
    throw ImageError("cannot read image " + path + ": its TIFF samples are " +
                     (sample_format == SAMPLEFORMAT_INT ? "signed integers" : "not unsigned integers") +
                     "; save it with unsigned 8- or 16-bit samples (or as a PNG)");
  if (bits == 16) return read_tiff_16bit(tif.get(), path, int(w), int(h), samples, errors);

  // Everything else libtiff can turn into 8-bit RGBA (palette, YCbCr, 1/2/4/8-bit...).
  std::vector<uint32_t> raster(size_t(w) * h);
  if (!TIFFReadRGBAImageOriented(tif.get(), w, h, raster.data(), ORIENTATION_TOPLEFT, 1))  // 1: stop at the first bad strip
    throw ImageError("cannot decode image " + path + ": " + (errors.empty() ? "libtiff failed" : errors) +
                     " (corrupt, truncated or unsupported TIFF)");
  // Keep the channels as stored: grey stays grey (a palette is colour), alpha only when there is
  // an extra sample.
  uint16_t photometric = PHOTOMETRIC_MINISBLACK;
  TIFFGetField(tif.get(), TIFFTAG_PHOTOMETRIC, &photometric);
  const int colours = samples - extra >= 3 || photometric == PHOTOMETRIC_PALETTE ? 3 : 1;
  const int channels = colours + (extra > 0 ? 1 : 0);
  Image image(int(w), int(h), channels);
  for (size_t i = 0; i < raster.size(); ++i) {
    const uint32_t p = raster[i];
    float* out = &image.pixels[i * channels];
    out[0] = TIFFGetR(p) / 255.0f;
    if (colours == 3) {
      out[1] = TIFFGetG(p) / 255.0f;
      out[2] = TIFFGetB(p) / 255.0f;
    }
    if (extra > 0) out[colours] = TIFFGetA(p) / 255.0f;
  }
  return image;
}

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
}

}  // namespace

int64_t max_image_pixels() {
  const char* text = std::getenv(kMaxImageMegapixelsVariable);
  if (!text || !*text) return kDefaultMaxImageMegapixels * 1000000;
  char* end = nullptr;
  const double megapixels = std::strtod(text, &end);
  if (*end != '\0' || !(megapixels > 0) || megapixels > 1e6)
    throw ImageError(std::string(kMaxImageMegapixelsVariable) + "='" + text +
                     "' is not a number of megapixels (a positive number, e.g. 400)");
  return int64_t(megapixels * 1e6);
}

Image decode_image(std::string_view bytes, const std::string& path, int64_t max_pixels) {
  if (bytes.empty()) throw ImageError("cannot read image " + path + ": the file is empty");
  if (bytes.size() > size_t(INT_MAX))  // stb takes an int length
    throw ImageError("cannot read image " + path + ": the file is larger than 2 GB");
  return is_tiff(bytes) ? read_with_libtiff(bytes, path, max_pixels) : read_with_stb(bytes, path, max_pixels);
}

Image read_image(const std::string& path) {
  const int64_t max_pixels = max_image_pixels();
  return decode_image(read_bytes(path), path, max_pixels);
}

void write_png(const std::string& path, const Image& image) {
  if (image.channels < 1 || image.channels > 4 || image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != size_t(image.width) * image.height * image.channels)
    throw ImageError("cannot write " + path + ": not a valid image (" + std::to_string(image.width) + "x" +
                     std::to_string(image.height) + "x" + std::to_string(image.channels) + ", " +
                     std::to_string(image.pixels.size()) + " values)");
  std::vector<unsigned char> bytes(image.pixels.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    const float v = std::isfinite(image.pixels[i]) ? std::clamp(image.pixels[i], 0.0f, 1.0f) : 0.0f;
    // std::lround(v * 255) without the library call: in double, v * 255 + 0.5 cannot round up to
    // the next integer, so truncating it rounds half up exactly as lround does.
    bytes[i] = static_cast<unsigned char>(double(v * 255.0f) + 0.5);
  }
  std::string encoded;
  if (!stbi_write_png_to_func(append_bytes, &encoded, image.width, image.height, image.channels, bytes.data(),
                              image.width * image.channels))
    throw ImageError("cannot encode " + path + " as PNG");
  try {
    write_file_atomically(path, encoded);
  } catch (const std::runtime_error& e) {
    throw ImageError(e.what());
  }
}

}  // namespace seqnet
