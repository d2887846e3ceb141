// skeleton.cpp: components, Zhang-Suen thinning, redundant-pixel removal and spur pruning
// (steps 1 and 2 of eval/postprocess.h).
#include "eval/skeleton.h"

#include <algorithm>
#include <limits>

namespace seqnet {

int BinaryMask::count() const { return static_cast<int>(std::count(on.begin(), on.end(), uint8_t{1})); }

int count_neighbours(const BinaryMask& mask, int x, int y) {
  int n = 0;
  for (int k = 0; k < 8; ++k) n += mask.get(x + kNeighbourDx[k], y + kNeighbourDy[k]);
  return n;
}

Components label_components(const BinaryMask& mask) {
  Components c;
  c.label.assign(mask.on.size(), -1);
  std::vector<int32_t> stack;
  for (int y = 0; y < mask.height; ++y)
    for (int x = 0; x < mask.width; ++x) {
      const size_t start = size_t(y) * mask.width + x;
      if (!mask.on[start] || c.label[start] >= 0) continue;
      const int32_t id = static_cast<int32_t>(c.sizes.size());
      int64_t size = 0;
      c.label[start] = id;
      stack.assign(1, static_cast<int32_t>(start));
      while (!stack.empty()) {  // depth-first flood fill over 8-neighbours
        const int32_t p = stack.back();
        stack.pop_back();
        ++size;
        const int px = p % mask.width, py = p / mask.width;
        for (int k = 0; k < 8; ++k) {
          const int nx = px + kNeighbourDx[k], ny = py + kNeighbourDy[k];
          if (!mask.get(nx, ny)) continue;
          const size_t q = size_t(ny) * mask.width + nx;
          if (c.label[q] >= 0) continue;
          c.label[q] = id;
          stack.push_back(static_cast<int32_t>(q));
        }
      }
      c.sizes.push_back(size);
    }
  return c;
}

int remove_small_components(BinaryMask& mask, int min_pixels) {
  const Components c = label_components(mask);
  for (size_t i = 0; i < mask.on.size(); ++i)
    if (c.label[i] >= 0 && c.sizes[c.label[i]] < min_pixels) mask.on[i] = 0;
  return static_cast<int>(std::count_if(c.sizes.begin(), c.sizes.end(), [&](int64_t s) { return s < min_pixels; }));
}

namespace {

// The indices of the set pixels, in raster order.
std::vector<size_t> set_pixels(const BinaryMask& mask) {
  std::vector<size_t> pixels;
  for (size_t i = 0; i < mask.on.size(); ++i)
    if (mask.on[i]) pixels.push_back(i);
  return pixels;
}

// P2..P9 of (x, y) as 0/1.
void neighbourhood(const BinaryMask& mask, int x, int y, int p[8]) {
  for (int k = 0; k < 8; ++k) p[k] = mask.get(x + kNeighbourDx[k], y + kNeighbourDy[k]);
}

// One Zhang-Suen sub-iteration over the set pixels `alive` (their indices); returns whether it
// unset anything, and leaves in `alive` those still set. A pixel goes when it has 2 to 6
// neighbours, exactly one 0->1 transition around P2..P9,P2 (so it lies on a simple border), and
// (first pass) P2*P4*P6 = P4*P6*P8 = 0, i.e. it is on a south or east border or a north-west
// corner; (second pass) P2*P4*P8 = P2*P6*P8 = 0, the opposite borders. Every pixel is judged on
// the mask as the pass found it (the removals wait to the end), so the order of `alive` does not
// matter, and visiting only the set pixels (the vessels: under a tenth of a photograph) instead
// of every pixel of the image gives the same result.
bool zhang_suen_pass(BinaryMask& mask, bool first, std::vector<size_t>& alive) {
  std::vector<size_t> remove, kept;
  kept.reserve(alive.size());
  int p[8];
  for (size_t i : alive) {
    const int x = int(i % size_t(mask.width)), y = int(i / size_t(mask.width));
    neighbourhood(mask, x, y, p);
    int neighbours = 0, transitions = 0;
    for (int k = 0; k < 8; ++k) {
      neighbours += p[k];
      transitions += (p[k] == 0 && p[(k + 1) % 8] == 1);
    }
    // p[0]=P2 (N), p[2]=P4 (E), p[4]=P6 (S), p[6]=P8 (W)
    const bool border = first ? (p[0] * p[2] * p[4] == 0 && p[2] * p[4] * p[6] == 0)
                              : (p[0] * p[2] * p[6] == 0 && p[0] * p[4] * p[6] == 0);
    if (neighbours >= 2 && neighbours <= 6 && transitions == 1 && border) remove.push_back(i);
    else kept.push_back(i);
  }
  for (size_t i : remove) mask.on[i] = 0;
  alive.swap(kept);
  return !remove.empty();
}

// Yokoi's 8-connectivity number: the number of 8-connected neighbour groups that removing the
// pixel would separate. With x_k the ring E, NE, N, NW, W, SW, S, SE and xb = 1 - x:
//   N8 = sum over k in {E, N, W, S} of xb_k - xb_k * xb_{k+1} * xb_{k+2}.
// N8 = 1 means the pixel is simple: removing it keeps the topology.
int yokoi_connectivity_8(const BinaryMask& mask, int x, int y) {
  static constexpr int ring_dx[8] = {1, 1, 0, -1, -1, -1, 0, 1};
  static constexpr int ring_dy[8] = {0, -1, -1, -1, 0, 1, 1, 1};
  int xb[8];
  for (int k = 0; k < 8; ++k) xb[k] = 1 - mask.get(x + ring_dx[k], y + ring_dy[k]);
  int n = 0;
  for (int k = 0; k < 8; k += 2) n += xb[k] - xb[k] * xb[(k + 1) % 8] * xb[(k + 2) % 8];
  return n;
}

}  // namespace

void thin_zhang_suen(BinaryMask& mask) {
  std::vector<size_t> alive = set_pixels(mask);
  bool changed = true;
  while (changed) {
    changed = zhang_suen_pass(mask, true, alive);
    changed = zhang_suen_pass(mask, false, alive) || changed;
  }
}

// The scans go in raster order and unset a pixel at once (the next pixel sees it gone), as a scan
// of the whole image would; only the set pixels are visited, since an unset one never returns.
void remove_redundant_pixels(BinaryMask& mask) {
  std::vector<size_t> alive = set_pixels(mask);
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i : alive) {
      const int x = int(i % size_t(mask.width)), y = int(i / size_t(mask.width));
      if (mask.on[i] && count_neighbours(mask, x, y) >= 2 && yokoi_connectivity_8(mask, x, y) == 1) {
        mask.on[i] = 0;
        changed = true;
      }
    }
    std::erase_if(alive, [&](size_t i) { return !mask.on[i]; });
  }
}

void prune_spurs(BinaryMask& mask, int min_length) {
  std::vector<std::pair<int, int>> remove;
  for (int y = 0; y < mask.height; ++y)
    for (int x = 0; x < mask.width; ++x) {
      if (!mask.get(x, y) || count_neighbours(mask, x, y) != 1) continue;
      // Walk from the end point along pixels of 2 neighbours until a junction pixel.
      std::vector<std::pair<int, int>> path = {{x, y}};
      int prev_x = -1, prev_y = -1, cx = x, cy = y;
      bool reached_junction = false;
      while (static_cast<int>(path.size()) < min_length) {
        int next_x = -1, next_y = -1;
        for (int k = 0; k < 8 && next_x < 0; ++k) {
          const int nx = cx + kNeighbourDx[k], ny = cy + kNeighbourDy[k];
          if (mask.get(nx, ny) && !(nx == prev_x && ny == prev_y)) next_x = nx, next_y = ny;
        }
        if (next_x < 0) break;  // a lone pixel pair: nothing further
        const int n = count_neighbours(mask, next_x, next_y);
        if (n >= 3) {
          reached_junction = true;
          break;
        }
        if (n == 1) break;  // the other end of an isolated piece
        path.push_back({next_x, next_y});
        prev_x = cx, prev_y = cy, cx = next_x, cy = next_y;
      }
      if (reached_junction) remove.insert(remove.end(), path.begin(), path.end());
    }
  for (const auto& [x, y] : remove) mask.set(x, y, false);
}

BinaryMask skeletonize(const BinaryMask& shape, int spur_length) {
  BinaryMask skeleton = shape;
  thin_zhang_suen(skeleton);
  remove_redundant_pixels(skeleton);
  prune_spurs(skeleton, spur_length);
  remove_redundant_pixels(skeleton);  // a junction left by a pruned spur may now be a corner

  // Components without a skeleton pixel keep the pixel nearest their centroid.
  const Components c = label_components(shape);
  const size_t n = c.sizes.size();
  std::vector<uint8_t> has_skeleton(n, 0);
  std::vector<double> sum_x(n, 0), sum_y(n, 0);
  for (size_t i = 0; i < shape.on.size(); ++i) {
    if (c.label[i] < 0) continue;
    has_skeleton[c.label[i]] |= skeleton.on[i];
    sum_x[c.label[i]] += double(i % shape.width);
    sum_y[c.label[i]] += double(i / shape.width);
  }
  std::vector<double> best_distance(n, std::numeric_limits<double>::max());
  std::vector<size_t> best_pixel(n, 0);
  for (size_t i = 0; i < shape.on.size(); ++i) {
    const int32_t id = c.label[i];
    if (id < 0 || has_skeleton[id]) continue;
    const double dx = double(i % shape.width) - sum_x[id] / double(c.sizes[id]);
    const double dy = double(i / shape.width) - sum_y[id] / double(c.sizes[id]);
    if (dx * dx + dy * dy < best_distance[id]) best_distance[id] = dx * dx + dy * dy, best_pixel[id] = i;
  }
  for (size_t id = 0; id < n; ++id)
    if (!has_skeleton[id]) skeleton.on[best_pixel[id]] = 1;
  return skeleton;
}

}  // namespace seqnet
