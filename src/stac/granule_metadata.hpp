#pragma once
// Facts read from a granule's metadata file (MTD_TL.xml, the `granule-metadata` asset), for
// items whose STAC properties lack them.

#include <optional>
#include <string_view>

namespace s2prep::stac {

struct MeanSunAngles {
  double zenith_deg = 0;
  double azimuth_deg = 0;  // clockwise from north
};

// The tile's Mean_Sun_Angle (Geometric_Info/Tile_Angles). nullopt when the text is not XML or
// has no readable mean sun angle.
std::optional<MeanSunAngles> parse_mean_sun_angles(std::string_view mtd_tl_xml);

}  // namespace s2prep::stac
