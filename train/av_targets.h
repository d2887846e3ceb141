// av_targets.h: what each ground-truth colour teaches the artery and vein heads.
//
// RITE labels have five colours (eval/label_class.h). Artery and vein are plain; the other two
// are a choice:
//   original  (the original SeqNet's): crossing and uncertain are artery; every vessel pixel
//             counts in the artery/vein loss. This teaches "artery" wherever an artery and a vein
//             cross and wherever the graders could not tell, which biases the heads towards artery.
//   both      (RRWNet's): a crossing is artery and vein both (it is both); an uncertain pixel is
//             left out of the artery/vein loss (weight 0), since no answer there is right.
// The segmentation target (vessel) is every labelled pixel either way.
#pragma once

#include <cstdint>
#include <string>

#include "eval/label_class.h"

namespace seqnet {

enum class ArteryVeinTargets { original, both };

std::string to_string(ArteryVeinTargets targets);                   // "original" or "both"
ArteryVeinTargets artery_vein_targets_from(const std::string& name);  // throws std::invalid_argument

// The targets of one pixel: artery and vein (0/1), and its weight in the artery/vein loss (0/1;
// used with `--av-loss vessel`, where it replaces the vessel target as the weight).
struct ArteryVeinTarget {
  uint8_t artery = 0, vein = 0, weight = 0;
};

inline ArteryVeinTarget artery_vein_target(LabelClass c, ArteryVeinTargets targets) {
  switch (c) {
    case LabelClass::background: return {0, 0, 0};
    case LabelClass::artery: return {1, 0, 1};
    case LabelClass::vein: return {0, 1, 1};
    case LabelClass::crossing: return targets == ArteryVeinTargets::both ? ArteryVeinTarget{1, 1, 1} : ArteryVeinTarget{1, 0, 1};
    case LabelClass::uncertain: return targets == ArteryVeinTargets::both ? ArteryVeinTarget{0, 0, 0} : ArteryVeinTarget{1, 0, 1};
  }
  return {};
}

}  // namespace seqnet
