#include "geo/solar_position.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace s2prep::geo {
namespace {

// Angle between two azimuths, in degrees (0..180).
double azimuth_gap(double a, double b) {
  const double d = std::fmod(std::abs(a - b), 360.0);
  return d > 180 ? 360 - d : d;
}

struct Reference {
  const char* what;
  const char* time;  // UTC
  double lon, lat;
  double zenith, azimuth;  // published by ESA for the tile
  double tolerance;        // degrees
};

// References published with real Sentinel-2 products, computed by ESA's ground segment, not by
// s2prep:
// - Mean_Sun_Angle and SENSING_TIME of two granules' MTD_TL.xml (the files in
//   ../shared/fixtures/safe-metadata), at the tile's centre (ULX/ULY + 54 900 m, converted to
//   lon/lat with gdaltransform). The mean is over the imaged part of the tile, which need not be
//   centred on the tile: within 0.3 degree of the centre's value.
// - view:sun_elevation / view:sun_azimuth of Earth Search items (tile datetime), at the centre of
//   the item's bbox (the imaged part of the tile, not its centre: looser tolerance).
// - s2:mean_solar_* of Planetary Computer items, whose datetime is the datatake's start, sensed
//   up to minutes before the tile (the sun moves 0.25 degree a minute in hour angle): zenith only.
const Reference kReferences[] = {
    // T11SLT, California, summer (northern hemisphere, sun to the south-east).
    {"T11SLT MTD_TL.xml", "2015-08-26T18:54:35.457Z", -118.568161294227, 33.8365586519296,
     27.3677090099684, 145.690428046411, 0.3},
    // T01KAB, Fiji near the antimeridian, southern winter (sun to the north-east).
    {"T01KAB MTD_TL.xml", "2023-08-21T22:20:45.625508Z", 179.763200548367, -16.7517069914673,
     38.4174390061789, 43.3009058473725, 0.3},
    // Earth Search S2B_T24MUV_20250731T130245_L2A, Brazil, 4.6 degrees south.
    {"T24MUV view:", "2025-07-31T13:03:27.058Z", -40.088052, -4.6357295, 90 - 55.4488222963741,
     47.3212056194599, 0.6},
    // Earth Search S2B_T20EPT_20250731T131905_L2A, Antarctic Peninsula, sun 4 degrees high.
    {"T20EPT view:", "2025-07-31T13:19:22.930Z", -59.5053835, -60.4417415, 90 - 4.164002081708503,
     39.4913942153701, 0.6},
};

TEST(SolarPosition, MatchesTheTileAnglesEsaPublishedInBothHemispheres) {
  for (const auto& r : kReferences) {
    const auto t = parse_time(r.time);
    ASSERT_TRUE(t) << r.time;
    const SolarPosition p = solar_position(*t, r.lon, r.lat);
    EXPECT_NEAR(p.zenith_deg, r.zenith, r.tolerance) << r.what;
    EXPECT_LE(azimuth_gap(p.azimuth_deg, r.azimuth), r.tolerance)
        << r.what << ": azimuth " << p.azimuth_deg << " vs " << r.azimuth;
  }
}

TEST(SolarPosition, ZenithOfPlanetaryComputerItems) {
  // S2B_MSIL2A_20190629T212529_R043_T06VVN (Alaska) and
  // S2B_MSIL2A_20220612T182919_R027_T24XWR (Greenland, 81 N): bbox centres.
  const SolarPosition alaska =
      solar_position(*parse_time("2019-06-29T21:25:29.024Z"), -147.843195, 60.83531);
  EXPECT_NEAR(alaska.zenith_deg, 37.9128805424161, 0.2);
  EXPECT_LE(azimuth_gap(alaska.azimuth_deg, 170.148039164397), 2.0);
  const SolarPosition greenland =
      solar_position(*parse_time("2022-06-12T18:29:19.024Z"), -35.503997, 81.4386090);
  EXPECT_NEAR(greenland.zenith_deg, 63.0036756665255, 0.2);
  EXPECT_LE(azimuth_gap(greenland.azimuth_deg, 245.346023617542), 0.5);
}

TEST(SolarPosition, HandComputedNoonAtAnEquinox) {
  // 2023-03-20T21:24Z is the March equinox (declination -0.15 degree that noon). At 0
  // longitude, solar noon is at 12:07:30 UTC (the equation of time is -7.5 minutes then): the
  // sun stands due south at a zenith equal to the latitude north of the equator, due north of
  // places south of it.
  const auto noon = *parse_time("2023-03-20T12:07:30Z");
  const SolarPosition north = solar_position(noon, 0, 45);
  EXPECT_NEAR(north.zenith_deg, 45, 0.3);
  EXPECT_LE(azimuth_gap(north.azimuth_deg, 180), 0.5);
  const SolarPosition south = solar_position(noon, 0, -30);
  EXPECT_NEAR(south.zenith_deg, 30, 0.3);
  EXPECT_LE(azimuth_gap(south.azimuth_deg, 0), 0.5);
  // Six hours later the sun sets at the equator: zenith 90, azimuth west.
  const SolarPosition dusk = solar_position(*parse_time("2023-03-20T18:07:30Z"), 0, 0);
  EXPECT_NEAR(dusk.zenith_deg, 90, 0.3);
  EXPECT_LE(azimuth_gap(dusk.azimuth_deg, 270), 0.5);
}

}  // namespace
}  // namespace s2prep::geo
