#pragma once
// Where the sun stands in the sky at a given instant and place on Earth.

#include "core/time.hpp"

namespace s2prep::geo {

struct SolarPosition {
  double zenith_deg = 0;   // 0 = sun overhead, 90 = on the horizon (geometric, no refraction)
  double azimuth_deg = 0;  // clockwise from north, [0, 360)
};

// The sun's geometric position seen from (`lon`, `lat`) in degrees (WGS84) at `when` (UTC).
// Accurate to about 0.01 degree between 1800 and 2100: well within what a shadow search needs.
SolarPosition solar_position(TimePoint when, double lon, double lat);

}  // namespace s2prep::geo
