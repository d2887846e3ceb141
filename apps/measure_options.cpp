// measure_options.cpp: --pixel-size and --fov-degrees (measure_options.h).
#include "apps/measure_options.h"

namespace seqnet::cli {

void add_scale_options(Args& args) {
  args.option("pixel-size", "", "micrometres per pixel of the photographs (sets the _um columns)", "UM")
      .option("fov-degrees", "",
              "else the camera's field of view in degrees (e.g. 45; 288 um per degree); without either the disc "
              "is taken as 1800 um across",
              "D");
}

measure::ScaleOption scale_option(const Args& args) {
  if (args.given("pixel-size") && args.given("fov-degrees"))
    throw UsageError("give --pixel-size or --fov-degrees, not both");
  measure::ScaleOption scale;
  if (args.given("pixel-size")) {
    scale.pixel_size_um = args.number("pixel-size");
    if (!(scale.pixel_size_um > 0)) throw UsageError("--pixel-size must be a positive number of micrometres");
  }
  if (args.given("fov-degrees")) {
    scale.fov_degrees = args.number("fov-degrees");
    if (!(scale.fov_degrees > 0 && scale.fov_degrees < 360)) throw UsageError("--fov-degrees must be between 0 and 360");
  }
  return scale;
}

}  // namespace seqnet::cli
