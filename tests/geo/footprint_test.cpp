#include "geo/footprint.hpp"

#include <gtest/gtest.h>

#include <s2prep/errors.hpp>
#include "coverage_oracle.hpp"

namespace s2prep::geo {
namespace {

using testing_oracle::EdgeScenario;

double coverage(const Region& region, const Geometry& equal_area_footprint) {
  return region.equal_area().intersection(equal_area_footprint).area() / region.area_m2();
}

TEST(FootprintProjector, EdgesAreStraightInTheItemsUtmZone) {
  if (!testing_oracle::gdal_tools_available()) GTEST_SKIP() << "gdal-bin is not installed";
  const EdgeScenario s;
  const Region region(Geometry::from_geojson(s.region_polygon()));
  const Geometry footprint = Geometry::from_geojson(EdgeScenario::lonlat_polygon(s.north_tile_utm));
  FootprintProjector footprints(region);

  const double on_ground =
      testing_oracle::gdal_coverage(s.region_lonlat, {s.north_tile_utm}, EdgeScenario::kEpsg);
  const double utm = coverage(region, footprints.to_equal_area(footprint, EdgeScenario::kEpsg));
  const double lonlat = coverage(region, region.to_equal_area(footprint));
  EXPECT_NEAR(utm, on_ground, 5e-4);
  // The scenario is the one that matters: the lon/lat reading crosses 0.99, the ground does not.
  EXPECT_LT(on_ground, 0.99);
  EXPECT_GE(lonlat, 0.99);
}

TEST(FootprintProjector, WithoutAProjectedCrsEdgesStayStraightInLonLat) {
  const EdgeScenario s;
  const Region region(Geometry::from_geojson(s.region_polygon()));
  const Geometry footprint = Geometry::from_geojson(EdgeScenario::lonlat_polygon(s.north_tile_utm));
  FootprintProjector footprints(region);
  const double lonlat = coverage(region, region.to_equal_area(footprint));
  EXPECT_DOUBLE_EQ(coverage(region, footprints.to_equal_area(footprint, std::nullopt)), lonlat);
  EXPECT_DOUBLE_EQ(coverage(region, footprints.to_equal_area(footprint, 4326)), lonlat);
}

TEST(FootprintProjector, UnknownEpsgIsAnError) {
  const Region region(Geometry::box(10, 50, 10.1, 50.1));
  FootprintProjector footprints(region);
  EXPECT_THROW(footprints.to_equal_area(Geometry::box(10, 50, 10.2, 50.2), 999999), Error);
  // The projector stays usable afterwards.
  EXPECT_GT(footprints.to_equal_area(Geometry::box(10, 50, 10.2, 50.2), 32632).area(), 0);
}

}  // namespace
}  // namespace s2prep::geo
