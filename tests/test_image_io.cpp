// test_image_io.cpp: reading and writing images, the error messages, the resize helpers.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <string>

#include <omp.h>
#include <tiffio.h>

#include "io/image.h"
#include "test_support.h"

namespace seqnet {
namespace {

// An image whose every value is k/255 for some integer k, so an 8-bit round trip is exact.
Image eight_bit_pattern(int w, int h, int c) {
  Image image(w, h, c);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = float((i * 37 + 11) % 256) / 255.0f;
  return image;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Runs `f`, expects an ImageError and returns its message.
template <class F>
std::string image_error_of(F f) {
  try {
    f();
  } catch (const ImageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ImageError was thrown";
  return "";
}

TEST(ImageIo, PngRoundTripIsExactForEightBitValues) {
  test::TempDir dir;
  for (int channels = 1; channels <= 4; ++channels) {
    const Image image = eight_bit_pattern(13, 7, channels);
    const std::string path = dir.str("round_" + std::to_string(channels) + ".png");
    write_png(path, image);
    const Image back = read_image(path);
    ASSERT_EQ(back.width, 13);
    ASSERT_EQ(back.height, 7);
    ASSERT_EQ(back.channels, channels);
    for (size_t i = 0; i < image.pixels.size(); ++i) ASSERT_EQ(back.pixels[i], image.pixels[i]) << "value " << i;
  }
}

TEST(ImageIo, WritePngClampsAndRounds) {
  test::TempDir dir;
  Image image(3, 1, 1);
  image.pixels = {-0.5f, 0.5f, 2.0f};
  write_png(dir.str("clamped.png"), image);
  const Image back = read_image(dir.str("clamped.png"));
  EXPECT_EQ(back.pixels[0], 0.0f);
  EXPECT_EQ(back.pixels[1], 128.0f / 255.0f);  // 127.5 rounds up
  EXPECT_EQ(back.pixels[2], 1.0f);
}

// write_png's quantisation is std::lround(clamp(v, 0, 1) * 255), NaN and infinities 0, for every
// value a probability map holds, the halfway points and their float neighbours included; and the
// zlib-compressed file decodes to exactly those bytes, for maps as large as a photograph's.
TEST(ImageIo, WritePngQuantisesAsLroundAndDecodesExactly) {
  test::TempDir dir;
  Image image(1620, 1444, 1);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> any(-0.1f, 1.1f);
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    const float half = (float(i % 256) + 0.5f) / 255.0f;
    switch (i % 5) {
      case 0: image.pixels[i] = half; break;
      case 1: image.pixels[i] = std::nextafter(half, 0.0f); break;
      case 2: image.pixels[i] = std::nextafter(half, 1.0f); break;
      default: image.pixels[i] = any(rng);
    }
  }
  image.pixels[3] = std::nanf("");
  image.pixels[4] = INFINITY;
  write_png(dir.str("map.png"), image);
  const Image back = read_image(dir.str("map.png"));
  ASSERT_EQ(back.pixels.size(), image.pixels.size());
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    const float v = std::isfinite(image.pixels[i]) ? std::clamp(image.pixels[i], 0.0f, 1.0f) : 0.0f;
    ASSERT_EQ(back.pixels[i], float(std::lround(v * 255.0f)) / 255.0f) << "value " << i << ": " << image.pixels[i];
  }
}

TEST(ImageIo, ReadsDriveTiffAndGifMask) {
  SEQNET_REQUIRE_DATA(data);
  const Image photo = read_image(data + "/DRIVE_AV/training/images/21_training.tif");
  EXPECT_EQ(photo.width, 565);
  EXPECT_EQ(photo.height, 584);
  EXPECT_EQ(photo.channels, 3);
  double mean = 0;
  for (float v : photo.pixels) mean += v;
  mean /= double(photo.pixels.size());
  EXPECT_GT(mean, 0.05);  // a fundus photograph, not a black frame
  EXPECT_LT(mean, 0.8);
  const Image mask = read_image(data + "/DRIVE_AV/training/mask/21_training_mask.gif");
  EXPECT_EQ(mask.width, 565);
  EXPECT_EQ(mask.height, 584);
  EXPECT_EQ(mask.at(292, 282, 0), 1.0f);  // the centre is inside the field of view
  EXPECT_EQ(mask.at(0, 0, 0), 0.0f);      // the corner is outside
}

TEST(ImageIo, ReadsLesAvPngAndSampleJpeg) {
  SEQNET_REQUIRE_DATA(data);
  const Image les = read_image(data + "/LES_AV/training/images/111.png");
  EXPECT_EQ(les.width, 1620);
  EXPECT_EQ(les.height, 1444);
  EXPECT_EQ(les.channels, 3);
  const Image raw = read_image(data + "/seqnet_sample/raw.jpg");
  EXPECT_EQ(raw.width, 1036);
  EXPECT_EQ(raw.height, 691);
  EXPECT_EQ(raw.channels, 3);
  const Image seg = read_image(data + "/seqnet_sample/seg.png");
  EXPECT_EQ(seg.channels, 1);  // grey stays grey
}

TEST(ImageIo, SixteenBitTiffIsScaledToUnitRange) {
  // A 3x2 16-bit RGB TIFF written with libtiff, read back through read_image.
  test::TempDir dir;
  const std::string path = dir.str("deep.tif");
  const int w = 3, h = 2;
  {
    TIFF* tif = TIFFOpen(path.c_str(), "w");
    ASSERT_NE(tif, nullptr);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 16);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 1);
    for (int y = 0; y < h; ++y) {
      std::vector<uint16_t> row(w * 3);
      for (int i = 0; i < w * 3; ++i) row[i] = uint16_t((y * w * 3 + i) * 3800);
      ASSERT_GE(TIFFWriteScanline(tif, row.data(), y, 0), 0);
    }
    TIFFClose(tif);
  }
  const Image image = read_image(path);
  ASSERT_EQ(image.width, w);
  ASSERT_EQ(image.height, h);
  ASSERT_EQ(image.channels, 3);
  for (int i = 0; i < w * h * 3; ++i) EXPECT_FLOAT_EQ(image.pixels[i], i * 3800 / 65535.0f) << i;
}

TEST(ImageIo, MissingFileIsNamed) {
  const std::string message = image_error_of([] { read_image("/nonexistent/folder/photo.png"); });
  EXPECT_NE(message.find("/nonexistent/folder/photo.png"), std::string::npos) << message;
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
}

TEST(ImageIo, EmptyAndUnsupportedFilesAreNamed) {
  test::TempDir dir;
  write_bytes(dir.str("empty.png"), "");
  std::string message = image_error_of([&] { read_image(dir.str("empty.png")); });
  EXPECT_NE(message.find(dir.str("empty.png")), std::string::npos) << message;
  EXPECT_NE(message.find("empty"), std::string::npos) << message;

  write_bytes(dir.str("notes.png"), "this is a text file, not a picture\n");
  message = image_error_of([&] { read_image(dir.str("notes.png")); });
  EXPECT_NE(message.find(dir.str("notes.png")), std::string::npos) << message;
  EXPECT_NE(message.find("unsupported format"), std::string::npos) << message;
}

TEST(ImageIo, TruncatedPngIsNamed) {
  test::TempDir dir;
  write_png(dir.str("whole.png"), eight_bit_pattern(64, 64, 3));
  const std::string bytes = read_bytes(dir.str("whole.png"));
  write_bytes(dir.str("cut.png"), bytes.substr(0, bytes.size() / 2));
  const std::string message = image_error_of([&] { read_image(dir.str("cut.png")); });
  EXPECT_NE(message.find(dir.str("cut.png")), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

TEST(ImageIo, TruncatedTiffIsNamed) {
  SEQNET_REQUIRE_DATA(data);
  test::TempDir dir;
  const std::string bytes = read_bytes(data + "/DRIVE_AV/training/images/21_training.tif");
  write_bytes(dir.str("cut.tif"), bytes.substr(0, bytes.size() / 3));
  const std::string message = image_error_of([&] { read_image(dir.str("cut.tif")); });
  EXPECT_NE(message.find(dir.str("cut.tif")), std::string::npos) << message;
}

TEST(ImageIo, UnwritablePathIsNamed) {
  const std::string message = image_error_of([] { write_png("/nonexistent/folder/out.png", Image(2, 2, 3)); });
  EXPECT_NE(message.find("/nonexistent/folder/out.png"), std::string::npos) << message;
}

TEST(ImageIo, ToRgbRepeatsGreyAndDropsAlpha) {
  Image grey(2, 1, 1);
  grey.pixels = {0.25f, 0.75f};
  const Image a = to_rgb(grey);
  ASSERT_EQ(a.channels, 3);
  EXPECT_EQ(a.at(0, 1, 0), 0.75f);
  EXPECT_EQ(a.at(0, 1, 2), 0.75f);
  Image rgba(1, 1, 4);
  rgba.pixels = {0.1f, 0.2f, 0.3f, 0.4f};
  const Image b = to_rgb(rgba);
  ASSERT_EQ(b.pixels.size(), 3u);
  EXPECT_EQ(b.pixels[2], 0.3f);
}

TEST(ImageIo, BilinearKeepsConstantsAndMatchesPixelCentres) {
  Image constant(30, 20, 3);
  for (float& v : constant.pixels) v = 0.4f;
  const Image small = resize_bilinear(constant, 10, 7);
  for (float v : small.pixels) ASSERT_NEAR(v, 0.4f, 1e-6f);

  // Enlarging a 2-pixel ramp [0, 1] to 4 pixels: centres at source x = 0.25, 0.75, 1.25, 1.75
  // -> clamped to [0.5, 1.5] then interpolated: 0, 0.25, 0.75, 1.
  Image ramp(2, 1, 1);
  ramp.pixels = {0.0f, 1.0f};
  const Image big = resize_bilinear(ramp, 4, 1);
  EXPECT_NEAR(big.pixels[0], 0.0f, 1e-6f);
  EXPECT_NEAR(big.pixels[1], 0.25f, 1e-6f);
  EXPECT_NEAR(big.pixels[2], 0.75f, 1e-6f);
  EXPECT_NEAR(big.pixels[3], 1.0f, 1e-6f);
}

TEST(ImageIo, BilinearShrinkAveragesInsteadOfAliasing) {
  // A one-pixel checkerboard shrunk 3x: point sampling would give 0 or 1; the widened filter
  // gives close to the mean 0.5 everywhere away from the border.
  Image board(90, 90, 1);
  for (int y = 0; y < 90; ++y)
    for (int x = 0; x < 90; ++x) board.at(y, x, 0) = float((x + y) % 2);
  const Image small = resize_bilinear(board, 30, 30);
  for (int y = 2; y < 28; ++y)
    for (int x = 2; x < 28; ++x) ASSERT_NEAR(small.at(y, x, 0), 0.5f, 0.12f) << y << "," << x;
}

// The resize shares its rows over the threads: one thread and two give the same bits, both ways
// (a photograph-sized shrink to the working size and the maps' enlargement back).
TEST(ImageIo, BilinearGivesTheSameBitsOnAnyThreadCount) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(0.0f, 1.0f);
  Image photo(810, 722, 3);
  for (float& v : photo.pixels) v = value(rng);
  const int threads = omp_get_max_threads();
  for (const auto& [w, h] : {std::pair{288, 288}, std::pair{1620, 1444}}) {
    omp_set_num_threads(1);
    const Image one = resize_bilinear(photo, w, h);
    omp_set_num_threads(2);
    const Image two = resize_bilinear(photo, w, h);
    omp_set_num_threads(threads);
    ASSERT_EQ(one.pixels, two.pixels) << w << "x" << h;
  }
}

TEST(ImageIo, NearestPicksThePixelUnderEachCentre) {
  Image image(4, 1, 1);
  image.pixels = {0.0f, 0.1f, 0.2f, 0.3f};
  const Image half = resize_nearest(image, 2, 1);  // centres at 1.0 and 3.0 -> pixels 1 and 3
  EXPECT_EQ(half.pixels[0], 0.1f);
  EXPECT_EQ(half.pixels[1], 0.3f);
  const Image twice = resize_nearest(image, 8, 1);
  EXPECT_EQ(twice.pixels[0], 0.0f);
  EXPECT_EQ(twice.pixels[1], 0.0f);
  EXPECT_EQ(twice.pixels[7], 0.3f);
  EXPECT_THROW(resize_nearest(image, 0, 1), ImageError);
}

}  // namespace
}  // namespace seqnet
