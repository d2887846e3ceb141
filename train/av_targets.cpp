// av_targets.cpp: the names of ArteryVeinTargets (av_targets.h).
#include "train/av_targets.h"

#include <stdexcept>

namespace seqnet {

std::string to_string(ArteryVeinTargets targets) { return targets == ArteryVeinTargets::both ? "both" : "original"; }

ArteryVeinTargets artery_vein_targets_from(const std::string& name) {
  if (name == "original") return ArteryVeinTargets::original;
  if (name == "both") return ArteryVeinTargets::both;
  throw std::invalid_argument("artery/vein targets must be 'original' or 'both', got '" + name + "'");
}

}  // namespace seqnet
