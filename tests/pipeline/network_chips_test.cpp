#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "geo/geometry.hpp"
#include "geo/region.hpp"
#include "ingest/grid.hpp"
#include "pipeline/models.hpp"

namespace s2prep::pipeline {
namespace {

// A square ring of UTM 33N coordinates as lon/lat WKT, with a vertex every 100 m: a straight
// lon/lat edge 20 km long would bow by metres on the UTM grid.
std::string lonlat_square(double x0, double y0, double x1, double y1) {
  const geo::Transformer to_lonlat("EPSG:32633", "EPSG:4326");
  const std::pair<double, double> corners[] = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}};
  std::string s = "(";
  for (int k = 0; k < 4; ++k) {
    const auto [ax, ay] = corners[k];
    const auto [bx, by] = corners[k + 1];
    const int steps = static_cast<int>(std::max(std::abs(bx - ax), std::abs(by - ay)) / 100);
    for (int i = 0; i < steps + (k == 3 ? 1 : 0); ++i) {
      const double f = double(i) / steps;
      const auto [lon, lat] = to_lonlat(ax + f * (bx - ax), ay + f * (by - ay));
      s += fmt::format("{}{:.12f} {:.12f}", s.size() > 1 ? ", " : "", lon, lat);
    }
  }
  return s + ")";
}

struct Unit {
  ProcessingOptions options;
  Grid context;
  Window inner;
};

// A 20 km square region with a 12 km lake in its middle, on the zone's central meridian (its
// edges half a pixel inside the 10 m grid's, so that the output grid is 2000 px a side).
Unit lake_unit(Layout layout, bool full_tile) {
  Unit u;
  const double x = 500000, y = 5000000;
  u.options.request.geometry = "POLYGON (" + lonlat_square(x + 5, y + 5, x + 19995, y + 19995) +
                               ", " + lonlat_square(x + 4000, y + 4000, x + 16000, y + 16000) + ")";
  u.options.layout = layout;
  u.options.full_tile = full_tile;
  const Grid output = ingest::layout_grid(geo::Region::parse(u.options.request.geometry));
  u.context = ingest::context_grid(output);
  u.inner = u.context.window_of(output);
  return u;
}

// The tile layout keeps the reference chipping (no plan: compute_probability runs plan_chips
// over the whole context grid, the reference's formula, see tests/mask/chipping_test.cpp).
TEST(NetworkChips, TileLayoutKeepsTheReferenceChipping) {
  for (bool full_tile : {true, false}) {
    const Unit u = lake_unit(Layout::tile, full_tile);
    const ByteRaster no_data(u.context, 1, 0);
    EXPECT_FALSE(network_chips(u.options, u.context, u.inner, no_data).has_value()) << full_tile;
  }
}

// The grid layout: the output grid is 2000 px a side inside a 2128 px context grid (64 px
// around it). Chips write the region and 5 px (the dilation radius) around it, 59-2069 on
// each axis, 448 px per chip (margin 32): 59-507, 507-955, 955-1403, 1403-1851, 1851-2069
// (the last reads 1616-2128). The lake covers context pixels 464-1664 (469-1659 beyond the
// dilation radius of its shore): the 2 x 2 chips writing 507-1403 are not run.
TEST(NetworkChips, GridLayoutRunsContextChipsAndSkipsTheLake) {
  const Unit u = lake_unit(Layout::grid, false);
  ASSERT_EQ(u.inner.width, 2000);
  ASSERT_EQ(u.inner.height, 2000);
  ASSERT_EQ(u.context.width, 2128);
  ByteRaster no_data(u.context, 1, 0);
  const auto plan = network_chips(u.options, u.context, u.inner, no_data);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->size(), 21u);  // the reference chipping runs 6 x 6 = 36
  EXPECT_EQ(mask::plan_chips(u.context.width, u.context.height).size(), 36u);
  for (const auto& chip : *plan) {
    for (int edge : {chip.write.col, chip.write.row}) {
      EXPECT_TRUE(edge == 59 || edge == 507 || edge == 955 || edge == 1403 || edge == 1851) << edge;
    }
    const bool lake_col = chip.write.col == 507 || chip.write.col == 955;
    const bool lake_row = chip.write.row == 507 || chip.write.row == 955;
    EXPECT_FALSE(lake_col && lake_row);
  }
  // Imagery missing from the top half: the chips writing only there are not run either.
  for (int r = 0; r < 1000; ++r)
    for (int c = 0; c < u.context.width; ++c) no_data.at(0, r, c) = 1;
  const auto half = network_chips(u.options, u.context, u.inner, no_data);
  ASSERT_TRUE(half.has_value());
  // Rows are chipped from 1000 now: 1000-1448 (2 of its 5 chips over the lake), 1448-1896 and
  // 1896-2069.
  EXPECT_EQ(half->size(), 13u);
}

}  // namespace
}  // namespace s2prep::pipeline
