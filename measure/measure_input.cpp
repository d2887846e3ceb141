// measure_input.cpp: the inputs of the measures (measure_input.h).
#include "measure/measure_input.h"

#include "eval/label_class.h"

namespace seqnet::measure {

std::vector<float> luminance(const Image& photo) {
  std::vector<float> out(size_t(photo.width) * photo.height);
  for (size_t i = 0; i < out.size(); ++i) {
    const float* p = &photo.pixels[i * photo.channels];
    out[i] = photo.channels >= 3 ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : p[0];
  }
  return out;
}

std::vector<float> probability_map(const Image& map, int width, int height, const std::string& what) {
  if (map.channels > 2)
    throw MeasureInputError(what + " has " + std::to_string(map.channels) +
                            " channels; a probability map is a grey image (out_seg, out_art, out_vei of seqnet predict)");
  if (map.width != width || map.height != height)
    throw MeasureInputError(what + " is " + std::to_string(map.width) + "x" + std::to_string(map.height) +
                            " but its photograph is " + std::to_string(width) + "x" + std::to_string(height) +
                            "; the maps must be the photograph's own (predict them from this photograph)");
  std::vector<float> out(size_t(width) * height);
  for (size_t i = 0; i < out.size(); ++i) out[i] = map.pixels[i * map.channels];
  return out;
}

MeasureInput input_from_label_classes(const std::vector<uint8_t>& label_class, const Image& photo,
                                      const std::vector<uint8_t>& fov) {
  MeasureInput in;
  in.width = photo.width;
  in.height = photo.height;
  const size_t n = size_t(in.width) * in.height;
  in.vessel.assign(n, 0.0f);
  in.artery.assign(n, 0.0f);
  in.vein.assign(n, 0.0f);
  for (size_t i = 0; i < n && i < label_class.size(); ++i) {
    const auto c = LabelClass(label_class[i]);
    if (c == LabelClass::background) continue;
    in.vessel[i] = 1.0f;
    const bool uncertain = c == LabelClass::uncertain, crossing = c == LabelClass::crossing;
    in.artery[i] = uncertain ? 0.5f : (c == LabelClass::artery || crossing) ? 1.0f : 0.0f;
    in.vein[i] = uncertain ? 0.5f : (c == LabelClass::vein || crossing) ? 1.0f : 0.0f;
  }
  in.fov = fov;
  in.brightness = luminance(photo);
  return in;
}

void check_input(const MeasureInput& in, const std::string& name) {
  const size_t n = size_t(in.width) * size_t(in.height);
  if (n == 0) throw MeasureInputError(name + ": the maps are empty (0 pixels)");
  auto check = [&](size_t size, const char* what) {
    if (size != n)
      throw MeasureInputError(name + ": the " + what + " has " + std::to_string(size) + " pixels, not " +
                              std::to_string(in.width) + "x" + std::to_string(in.height) + " like the vessel map");
  };
  check(in.vessel.size(), "vessel map");
  check(in.artery.size(), "artery map");
  check(in.vein.size(), "vein map");
  check(in.fov.size(), "field of view");
  check(in.brightness.size(), "photograph");
}

}  // namespace seqnet::measure
