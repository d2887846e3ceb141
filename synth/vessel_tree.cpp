// vessel_tree.cpp: the vessel growth of vessel_tree.h.
#include "synth/vessel_tree.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace seqnet::synth {

namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kDegree = kPi / 180.0;

// A vessel waiting to be grown: where it starts, where it heads, how thick it is.
struct Sprout {
  double x, y, angle, radius;
  VesselType type;
  int generation;        // 0 for a trunk from the disc, +1 per branching
  // A temporal arcade is pulled towards each waypoint in turn until it comes near it.
  int waypoints = 0;
  double waypoint_x[2] = {0, 0}, waypoint_y[2] = {0, 0};
};

// The angle difference a - b wrapped into (-pi, pi].
double angle_difference(double a, double b) {
  double d = std::fmod(a - b, 2 * kPi);
  if (d > kPi) d -= 2 * kPi;
  if (d <= -kPi) d += 2 * kPi;
  return d;
}

class TreeGrower {
 public:
  TreeGrower(const FundusLayout& layout, Random& random) : l_(layout), random_(random) {}

  void grow_all(std::vector<Sprout> sprouts) {
    pending_ = std::move(sprouts);
    // Depth first, in a fixed order, so that a seed always grows the same trees.
    while (!pending_.empty()) {
      Sprout s = pending_.back();
      pending_.pop_back();
      grow(s);
    }
  }

  std::vector<VesselSegment> segments;

 private:
  const FundusLayout& l_;
  Random& random_;
  std::vector<Sprout> pending_;

  // Thinner than this, a vessel is no longer drawn (about one pixel across at DRIVE size).
  double min_radius() const { return std::max(0.5, 0.55 * l_.scale); }

  // Distance along a vessel to its next branch: thick vessels branch less often.
  double branch_spacing(double radius) {
    double mean = (30.0 + 8.0 * radius / l_.scale) * l_.scale;
    return mean * random_.uniform(0.5, 1.5);
  }

  void grow(Sprout s) {
    const double step = 2.0 * l_.scale;
    const double taper_length = 800.0 * l_.scale;      // radius falls by 1/e over this length
    const double fovea_clear = 0.45 * l_.disc_radius;  // the foveal avascular zone
    const double edge = l_.fov_radius - 2.0 * l_.scale;
    double x = s.x, y = s.y, angle = s.angle, radius = s.radius, curvature = 0;
    int reached = 0;  // waypoints passed
    double to_branch = branch_spacing(radius) * (s.generation == 0 ? 0.6 : 1.0);
    // Radians per step; thin vessels wander more than trunks. The step scales with the image,
    // so a vessel bends the same at every size.
    const double wander = s.generation == 0 ? 0.006 : 0.011;
    for (int n = 0; n < 4000; ++n) {
      // Curvature: a mean-reverting random walk, so the direction bends smoothly.
      curvature = 0.88 * curvature + wander * random_.normal();
      angle += curvature;
      if (reached < s.waypoints) {
        double dx = s.waypoint_x[reached] - x, dy = s.waypoint_y[reached] - y;
        angle += 0.04 * angle_difference(std::atan2(dy, dx), angle);
        // Reached when near, or once passed temporally (turning back would kink the arcade).
        if (std::hypot(dx, dy) < 0.2 * l_.fov_radius || -dx * l_.temporal > 0) ++reached;
      } else {
        // A weak pull away from the disc keeps vessels spreading outwards instead of curling back.
        double away = std::atan2(y - l_.disc_y, x - l_.disc_x);
        double d = angle_difference(away, angle);
        if (std::abs(d) > 70 * kDegree) angle += 0.02 * d;
      }
      // Only thin vessels approach the fovea: thicker ones bend around the macula.
      double from_macula = std::hypot(x - l_.macula_x, y - l_.macula_y);
      if (radius > 1.1 * l_.scale && from_macula < 2.6 * l_.disc_radius) {
        double away = std::atan2(y - l_.macula_y, x - l_.macula_x);
        double d = angle_difference(away, angle);
        if (std::abs(d) > 80 * kDegree) angle += 0.03 * d;
      }
      double nx = x + step * std::cos(angle), ny = y + step * std::sin(angle);
      double next_radius = radius * std::exp(-step / taper_length);
      if (std::hypot(nx - l_.centre_x, ny - l_.centre_y) > edge - next_radius) break;
      if (std::hypot(nx - l_.macula_x, ny - l_.macula_y) < fovea_clear + next_radius) break;
      segments.push_back({x, y, nx, ny, radius, next_radius, s.type});
      x = nx;
      y = ny;
      radius = next_radius;
      if (radius < min_radius()) break;

      to_branch -= step;
      if (to_branch > 0 || s.generation >= 9) continue;
      to_branch = branch_spacing(radius);
      branch(x, y, angle, radius, s);
    }
  }

  // Splits the vessel at (x, y): queues a branch and thins and deflects the continuing vessel.
  void branch(double x, double y, double& angle, double& radius, const Sprout& parent) {
    // Mostly small side branches, sometimes a near-even fork.
    double ratio = random_.chance(0.12) ? random_.uniform(0.70, 0.82) : random_.uniform(0.3, 0.62);
    double branch_radius = radius * ratio;
    double continuing = std::cbrt(radius * radius * radius - branch_radius * branch_radius * branch_radius);
    int side = random_.sign();
    double branch_angle = angle + side * random_.uniform(35, 75) * kDegree;
    // A branch heading back towards the disc grows on the other side instead.
    double away = std::atan2(y - l_.disc_y, x - l_.disc_x);
    if (std::abs(angle_difference(branch_angle, away)) > 110 * kDegree) {
      side = -side;
      branch_angle = angle + side * random_.uniform(35, 75) * kDegree;
    }
    angle -= side * ratio * random_.uniform(5, 15) * kDegree;  // the parent bends away from its branch
    radius = continuing;
    if (branch_radius < min_radius()) return;
    Sprout b{x, y, branch_angle, branch_radius, parent.type, parent.generation + 1};
    pending_.push_back(b);
  }
};

// The trunks of one tree leaving the disc; arteries and veins get their own, slightly offset.
void add_trunks(const FundusLayout& l, Random& random, VesselType type, bool inner, std::vector<Sprout>& sprouts) {
  const bool vein = type == VesselType::vein;
  const double base = (vein ? 3.6 : 2.7) * l.scale * random.uniform(0.9, 1.1);
  const double R = l.fov_radius;
  const double temporal_angle = l.temporal > 0 ? 0.0 : kPi;  // direction from disc to macula
  const double nasal_angle = temporal_angle + kPi;
  auto start = [&](double angle, double radius) {
    double ox = random.uniform(-0.25, 0.25) * l.disc_radius, oy = random.uniform(-0.25, 0.25) * l.disc_radius;
    return Sprout{l.disc_x + ox, l.disc_y + oy, angle, radius, type, 0};
  };
  for (int up : {-1, 1}) {  // -1 superior (upwards in the image), +1 inferior
    // Temporal arcade: leaves the disc steeply, then arches around the macula. The artery and
    // the vein of an arcade run side by side, one inside the other (`inner` says which).
    double tilt = (random.uniform(18, 30) + (inner ? 14 : 0)) * kDegree;
    double leave = up * kPi / 2 - up * l.temporal * tilt;
    Sprout arcade = start(leave, base);
    double spread = inner ? random.uniform(0.0, 0.04) : random.uniform(0.08, 0.14);
    arcade.waypoints = 2;
    arcade.waypoint_x[0] = l.disc_x + l.temporal * R * random.uniform(0.15, 0.3);
    arcade.waypoint_y[0] = l.disc_y + up * R * (0.32 + spread);
    arcade.waypoint_x[1] = l.macula_x + l.temporal * R * random.uniform(0.45, 0.65);
    arcade.waypoint_y[1] = l.macula_y + up * R * (0.42 + spread);
    sprouts.push_back(arcade);
    // Nasal vessel: smaller, towards the nasal side, up or down.
    double nasal = nasal_angle - up * l.temporal * random.uniform(20, 55) * kDegree;
    sprouts.push_back(start(nasal, base * random.uniform(0.6, 0.75)));
  }
  // A few small vessels: straight nasal ones and macular ones heading for the fovea.
  sprouts.push_back(start(nasal_angle + random.uniform(-15, 15) * kDegree, base * random.uniform(0.35, 0.5)));
  int macular = random.chance(0.5) ? 1 : 2;
  for (int i = 0; i < macular; ++i)
    sprouts.push_back(start(temporal_angle + random.uniform(-25, 25) * kDegree, base * random.uniform(0.22, 0.32)));
}

}  // namespace

std::vector<VesselSegment> grow_vessel_trees(const FundusLayout& layout, Random& random) {
  std::vector<Sprout> sprouts;
  const bool vein_inner = random.chance(0.5);
  add_trunks(layout, random, VesselType::vein, vein_inner, sprouts);
  add_trunks(layout, random, VesselType::artery, !vein_inner, sprouts);
  TreeGrower grower(layout, random);
  grower.grow_all(std::move(sprouts));
  return std::move(grower.segments);
}

}  // namespace seqnet::synth
