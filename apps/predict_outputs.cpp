// predict_outputs.cpp: the output maps of a photograph (predict_outputs.h).
#include "apps/predict_outputs.h"

#include "eval/metrics.h"

namespace seqnet::cli {
namespace {
namespace fs = std::filesystem;

// How strongly the overlay's red/blue covers the photograph where a vessel is predicted.
constexpr float kOverlayAlpha = 0.6f;

Image grey_image(const std::vector<float>& values, int width, int height) {
  Image image(width, height, 1);
  image.pixels = values;
  return image;
}

// Artery red, vein blue (artery where P_artery >= P_vein), brightness the vessel probability.
Image final_image(const Prediction& p) {
  Image image(p.width, p.height, 3);
  for (size_t i = 0; i < p.vessel.size(); ++i)
    image.pixels[i * 3 + (p.artery[i] >= p.vein[i] ? 0 : 2)] = p.vessel[i];
  return image;
}

// The photograph with pure red (artery) or blue (vein) blended over every predicted vessel pixel.
Image overlay_image(const Image& photo_rgb, const Prediction& p) {
  Image image = photo_rgb;
  for (size_t i = 0; i < p.vessel.size(); ++i) {
    if (p.vessel[i] < kVesselThreshold) continue;
    const bool artery = p.artery[i] >= p.vein[i];
    const float colour[3] = {artery ? 1.0f : 0.0f, 0.0f, artery ? 0.0f : 1.0f};
    for (int c = 0; c < 3; ++c)
      image.pixels[i * 3 + c] = (1 - kOverlayAlpha) * image.pixels[i * 3 + c] + kOverlayAlpha * colour[c];
  }
  return image;
}

std::string png_name(const std::string& key) { return fs::path(key).replace_extension(".png").generic_string(); }

}  // namespace

std::vector<fs::path> output_paths(const fs::path& out, const std::string& key) {
  std::vector<fs::path> paths;
  for (const char* folder : kOutputFolders) paths.push_back(out / folder / png_name(key));
  return paths;
}

bool outputs_complete(const fs::path& out, const std::string& key) {
  const std::vector<fs::path> paths = output_paths(out, key);
  for (auto it = paths.rbegin(); it != paths.rend(); ++it)
    if (!fs::is_regular_file(*it)) return false;
  return true;
}

void write_outputs(const fs::path& out, const std::string& key, const Image& photo_rgb, const Prediction& p) {
  const std::vector<fs::path> paths = output_paths(out, key);
  for (const fs::path& path : paths) fs::create_directories(path.parent_path());
  write_png(paths[0].string(), grey_image(p.vessel, p.width, p.height));
  write_png(paths[1].string(), grey_image(p.artery, p.width, p.height));
  write_png(paths[2].string(), grey_image(p.vein, p.width, p.height));
  write_png(paths[3].string(), final_image(p));
  write_png(paths[4].string(), overlay_image(photo_rgb, p));
}

int remove_leftover_temporary_files(const fs::path& out, const std::set<std::string>& keys) {
  if (keys.empty()) return 0;
  std::set<std::string> names;  // FOLDER/KEY.png, relative to out
  for (const std::string& key : keys)
    for (const char* folder : kOutputFolders) names.insert(std::string(folder) + "/" + png_name(key));
  int removed = 0;
  for (const char* folder : kOutputFolders) {
    if (!fs::is_directory(out / folder)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(out / folder)) {
      const std::string relative = entry.path().lexically_relative(out).generic_string();
      const size_t tmp = relative.rfind(".tmp-");
      if (tmp == std::string::npos || !entry.is_regular_file() || !names.count(relative.substr(0, tmp))) continue;
      std::error_code ignored;  // gone already is as good as removed
      if (fs::remove(entry.path(), ignored)) ++removed;
    }
  }
  return removed;
}

VesselFractions vessel_fractions(const Prediction& p, const std::vector<uint8_t>& fov) {
  size_t inside = 0, vessel = 0, artery = 0;
  for (size_t i = 0; i < p.vessel.size(); ++i) inside += fov[i];
  VesselFractions f;
  f.whole_image = inside == 0;
  for (size_t i = 0; i < p.vessel.size(); ++i) {
    if (!(f.whole_image || fov[i]) || p.vessel[i] < kVesselThreshold) continue;
    ++vessel;
    artery += p.artery[i] >= p.vein[i];
  }
  const double denominator = double(f.whole_image ? p.vessel.size() : inside);
  if (denominator == 0) return f;
  f.vessel = vessel / denominator;
  f.artery = artery / denominator;
  f.vein = (vessel - artery) / denominator;
  return f;
}

}  // namespace seqnet::cli
