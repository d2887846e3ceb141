// plot.cpp: the training curves picture (plot.h).
#include "train/plot.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace seqnet {

namespace {

struct Colour {
  float r, g, b;
};
constexpr Colour kWhite{1, 1, 1}, kGrid{0.88f, 0.88f, 0.88f}, kAxis{0.3f, 0.3f, 0.3f};
constexpr Colour kRawLoss{0.7f, 0.7f, 0.7f}, kSmoothLoss{0, 0, 0};
constexpr Colour kAuc{0.85f, 0.1f, 0.1f}, kAccuracy{0.1f, 0.25f, 0.85f};

// One panel: a rectangle of the image and the data ranges its edges stand for.
struct Panel {
  int left, top, right, bottom;  // pixels, inclusive
  double x_min, x_max, y_min, y_max;

  double px(double x) const { return left + (x - x_min) / (x_max - x_min) * (right - left); }
  double py(double y) const { return bottom - (y - y_min) / (y_max - y_min) * (bottom - top); }
};

void put(Image& image, int x, int y, Colour c) {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  image.at(y, x, 0) = c.r;
  image.at(y, x, 1) = c.g;
  image.at(y, x, 2) = c.b;
}

// A line by stepping along its longer axis one pixel at a time (DDA), `thick` pixels wide.
void line(Image& image, double x0, double y0, double x1, double y1, Colour c, int thick = 1) {
  const int steps = std::max(1, int(std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)))));
  for (int i = 0; i <= steps; ++i) {
    const double t = double(i) / steps;
    const int x = int(std::lround(x0 + t * (x1 - x0))), y = int(std::lround(y0 + t * (y1 - y0)));
    for (int dy = 0; dy < thick; ++dy)
      for (int dx = 0; dx < thick; ++dx) put(image, x + dx - thick / 2, y + dy - thick / 2, c);
  }
}

void dot(Image& image, double x, double y, Colour c) {
  for (int dy = -2; dy <= 2; ++dy)
    for (int dx = -2; dx <= 2; ++dx)
      if (dx * dx + dy * dy <= 5) put(image, int(std::lround(x)) + dx, int(std::lround(y)) + dy, c);
}

void frame(Image& image, const Panel& p, double grid_step) {
  for (double y = p.y_min; y <= p.y_max + 1e-9 * (p.y_max - p.y_min); y += grid_step)
    line(image, p.left, p.py(y), p.right, p.py(y), kGrid);
  line(image, p.left, p.top, p.left, p.bottom, kAxis);
  line(image, p.left, p.bottom, p.right, p.bottom, kAxis);
}

void polyline(Image& image, const Panel& p, const std::vector<CurvePoint>& points, Colour c, int thick, bool dots) {
  for (size_t i = 0; i < points.size(); ++i) {
    const double x = p.px(points[i].step), y = p.py(std::clamp(points[i].value, p.y_min, p.y_max));
    if (i > 0) {
      const double xp = p.px(points[i - 1].step), yp = p.py(std::clamp(points[i - 1].value, p.y_min, p.y_max));
      line(image, xp, yp, x, y, c, thick);
    }
    if (dots) dot(image, x, y, c);
  }
}

// Exponential moving average with a window of about 1/alpha points, alpha = 2/(1 + n/10):
// a tenth of the curve, so the trend shows whatever the run's length.
std::vector<CurvePoint> smoothed(const std::vector<CurvePoint>& points) {
  std::vector<CurvePoint> out;
  const double alpha = 2.0 / (1.0 + std::max(1.0, points.size() / 10.0));
  double average = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    average = i == 0 ? points[i].value : alpha * points[i].value + (1 - alpha) * average;
    out.push_back({points[i].step, average});
  }
  return out;
}

}  // namespace

Image plot_curves(const TrainingCurves& curves, int width, int height) {
  if (width < 64 || height < 64) throw std::invalid_argument("plot_curves: the picture must be at least 64x64 pixels");
  Image image(width, height, 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) put(image, x, y, kWhite);

  double last_step = 1;
  for (const auto* series : {&curves.loss, &curves.vessel_auc, &curves.av_accuracy})
    if (!series->empty()) last_step = std::max(last_step, series->back().step);

  const int margin = std::max(8, width / 25), gap = std::max(8, height / 20);
  const int half = (height - 2 * margin - gap) / 2;
  const std::vector<CurvePoint> smooth = smoothed(curves.loss);
  double loss_max = 0;
  for (const CurvePoint& point : smooth)
    if (std::isfinite(point.value)) loss_max = std::max(loss_max, point.value);
  if (loss_max <= 0) loss_max = 1;

  const Panel loss{margin, margin, width - margin, margin + half, 0, last_step, 0, loss_max};
  frame(image, loss, loss_max / 4);
  polyline(image, loss, curves.loss, kRawLoss, 1, false);
  polyline(image, loss, smooth, kSmoothLoss, 2, false);

  const Panel scores{margin, margin + half + gap, width - margin, margin + 2 * half + gap, 0, last_step, 0, 1};
  frame(image, scores, 0.1);
  polyline(image, scores, curves.vessel_auc, kAuc, 2, true);
  polyline(image, scores, curves.av_accuracy, kAccuracy, 2, true);
  return image;
}

}  // namespace seqnet
