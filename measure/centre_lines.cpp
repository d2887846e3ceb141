// centre_lines.cpp: centre lines of the vessel map (centre_lines.h).
#include "measure/centre_lines.h"

#include <algorithm>

namespace seqnet::measure {

std::vector<Point2> ordered_segment(const VesselGraph& g, int32_t segment) {
  const std::vector<int32_t>& pixels = g.segment_pixels[segment];
  auto neighbours_in_segment = [&](int32_t p, auto&& visit) {
    for (int k = 0; k < 8; ++k) {
      const int nx = p % g.width + kNeighbourDx[k], ny = p / g.width + kNeighbourDy[k];
      if (nx < 0 || ny < 0 || nx >= g.width || ny >= g.height) continue;
      const int32_t q = ny * g.width + nx;
      if (g.segment_of[q] == segment) visit(q);
    }
  };
  // An end has one neighbour in the segment (a lone pixel none); a loop has no end.
  int32_t start = pixels.front();
  for (int32_t p : pixels) {
    int count = 0;
    neighbours_in_segment(p, [&](int32_t) { ++count; });
    if (count <= 1) {
      start = p;
      break;
    }
  }
  std::vector<Point2> line;
  std::vector<uint8_t> seen(pixels.size(), 0);
  auto index_of = [&](int32_t p) {  // pixels are sorted (raster order): binary search
    return size_t(std::lower_bound(pixels.begin(), pixels.end(), p) - pixels.begin());
  };
  for (int32_t p = start; p >= 0;) {
    seen[index_of(p)] = 1;
    line.push_back({double(p % g.width), double(p / g.width)});
    // Step to an unseen neighbour, a 4-neighbour first: after a diagonal step's corner pixel the
    // walk would otherwise skip it and end early.
    int32_t next = -1;
    bool next_is_diagonal = true;
    neighbours_in_segment(p, [&](int32_t q) {
      if (seen[index_of(q)]) return;
      const bool diagonal = q % g.width != p % g.width && q / g.width != p / g.width;
      if (next < 0 || (next_is_diagonal && !diagonal)) next = q, next_is_diagonal = diagonal;
    });
    p = next;
  }
  return line;
}

CentreLines trace_centre_lines(const MeasureInput& in, int min_component_pixels, int spur_pixels) {
  return trace_centre_lines(in.vessel, in.fov, in.width, in.height, min_component_pixels, spur_pixels);
}

CentreLines trace_centre_lines(const std::vector<float>& map, const std::vector<uint8_t>& fov, int width, int height,
                               int min_component_pixels, int spur_pixels) {
  CentreLines c;
  c.vessels = BinaryMask(width, height);
  // A photograph without a field of view (none was found) is measured whole, as elsewhere.
  const bool whole = std::find(fov.begin(), fov.end(), 1) == fov.end();
  for (size_t i = 0; i < map.size(); ++i) c.vessels.on[i] = map[i] >= 0.5f && (whole || fov[i]);
  remove_small_components(c.vessels, min_component_pixels);
  c.graph = build_vessel_graph(skeletonize(c.vessels, spur_pixels));
  c.lines.reserve(c.graph.segment_pixels.size());
  for (int32_t s = 0; s < int32_t(c.graph.segment_pixels.size()); ++s) c.lines.push_back(ordered_segment(c.graph, s));
  return c;
}

}  // namespace seqnet::measure
