// plot.cpp: the training curves picture (plot.h).
#include "train/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "io/drawing.h"

namespace seqnet {

namespace {

constexpr Colour kWhite{1, 1, 1}, kGrid{0.88f, 0.88f, 0.88f}, kAxis{0.3f, 0.3f, 0.3f};
constexpr Colour kRawLoss{0.7f, 0.7f, 0.7f}, kSmoothLoss{0, 0, 0};
constexpr Colour kAuc{0.85f, 0.1f, 0.1f}, kAccuracy{0.1f, 0.25f, 0.85f};
constexpr Colour kText{0.15f, 0.15f, 0.15f};  // not pure black, which is the smoothed loss

// One panel: a rectangle of the image and the data ranges its edges stand for.
struct Panel {
  int left, top, right, bottom;  // pixels, inclusive
  double x_min, x_max, y_min, y_max;

  double px(double x) const { return left + (x - x_min) / (x_max - x_min) * (right - left); }
  double py(double y) const { return bottom - (y - y_min) / (y_max - y_min) * (bottom - top); }
};

std::string number(const char* format, double value) {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
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

// Value labels left of the axis, centred on grid lines `every` apart, and the step range below
// the axis: "step 0" at the left end, "step N" at the right.
void labels(Image& image, const Panel& p, double every, const char* format, int scale) {
  for (double y = p.y_min; y <= p.y_max + 1e-9 * (p.y_max - p.y_min); y += every) {
    const std::string text = number(format, y);
    draw_text(image, p.left - 4 * scale - text_width(text, scale),
              int(std::lround(p.py(y) - kGlyphHeight * scale / 2.0)), text, kText, scale);
  }
  const std::string last = "step " + number("%.0f", p.x_max);
  draw_text(image, p.left, p.bottom + 4 * scale, "step 0", kText, scale);
  draw_text(image, p.right - text_width(last, scale), p.bottom + 4 * scale, last, kText, scale);
}

struct LegendEntry {
  Colour colour;
  std::string name;
};

// The row above a panel: its title at the left; at the right, a swatch and a name per curve.
void header(Image& image, const Panel& p, const std::string& title, const std::vector<LegendEntry>& legend,
            int scale) {
  const int y = p.top - (kGlyphHeight + 6) * scale;
  draw_text(image, p.left, y, title, kText, scale);
  int x = p.right;
  for (auto entry = legend.rbegin(); entry != legend.rend(); ++entry) {
    x -= text_width(entry->name, scale);
    draw_text(image, x, y, entry->name, kText, scale);
    x -= 14 * scale;  // a swatch 10 units long, 4 units before the name
    fill(image, x, y + 2 * scale, x + 10 * scale, y + 5 * scale, entry->colour);
    x -= 10 * scale;  // the space between entries
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
  if (width < 200 || height < 150)
    throw std::invalid_argument("plot_curves: the picture must be at least 200x150 pixels to hold its labels, not " +
                                std::to_string(width) + "x" + std::to_string(height));
  Image image(width, height, 3);
  fill(image, 0, 0, width, height, kWhite);

  double last_step = 1;
  for (const auto* series : {&curves.loss, &curves.vessel_auc, &curves.av_accuracy})
    if (!series->empty()) last_step = std::max(last_step, series->back().step);
  const std::vector<CurvePoint> smooth = smoothed(curves.loss);
  double loss_max = 0;
  for (const CurvePoint& point : smooth)
    if (std::isfinite(point.value)) loss_max = std::max(loss_max, point.value);
  if (loss_max <= 0) loss_max = 1;

  // Layout, top to bottom: margin, title row, loss panel, step row, gap, title row, scores
  // panel, step row, margin. Text is drawn at 2 pixels per font unit where the picture has room.
  const int scale = width >= 600 && height >= 450 ? 2 : 1;
  const int margin = 6 * scale, title_row = 16 * scale, step_row = 12 * scale, gap = 8 * scale;
  const int half = (height - 2 * margin - 2 * title_row - 2 * step_row - gap) / 2;
  int label_width = text_width(number("%.1f", 1.0), scale);
  for (int quarter = 0; quarter <= 4; ++quarter)
    label_width = std::max(label_width, text_width(number("%.3g", loss_max * quarter / 4), scale));
  const int left = margin + label_width + 4 * scale, right = width - margin;

  const int loss_top = margin + title_row;
  const Panel loss{left, loss_top, right, loss_top + half, 0, last_step, 0, loss_max};
  frame(image, loss, loss_max / 4);
  polyline(image, loss, curves.loss, kRawLoss, 1, false);
  polyline(image, loss, smooth, kSmoothLoss, 2, false);
  labels(image, loss, loss_max / 4, "%.3g", scale);
  header(image, loss, "training loss", {{kRawLoss, "loss"}, {kSmoothLoss, "loss (smoothed)"}}, scale);

  const int scores_top = loss.bottom + step_row + gap + title_row;
  const Panel scores{left, scores_top, right, scores_top + half, 0, last_step, 0, 1};
  frame(image, scores, 0.1);
  polyline(image, scores, curves.vessel_auc, kAuc, 2, true);
  polyline(image, scores, curves.av_accuracy, kAccuracy, 2, true);
  labels(image, scores, 0.2, "%.1f", scale);
  header(image, scores, "validation", {{kAuc, "vessel AUC"}, {kAccuracy, "A/V accuracy"}}, scale);
  return image;
}

}  // namespace seqnet
