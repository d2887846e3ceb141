// test_dataset.cpp: pairing files into a dataset, its errors, label colours, the field of view.
#include <filesystem>
#include <string>

#include "io/image.h"
#include "test_support.h"
#include "train/dataset.h"

namespace seqnet {
namespace {
namespace fs = std::filesystem;

struct Rgb {
  float r, g, b;
};

// A w x h PNG filled with one colour, folders created as needed.
void write_solid(const fs::path& path, int w, int h, Rgb colour = {0, 0, 0}) {
  fs::create_directories(path.parent_path());
  Image image(w, h, 3);
  for (int i = 0; i < w * h; ++i) {
    image.pixels[3 * i] = colour.r;
    image.pixels[3 * i + 1] = colour.g;
    image.pixels[3 * i + 2] = colour.b;
  }
  write_png(path.string(), image);
}

template <class F>
std::string runtime_error_of(F f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::runtime_error was thrown";
  return "";
}

TEST(Dataset, PairsDriveStyleNamesWithMasks) {
  test::TempDir dir;
  for (const char* stem : {"21_training", "22_training"}) {
    write_solid(dir.path() / "images" / (std::string(stem) + ".png"), 4, 4);
    write_solid(dir.path() / "av" / (std::string(stem) + ".png"), 4, 4);
    write_solid(dir.path() / "mask" / (std::string(stem) + "_mask.png"), 4, 4);
  }
  const auto items = find_dataset(dir.str());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(fs::path(items[0].image).filename(), "21_training.png");
  EXPECT_EQ(fs::path(items[0].label).filename(), "21_training.png");
  EXPECT_EQ(fs::path(items[0].mask).filename(), "21_training_mask.png");
  EXPECT_EQ(fs::path(items[1].mask).filename(), "22_training_mask.png");
}

TEST(Dataset, PairsManualSuffixesAndTrainingSubfolder) {
  test::TempDir dir;
  const fs::path root = dir.path() / "training";
  write_solid(root / "images" / "05_test.png", 4, 4);
  write_solid(root / "av" / "05_AVmanual.png", 4, 4);
  write_solid(root / "images" / "07.png", 4, 4);
  write_solid(root / "av" / "07_manual1.png", 4, 4);
  const auto items = find_dataset(dir.str());  // DIR/training/{images,av}, no masks
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(fs::path(items[0].label).filename(), "05_AVmanual.png");
  EXPECT_EQ(fs::path(items[1].label).filename(), "07_manual1.png");
  EXPECT_TRUE(items[0].mask.empty());
}

TEST(Dataset, MissingFoldersAreNamed) {
  test::TempDir dir;
  std::string message = runtime_error_of([&] { find_dataset(dir.str()); });
  EXPECT_NE(message.find("images/"), std::string::npos) << message;
  write_solid(dir.path() / "images" / "1.png", 4, 4);
  message = runtime_error_of([&] { find_dataset(dir.str()); });
  EXPECT_NE(message.find("av/"), std::string::npos) << message;
}

TEST(Dataset, EmptyFolderIsNamed) {
  test::TempDir dir;
  write_solid(dir.path() / "images" / "1.png", 4, 4);
  fs::create_directories(dir.path() / "av");
  const std::string message = runtime_error_of([&] { find_dataset(dir.str()); });
  EXPECT_NE(message.find((dir.path() / "av").string()), std::string::npos) << message;
  EXPECT_NE(message.find("no image files"), std::string::npos) << message;
}

TEST(Dataset, ImageWithoutLabelIsNamed) {
  test::TempDir dir;
  write_solid(dir.path() / "images" / "1.png", 4, 4);
  write_solid(dir.path() / "images" / "2.png", 4, 4);
  write_solid(dir.path() / "av" / "1.png", 4, 4);
  const std::string message = runtime_error_of([&] { find_dataset(dir.str()); });
  EXPECT_NE(message.find("2.png"), std::string::npos) << message;
  EXPECT_NE(message.find("no label"), std::string::npos) << message;
}

TEST(Dataset, LabelWithoutImageIsNamed) {
  test::TempDir dir;
  write_solid(dir.path() / "images" / "1.png", 4, 4);
  write_solid(dir.path() / "av" / "1.png", 4, 4);
  write_solid(dir.path() / "av" / "9.png", 4, 4);
  const std::string message = runtime_error_of([&] { find_dataset(dir.str()); });
  EXPECT_NE(message.find("9.png"), std::string::npos) << message;
  EXPECT_NE(message.find("no image"), std::string::npos) << message;
}

TEST(Dataset, DecodesTheFiveColours) {
  test::TempDir dir;
  Image label(5, 1, 3);
  const Rgb colours[5] = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}};
  for (int x = 0; x < 5; ++x) {
    // Slightly off the pure colours, as a JPEG-ish label would be.
    label.at(0, x, 0) = colours[x].r ? 0.9f : 0.08f;
    label.at(0, x, 1) = colours[x].g ? 0.9f : 0.08f;
    label.at(0, x, 2) = colours[x].b ? 0.9f : 0.08f;
  }
  LabeledImage out;
  decode_label_colours(label, "five.png", out);
  const std::vector<uint8_t> expected_class = {uint8_t(LabelClass::background), uint8_t(LabelClass::artery),
                                               uint8_t(LabelClass::crossing), uint8_t(LabelClass::vein),
                                               uint8_t(LabelClass::uncertain)};
  EXPECT_EQ(out.label_class, expected_class);
  EXPECT_EQ(out.vessel, (std::vector<uint8_t>{0, 1, 1, 1, 1}));
  EXPECT_EQ(out.artery, (std::vector<uint8_t>{0, 1, 1, 0, 1}));  // red, green and white train as artery
  EXPECT_EQ(out.vein, (std::vector<uint8_t>{0, 0, 0, 1, 0}));
}

TEST(Dataset, OffColourShareAboveOnePercentIsAnError) {
  for (Rgb off : {Rgb{1, 1, 0}, Rgb{0, 1, 1}, Rgb{1, 0, 1}, Rgb{0.5f, 0.5f, 0.5f}}) {
    Image label(10, 10, 3);  // 100 pixels, black
    LabeledImage out;
    label.at(3, 3, 0) = off.r, label.at(3, 3, 1) = off.g, label.at(3, 3, 2) = off.b;
    EXPECT_NO_THROW(decode_label_colours(label, "one.png", out));  // 1% is tolerated
    label.at(4, 4, 0) = off.r, label.at(4, 4, 1) = off.g, label.at(4, 4, 2) = off.b;
    const std::string message = runtime_error_of([&] { decode_label_colours(label, "two.png", out); });
    EXPECT_NE(message.find("two.png"), std::string::npos) << message;
    EXPECT_NE(message.find("2.00%"), std::string::npos) << message;
  }
}

TEST(Dataset, LabelSizeMismatchNamesBothSizes) {
  test::TempDir dir;
  write_solid(dir.path() / "images" / "1.png", 8, 6);
  write_solid(dir.path() / "av" / "1.png", 7, 6);
  const auto items = find_dataset(dir.str());
  const std::string message = runtime_error_of([&] { load_labeled(items.at(0)); });
  EXPECT_NE(message.find("7x6"), std::string::npos) << message;
  EXPECT_NE(message.find("8x6"), std::string::npos) << message;
  EXPECT_NE(message.find(items[0].label), std::string::npos) << message;
}

TEST(Dataset, LoadsDriveItemWithMask) {
  SEQNET_REQUIRE_DATA(data);
  const auto items = find_dataset(data + "/DRIVE_AV");  // the training/ layout
  ASSERT_EQ(items.size(), 20u);
  EXPECT_FALSE(items[0].mask.empty());
  const LabeledImage item = load_labeled(items[0]);
  EXPECT_EQ(item.name, "21_training");
  EXPECT_EQ(item.width, 565);
  EXPECT_EQ(item.height, 584);
  size_t vessel = 0, fov = 0;
  for (size_t i = 0; i < item.vessel.size(); ++i) {
    vessel += item.vessel[i];
    fov += item.fov[i];
    ASSERT_LE(item.artery[i] + item.vein[i], item.vessel[i]);  // artery and vein are disjoint vessel parts
  }
  const double pixels = double(item.vessel.size());
  EXPECT_GT(vessel / pixels, 0.05);  // DRIVE vessels cover about 8-12%
  EXPECT_LT(vessel / pixels, 0.15);
  EXPECT_GT(fov / pixels, 0.6);
  EXPECT_LT(fov / pixels, 0.8);

  const LabeledImage small = resize_labeled(item, 576);
  EXPECT_EQ(small.width, 576);
  EXPECT_EQ(small.rgb.width, 576);
  EXPECT_EQ(small.rgb.height, 576);
  EXPECT_EQ(small.vessel.size(), 576u * 576u);
  EXPECT_EQ(small.label_class.size(), 576u * 576u);
}

double fov_iou(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  size_t both = 0, either = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    both += a[i] && b[i];
    either += a[i] || b[i];
  }
  return double(both) / double(std::max<size_t>(either, 1));
}

TEST(Dataset, ComputedFovMatchesTheGivenMasks) {
  SEQNET_REQUIRE_DATA(data);
  for (const char* set : {"DRIVE_AV", "LES_AV"}) {
    for (const DatasetItem& item : find_dataset(data + "/" + set)) {
      const LabeledImage given = load_labeled(item);
      const double iou = fov_iou(compute_fov(given.rgb), given.fov);
      EXPECT_GE(iou, 0.95) << item.image;
    }
  }
}

}  // namespace
}  // namespace seqnet
