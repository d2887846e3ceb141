// plot.h: the training curves as a picture (RUNDIR/curves.png), drawn with plain pixel code.
//
// Two panels on white, one above the other, sharing the step axis:
//   top:    training loss per logged step, grey, and its exponential moving average, black;
//           the y range is [0, the largest smoothed loss], grid lines at quarters of it.
//   bottom: validation scores per validation in [0, 1] (grid lines every 0.1): vessel ROC AUC
//           red, artery/vein accuracy blue, each validation marked by a dot.
// Each panel has a title and a legend above it, its values at the grid lines (the scores every
// 0.2) and "step 0" ... "step N" below it; the text is stb_easy_font's, filled pixel by pixel.
#pragma once

#include <vector>

#include "io/image.h"

namespace seqnet {

struct CurvePoint {
  double step = 0, value = 0;
};

struct TrainingCurves {
  std::vector<CurvePoint> loss;          // mean training loss of each logged interval
  std::vector<CurvePoint> vessel_auc;    // one per validation
  std::vector<CurvePoint> av_accuracy;   // one per validation
};

// An RGB image of width x height (at least 200 x 150, room for the labels) showing both panels,
// each with a title, a legend, its value scale at the grid lines and the step range.
Image plot_curves(const TrainingCurves& curves, int width = 800, int height = 600);

}  // namespace seqnet
