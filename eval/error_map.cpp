// error_map.cpp: see error_map.h.
#include "eval/error_map.h"

#include <stdexcept>
#include <string>

#include "eval/label_class.h"
#include "eval/metrics.h"

namespace seqnet {

Image artery_vein_error_map(std::span<const float> artery_prob, std::span<const float> vein_prob,
                            std::span<const float> vessel_prob, std::span<const uint8_t> classes,
                            std::span<const uint8_t> fov, int width, int height) {
  const size_t n = size_t(width) * size_t(height);
  for (size_t size : {artery_prob.size(), vein_prob.size(), vessel_prob.size(), classes.size(), fov.size()})
    if (size != n)
      throw std::invalid_argument("artery/vein error map: a map has " + std::to_string(size) + " pixels, expected " +
                                  std::to_string(width) + "x" + std::to_string(height));
  Image out(width, height, 3);
  for (size_t i = 0; i < n; ++i) {
    if (!fov[i]) continue;
    float* rgb = &out.pixels[i * 3];
    const auto truth = static_cast<LabelClass>(classes[i]);
    if (truth == LabelClass::artery || truth == LabelClass::vein) {
      const bool right = (artery_prob[i] >= vein_prob[i]) == (truth == LabelClass::artery);
      rgb[right ? 1 : 0] = 1.0f;
    } else if (truth == LabelClass::background && vessel_prob[i] >= kVesselThreshold) {
      rgb[0] = rgb[1] = rgb[2] = 0.45f;
    }
  }
  return out;
}

}  // namespace seqnet
