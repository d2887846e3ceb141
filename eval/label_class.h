// label_class.h: the colour classes of a ground-truth artery/vein label (the RITE colours), shared
// by the dataset reader (train/dataset.h decodes them) and the evaluation (eval/metrics.h scores them).
#pragma once

#include <cstdint>

namespace seqnet {

// The colour class of a ground-truth pixel: black background, red artery, blue vein, green
// crossing, white uncertain.
enum class LabelClass : uint8_t { background, artery, vein, crossing, uncertain };

}  // namespace seqnet
