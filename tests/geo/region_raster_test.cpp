#include "geo/region_raster.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "geo/geometry.hpp"

namespace s2prep::geo {
namespace {

// A ring of UTM 33N points as lon/lat WKT coordinates (the region is given in lon/lat).
std::string lonlat_ring(const std::vector<std::pair<double, double>>& utm) {
  const Transformer to_lonlat("EPSG:32633", "EPSG:4326");
  std::string s = "(";
  for (const auto& [x, y] : utm) {
    const auto [lon, lat] = to_lonlat(x, y);
    s += fmt::format("{}{:.12f} {:.12f}", s.size() > 1 ? ", " : "", lon, lat);
  }
  return s + ")";
}

std::vector<std::pair<double, double>> square(double x0, double y0, double x1, double y1) {
  return {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}};
}

// A 100 x 100 grid of 10 m pixels at the zone's central meridian. The region's outer edge lies
// half a pixel inside pixels 10 and 89 (counted from the top-left), its lake's edge half a pixel
// inside pixels 30 and 69: pixels 10-89 are touched by the region, and the lake leaves out the
// pixels it covers whole, 31-68. Expected by hand: 80 x 80 - 38 x 38 = 4956 pixels.
TEST(RegionPixels, TouchedPixelsOfARegionWithALake) {
  Grid g;
  g.epsg = 32633;
  g.transform = {500000, 10, 0, 5000000, 0, -10};
  g.width = g.height = 100;
  const double x0 = 500000, y0 = 5000000;
  const std::string wkt = "POLYGON (" +
                          lonlat_ring(square(x0 + 105, y0 - 895, x0 + 895, y0 - 105)) + ", " +
                          lonlat_ring(square(x0 + 305, y0 - 695, x0 + 695, y0 - 305)) + ")";
  const Region region(Geometry::from_wkt(wkt));
  const ByteRaster px = region_pixels(region, g);
  ASSERT_EQ(px.grid, g);
  int count = 0;
  for (int r = 0; r < 100; ++r) {
    for (int c = 0; c < 100; ++c) {
      const bool in_outer = r >= 10 && r <= 89 && c >= 10 && c <= 89;
      const bool in_lake = r >= 31 && r <= 68 && c >= 31 && c <= 68;
      const int expected = in_outer && !in_lake ? 1 : 0;
      ASSERT_EQ(px.at(0, r, c), expected) << "row " << r << " col " << c;
      count += px.at(0, r, c);
    }
  }
  EXPECT_EQ(count, 4956);
}

}  // namespace
}  // namespace s2prep::geo
