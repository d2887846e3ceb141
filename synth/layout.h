// layout.h: where things sit in a synthetic fundus photograph: the circular field of view, the
// optic disc and the macula. Lengths are pixels; y grows downwards as in the image.
#pragma once

#include "synth/random.h"

namespace seqnet::synth {

struct FundusLayout {
  int width = 0, height = 0;
  double centre_x = 0, centre_y = 0, fov_radius = 0;  // the circular field of view
  double disc_x = 0, disc_y = 0, disc_radius = 0;     // the optic disc
  double macula_x = 0, macula_y = 0;                  // the centre of the macula (the fovea)
  int temporal = 1;  // +1 when the macula lies right of the disc (a left eye), -1 otherwise
  // fov_radius / 268: every length is tuned on DRIVE (565x584, field of view radius ~268 px)
  // and multiplied by this, so other sizes draw the same anatomy.
  double scale = 1;
};

// A random layout like DRIVE's: the field of view nearly fills the shorter side, the disc
// (~1/10 of the image width across) sits ~1/4 in from the left or right, the macula lies
// ~2.5 disc diameters temporal of it and a little lower.
FundusLayout random_layout(int width, int height, Random& random);

}  // namespace seqnet::synth
