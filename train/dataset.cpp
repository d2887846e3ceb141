// dataset.cpp: find_dataset (pairing files by stem), load_labeled (label colours, field of view).
#include "train/dataset.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "io/sha256.h"

namespace seqnet {
namespace fs = std::filesystem;
namespace {

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  static const char* known[] = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif"};
  return p.filename().string()[0] != '.' && std::find(std::begin(known), std::end(known), ext) != std::end(known);
}

// The stem with the dataset suffixes removed, repeatedly: "21_training_mask" -> "21".
std::string pairing_key(std::string stem) {
  static const std::string suffixes[] = {"_mask", "_AVmanual", "_manual1", "_training", "_test"};
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (const std::string& s : suffixes)
      if (stem.size() > s.size() && stem.compare(stem.size() - s.size(), s.size(), s) == 0) {
        stem.resize(stem.size() - s.size());
        stripped = true;
      }
  }
  return stem;
}

// key -> file path for every image file in `folder`; errors for an empty folder or clashing keys.
std::map<std::string, std::string> files_by_key(const fs::path& folder) {
  std::map<std::string, std::string> files;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_regular_file() && is_image_file(entry.path())) paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) throw std::runtime_error("dataset folder " + folder.string() + " holds no image files");
  for (const fs::path& p : paths) {
    const std::string key = pairing_key(p.stem().string());
    auto [it, inserted] = files.emplace(key, p.string());
    if (!inserted)
      throw std::runtime_error("dataset folder " + folder.string() + ": " + it->second + " and " + p.string() +
                               " have the same stem; keep one");
  }
  return files;
}

std::string size_text(const Image& image) { return std::to_string(image.width) + "x" + std::to_string(image.height); }

}  // namespace

std::vector<DatasetItem> find_datasets(const std::vector<std::string>& dirs) {
  std::vector<DatasetItem> items;
  std::map<std::string, std::string> by_file, by_content;  // canonical path, SHA-256 -> the image
  auto refuse_second = [](std::map<std::string, std::string>& seen, const std::string& id, const std::string& image,
                          const char* relation) {
    const auto [first, fresh] = seen.emplace(id, image);
    if (!fresh)
      throw std::runtime_error("the photograph " + image + " is " + relation + " " + first->second +
                               ": give each photograph once (is one --data folder inside another?)");
  };
  for (const std::string& dir : dirs)
    for (const DatasetItem& item : find_dataset(dir)) {
      refuse_second(by_file, fs::canonical(item.image).string(), item.image, "the same file as");
      refuse_second(by_content, sha256_file_hex(item.image), item.image, "a copy of");
      items.push_back(item);
    }
  return items;
}

std::vector<DatasetItem> find_dataset(const std::string& dir) {
  fs::path root = dir;
  if (!fs::is_directory(root / "images") && fs::is_directory(root / "training" / "images")) root /= "training";
  for (const char* sub : {"images", "av"})
    if (!fs::is_directory(root / sub))
      throw std::runtime_error("dataset " + dir + " has no " + sub + "/ folder (expected " + dir + "/{images,av,mask} or " +
                               dir + "/training/{images,av,mask})");
  const auto images = files_by_key(root / "images");
  const auto labels = files_by_key(root / "av");
  const bool has_masks = fs::is_directory(root / "mask");
  const auto masks = has_masks ? files_by_key(root / "mask") : std::map<std::string, std::string>{};

  for (const auto& [key, label] : labels)
    if (!images.count(key)) throw std::runtime_error("label " + label + " has no image in " + (root / "images").string());
  for (const auto& [key, mask] : masks)
    if (!images.count(key)) throw std::runtime_error("mask " + mask + " has no image in " + (root / "images").string());

  std::vector<DatasetItem> items;
  for (const auto& [key, image] : images) {
    auto label = labels.find(key);
    if (label == labels.end()) throw std::runtime_error("image " + image + " has no label in " + (root / "av").string());
    DatasetItem item{image, label->second, ""};
    if (has_masks) {
      auto mask = masks.find(key);
      if (mask == masks.end()) throw std::runtime_error("image " + image + " has no mask in " + (root / "mask").string());
      item.mask = mask->second;
    }
    items.push_back(item);
  }
  std::sort(items.begin(), items.end(), [](const DatasetItem& a, const DatasetItem& b) { return a.image < b.image; });
  return items;
}

void decode_label_colours(const Image& label, const std::string& what, LabeledImage& out) {
  if (label.channels < 3) throw ImageError("label " + what + " is not an RGB image (" + std::to_string(label.channels) + " channels)");
  const size_t n = size_t(label.width) * label.height;
  out.vessel.assign(n, 0);
  out.artery.assign(n, 0);
  out.vein.assign(n, 0);
  out.label_class.assign(n, uint8_t(LabelClass::background));
  size_t off_colour = 0;
  for (size_t i = 0; i < n; ++i) {
    const float* p = &label.pixels[i * label.channels];
    const bool r = p[0] >= 0.5f, g = p[1] >= 0.5f, b = p[2] >= 0.5f;
    // A channel within 1/8 of the threshold cannot be told on or off (mid-grey, blurred edges).
    const bool unclear = std::abs(p[0] - 0.5f) < 0.125f || std::abs(p[1] - 0.5f) < 0.125f || std::abs(p[2] - 0.5f) < 0.125f;
    LabelClass c = LabelClass::background;
    bool rite_colour = true;
    if (r && g && b) c = LabelClass::uncertain;
    else if (r && !g && !b) c = LabelClass::artery;
    else if (!r && g && !b) c = LabelClass::crossing;
    else if (!r && !g && b) c = LabelClass::vein;
    else if (r || g || b) rite_colour = false;  // yellow, cyan or magenta: left as background
    if (!rite_colour || unclear) ++off_colour;
    out.label_class[i] = uint8_t(c);
    out.vessel[i] = c != LabelClass::background;
    out.vein[i] = c == LabelClass::vein;
    out.artery[i] = c == LabelClass::artery || c == LabelClass::crossing || c == LabelClass::uncertain;
  }
  const double share = 100.0 * double(off_colour) / double(n);
  if (share > 1.0) {
    char text[64];
    std::snprintf(text, sizeof text, "%.2f%%", share);
    throw std::runtime_error("label " + what + ": " + text +
                             " of the pixels are not one of black, red, green, blue, white (the RITE colours); "
                             "more than 1% means this is not an artery/vein label");
  }
}

LabeledImage load_labeled(const DatasetItem& item) {
  LabeledImage out;
  out.rgb = to_rgb(read_image(item.image));
  out.width = out.rgb.width;
  out.height = out.rgb.height;
  out.name = fs::path(item.image).stem().string();
  const Image label = read_image(item.label);
  if (label.width != out.width || label.height != out.height)
    throw std::runtime_error("label " + item.label + " is " + size_text(label) + " but its image " + item.image + " is " +
                             size_text(out.rgb));
  decode_label_colours(to_rgb(label), item.label, out);
  if (item.mask.empty()) {
    out.fov = compute_fov(out.rgb);
  } else {
    const Image mask = read_image(item.mask);
    if (mask.width != out.width || mask.height != out.height)
      throw std::runtime_error("mask " + item.mask + " is " + size_text(mask) + " but its image " + item.image + " is " +
                               size_text(out.rgb));
    // Any colour channel above 0.5; alpha is left out (stb gives GIFs an opaque alpha channel).
    const int colours = mask.channels >= 3 ? 3 : 1;
    out.fov.assign(size_t(out.width) * out.height, 0);
    for (size_t i = 0; i < out.fov.size(); ++i)
      for (int c = 0; c < colours; ++c) out.fov[i] |= mask.pixels[i * mask.channels + c] > 0.5f;
  }
  return out;
}

LabeledImage resize_labeled(const LabeledImage& item, int size) {
  // The five label maps travel as the channels of one image so they share one nearest lookup.
  const size_t n = size_t(item.width) * item.height;
  Image maps(item.width, item.height, 5);
  for (size_t i = 0; i < n; ++i) {
    maps.pixels[i * 5 + 0] = item.vessel[i];
    maps.pixels[i * 5 + 1] = item.artery[i];
    maps.pixels[i * 5 + 2] = item.vein[i];
    maps.pixels[i * 5 + 3] = item.fov[i];
    maps.pixels[i * 5 + 4] = item.label_class[i];
  }
  const Image small = resize_nearest(maps, size, size);
  LabeledImage out;
  out.rgb = resize_bilinear(item.rgb, size, size);
  out.width = out.height = size;
  out.name = item.name;
  const size_t m = size_t(size) * size;
  for (auto* v : {&out.vessel, &out.artery, &out.vein, &out.fov, &out.label_class}) v->resize(m);
  for (size_t i = 0; i < m; ++i) {
    out.vessel[i] = uint8_t(small.pixels[i * 5 + 0]);
    out.artery[i] = uint8_t(small.pixels[i * 5 + 1]);
    out.vein[i] = uint8_t(small.pixels[i * 5 + 2]);
    out.fov[i] = uint8_t(small.pixels[i * 5 + 3]);
    out.label_class[i] = uint8_t(small.pixels[i * 5 + 4]);
  }
  return out;
}

}  // namespace seqnet
