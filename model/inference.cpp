// inference.cpp: whole-image and tiled prediction of one photograph (inference.h).
#include "model/inference.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels/ops.h"
#include "preprocess/field_of_view.h"
#include "preprocess/input_normalisation.h"

namespace seqnet {
namespace {

// Windows run through the model this many at a time in tiled mode (one batch of N windows).
constexpr int kWindowsPerBatch = 8;

// Mirror reflection without repeating the edge pixel (numpy's "reflect": -1 -> 1, n -> n-2),
// folded until it lands inside [0, n).
int reflect(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// The first coordinate of every window of side `window` along a side of `side` pixels: every
// `stride`, and a last one aligned to the far border so that the whole side is covered.
std::vector<int> window_starts(int side, int window, int stride) {
  std::vector<int> starts;
  for (int s = 0; s + window < side; s += stride) starts.push_back(s);
  starts.push_back(side - window);
  return starts;
}

// Planar canvas (3, side, side) holding the square image `rgb` (S x S, interleaved) at the top
// left, reflect-padded on the right and at the bottom when side > S. Reflection rather than
// zeros keeps the vessels running into the padding instead of ending at an artificial edge.
std::vector<float> padded_canvas(const Image& rgb, int side) {
  std::vector<float> canvas(size_t(3) * side * side);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x)
      for (int c = 0; c < 3; ++c)
        canvas[(size_t(c) * side + y) * side + x] = rgb.at(reflect(y, rgb.height), reflect(x, rgb.width), c);
  return canvas;
}

// Sums of the three probability maps over every window covering a pixel, and how many did.
struct Accumulator {
  std::vector<float> sum;    // (3, side, side): vessel, artery, vein
  std::vector<float> count;  // (side, side)
};

// One window: cut at (y, x) from a planar canvas (3, side, side), added into `acc`.
struct Window {
  const std::vector<float>* canvas;
  Accumulator* acc;
  int y, x;
};

// Runs the model on `windows`, each window x window, all in one batch, and adds their
// probabilities to their accumulators. The windows may come from different photographs' canvases
// of one side: evaluation-mode layers treat every item of a batch on its own.
//
// The outputs are the sigmoid of the LAST segmentation head s_T and the LAST classification head
// c_U: the refined results the model is trained towards (the earlier heads are deep supervision).
void add_windows(SeqNet& model, int side, const std::vector<Window>& windows, int window) {
  const int n = int(windows.size());
  const size_t plane = size_t(window) * window;
  std::vector<float> batch(size_t(n) * 3 * plane);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < window; ++y) {
        const float* row = &(*windows[i].canvas)[(size_t(c) * side + windows[i].y + y) * side + windows[i].x];
        std::copy(row, row + window, &batch[(size_t(i) * 3 + c) * plane + size_t(y) * window]);
      }
  const Tensor x = Tensor::from_vector({n, 3, window, window}, batch).to(model.device());
  const SeqNetOutputs& logits = model.forward(x, Mode{});

  Tensor seg = Tensor::empty(logits.seg.back().shape(), model.device());
  Tensor cls = Tensor::empty(logits.cls.back().shape(), model.device());
  ops::sigmoid_forward(seg, logits.seg.back());
  ops::sigmoid_forward(cls, logits.cls.back());
  const std::vector<float> vessel = seg.to_floats();  // (n,1,w,w)
  const std::vector<float> av = cls.to_floats();      // (n,2,w,w): artery, vein

  for (int i = 0; i < n; ++i) {
    Accumulator& acc = *windows[i].acc;
    for (int y = 0; y < window; ++y)
      for (int x0 = 0; x0 < window; ++x0) {
        const size_t at = size_t(windows[i].y + y) * side + windows[i].x + x0;
        const size_t in = size_t(y) * window + x0;
        acc.sum[at] += vessel[size_t(i) * plane + in];
        acc.sum[size_t(side) * side + at] += av[(size_t(i) * 2 + 0) * plane + in];
        acc.sum[size_t(2) * side * side + at] += av[(size_t(i) * 2 + 1) * plane + in];
        acc.count[at] += 1.0f;
      }
  }
}

}  // namespace

void InferenceSettings::validate(const ModelConfig& config) const {
  const int multiple = config.size_multiple();
  if (size < 1 || size > 8192) throw std::invalid_argument("--size must be 1 to 8192 pixels, got " + std::to_string(size));
  if (!tiled) return;
  if (tile < multiple || tile % multiple != 0)
    throw std::invalid_argument("--tile must be a positive multiple of " + std::to_string(multiple) +
                                " (the model's size multiple), got " + std::to_string(tile));
  if (stride < 1 || stride > tile)
    throw std::invalid_argument("--stride must be 1 to the tile size " + std::to_string(tile) + ", got " +
                                std::to_string(stride));
}

namespace {

// The image mirrored left-right and/or top-bottom (its own inverse).
Image mirrored(const Image& image, bool left_right, bool top_bottom) {
  Image out(image.width, image.height, image.channels);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      for (int c = 0; c < image.channels; ++c)
        out.at(y, x, c) = image.at(top_bottom ? image.height - 1 - y : y, left_right ? image.width - 1 - x : x, c);
  return out;
}

// The three probability maps (vessel, artery, vein as channels) of each square working image:
// whole, all squares go through the model as one batch; tiled, one square's windows at a time.
std::vector<Image> square_maps(SeqNet& model, const std::vector<Image>& squares, const InferenceSettings& settings) {
  const int size = settings.size;
  // Whole image: the square padded up to the model's size multiple. Tiled: padded only when the
  // square is smaller than one tile (windows are already multiples).
  const int multiple = model.config().size_multiple();
  const int side = settings.tiled ? std::max(size, settings.tile) : (size + multiple - 1) / multiple * multiple;

  const size_t n = squares.size();
  std::vector<std::vector<float>> canvases(n);
  std::vector<Accumulator> accs(n);
  for (size_t i = 0; i < n; ++i) {
    canvases[i] = padded_canvas(squares[i], side);
    accs[i] = {std::vector<float>(size_t(3) * side * side, 0.0f), std::vector<float>(size_t(side) * side, 0.0f)};
  }
  if (!settings.tiled) {
    std::vector<Window> whole;
    for (size_t i = 0; i < n; ++i) whole.push_back({&canvases[i], &accs[i], 0, 0});
    add_windows(model, side, whole, side);
  } else {
    for (size_t i = 0; i < n; ++i) {
      std::vector<Window> windows;
      for (int y : window_starts(side, settings.tile, settings.stride))
        for (int x : window_starts(side, settings.tile, settings.stride)) windows.push_back({&canvases[i], &accs[i], y, x});
      for (size_t first = 0; first < windows.size(); first += kWindowsPerBatch) {
        const size_t last = std::min(windows.size(), first + kWindowsPerBatch);
        add_windows(model, side, {windows.begin() + first, windows.begin() + last}, settings.tile);
      }
    }
  }

  // The average over windows, cropped to the square.
  std::vector<Image> maps;
  for (const Accumulator& acc : accs) {
    Image square(size, size, 3);
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const size_t at = size_t(y) * side + x;
        for (int c = 0; c < 3; ++c) square.at(y, x, c) = acc.sum[size_t(c) * side * side + at] / acc.count[at];
      }
    maps.push_back(std::move(square));
  }
  return maps;
}

// One model's three maps of each photograph at the working size (channels vessel, artery, vein),
// the mirror images' maps averaged in with `flips`.
std::vector<Image> working_size_maps(SeqNet& model, const std::vector<Image>& photos,
                                     const InferenceSettings& settings) {
  settings.validate(model.config());
  std::vector<Image> squares;
  for (const Image& photo : photos) {
    // (to_rgb would copy an RGB photograph whole: 28 MB at 1620x1444, for nothing.)
    squares.push_back(photo.channels == 3 ? resize_bilinear(photo, settings.size, settings.size)
                                          : resize_bilinear(to_rgb(photo), settings.size, settings.size));
    // A model trained on normalised photographs sees them normalised (preprocess/input_normalisation.h).
    if (model.config().input_norm == InputNorm::fov) normalise_photograph(squares.back(), compute_fov(squares.back()));
  }
  std::vector<Image> maps = square_maps(model, squares, settings);
  if (settings.flips) {
    // Each mirror image of every photograph, one batch per mirroring.
    for (const auto& [left_right, top_bottom] : {std::pair{true, false}, {false, true}, {true, true}}) {
      std::vector<Image> flipped;
      for (const Image& square : squares) flipped.push_back(mirrored(square, left_right, top_bottom));
      const std::vector<Image> seen = square_maps(model, flipped, settings);
      for (size_t k = 0; k < maps.size(); ++k) {
        const Image back = mirrored(seen[k], left_right, top_bottom);
        for (size_t i = 0; i < maps[k].pixels.size(); ++i) maps[k].pixels[i] += back.pixels[i];
      }
    }
    for (Image& m : maps)
      for (float& p : m.pixels) p *= 0.25f;
  }
  return maps;
}

}  // namespace

Prediction predict_image(SeqNet& model, const Image& photo, const InferenceSettings& settings) {
  return predict_images(model, {photo}, settings).front();
}

std::vector<Prediction> predict_images(SeqNet& model, const std::vector<Image>& photos,
                                       const InferenceSettings& settings) {
  return predict_images(std::vector<SeqNet*>{&model}, photos, settings);
}

std::vector<Prediction> predict_images(const std::vector<SeqNet*>& models, const std::vector<Image>& photos,
                                       const InferenceSettings& settings) {
  if (models.empty()) throw std::invalid_argument("predict_images: no model given");
  std::vector<Image> maps = working_size_maps(*models.front(), photos, settings);
  for (size_t m = 1; m < models.size(); ++m) {
    const std::vector<Image> more = working_size_maps(*models[m], photos, settings);
    for (size_t k = 0; k < maps.size(); ++k)
      for (size_t i = 0; i < maps[k].pixels.size(); ++i) maps[k].pixels[i] += more[k].pixels[i];
  }
  if (models.size() > 1)
    for (Image& m : maps)
      for (float& p : m.pixels) p /= float(models.size());

  std::vector<Prediction> out;
  for (size_t k = 0; k < photos.size(); ++k) {
    const Image back = resize_bilinear(maps[k], photos[k].width, photos[k].height);
    Prediction p;
    p.width = photos[k].width;
    p.height = photos[k].height;
    const size_t n = size_t(p.width) * p.height;
    p.vessel.resize(n);
    p.artery.resize(n);
    p.vein.resize(n);
    for (size_t i = 0; i < n; ++i) {
      p.vessel[i] = back.pixels[i * 3 + 0];
      p.artery[i] = back.pixels[i * 3 + 1];
      p.vein[i] = back.pixels[i * 3 + 2];
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace seqnet
