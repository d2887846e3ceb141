// layout.cpp: the random fundus layout of layout.h.
#include "synth/layout.h"

#include <algorithm>

namespace seqnet::synth {

FundusLayout random_layout(int width, int height, Random& random) {
  FundusLayout l;
  l.width = width;
  l.height = height;
  l.centre_x = width / 2.0 + random.uniform(-0.01, 0.01) * width;
  l.centre_y = height / 2.0 + random.uniform(-0.01, 0.01) * height;
  l.fov_radius = 0.474 * std::min(width, height) * random.uniform(0.97, 1.0);
  l.scale = l.fov_radius / 268.0;
  const double R = l.fov_radius;

  l.temporal = random.sign();
  l.disc_radius = R * random.uniform(0.11, 0.14);
  l.disc_x = l.centre_x - l.temporal * R * random.uniform(0.58, 0.70);
  l.disc_y = l.centre_y + R * random.uniform(-0.10, 0.08);
  // The fovea is ~2.5 disc diameters from the disc centre, slightly below it.
  const double distance = 2.5 * 2.0 * l.disc_radius * random.uniform(0.9, 1.1);
  l.macula_x = l.disc_x + l.temporal * distance;
  l.macula_y = l.disc_y + R * random.uniform(0.02, 0.10);
  return l;
}

}  // namespace seqnet::synth
