#include "ingest/grid.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <s2prep/errors.hpp>
#include "fixtures.hpp"

using namespace s2prep;
using namespace s2prep::ingest;

namespace {
bool on_multiple(double v, double step) { return std::abs(v / step - std::round(v / step)) < 1e-9; }

// A catalogue's proj:shape / transform became the tile grid unchecked: a 10^9-pixel side ended in
// std::bad_alloc, a zero pixel size in infinities cast to int.
TEST(Grid, AssetGridRefusesUnusableCatalogueGrids) {
  stac::Item item;
  item.id = "T";
  item.epsg = 32633;
  stac::Asset a;
  a.href = "/nonexistent.tif";
  a.transform = std::array<double, 6>{600000, 10, 0, 5700000, 0, -10};
  a.shape = std::array<int, 2>{1000000000, 600};
  item.assets["B02"] = a;
  const auto message = [&] {
    try {
      asset_grid(item, "B02", a.href);
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("(no DataError)");
  };
  EXPECT_NE(message().find("1000000000"), std::string::npos) << message();
  item.assets["B02"].shape = std::array<int, 2>{600, 600};
  item.assets["B02"].transform = std::array<double, 6>{600000, 0, 0, 5700000, 0, -10};
  EXPECT_NE(message().find("north-up"), std::string::npos) << message();
  item.assets["B02"].transform = std::array<double, 6>{600000, 10, 0, 5700000, 0, -10};
  EXPECT_EQ(asset_grid(item, "B02", a.href).width, 600);
}

}  // namespace

TEST(Grid, SnappedGridCoversBoundsOnTenMetreEdges) {
  const Grid g = snapped_grid(32633, {500003.2, 5600001.0, 500995.0, 5600990.0});
  EXPECT_EQ(g.epsg, 32633);
  EXPECT_DOUBLE_EQ(g.transform[0], 500000);
  EXPECT_DOUBLE_EQ(g.transform[3], 5600990);
  EXPECT_EQ(g.width, 100);  // 500000 .. 501000
  EXPECT_EQ(g.height, 99);  // 5600000 .. 5600990
  // Bounds already on the grid stay as they are (no extra pixel from rounding noise).
  const Grid exact = snapped_grid(32633, {500000.0000000001, 5600000, 500100, 5600099.9999999999});
  EXPECT_EQ(exact.width, 10);
  EXPECT_EQ(exact.height, 10);
  EXPECT_DOUBLE_EQ(exact.transform[0], 500000);
}

TEST(Grid, LayoutGridIsUtmOfCentroidAndCoversTheRegion) {
  // A small field near Vienna (zone 33), with a long, slanted edge.
  const auto region = geo::Region::parse(
      R"({"type":"Polygon","coordinates":[[[16.30,48.20],[16.34,48.21],[16.33,48.23],[16.29,48.22],[16.30,48.20]]]})");
  const Grid g = layout_grid(region);
  EXPECT_EQ(g.epsg, 32633);
  EXPECT_DOUBLE_EQ(g.resolution(), 10);
  EXPECT_DOUBLE_EQ(g.transform[5], -10);
  EXPECT_TRUE(on_multiple(g.min_x(), 10));
  EXPECT_TRUE(on_multiple(g.max_y(), 10));
  // Every vertex (and densified edge point) of the region lies inside, within one pixel of the
  // edge.
  const geo::Transformer t("EPSG:4326", "EPSG:32633");
  double min_x = 1e18, min_y = 1e18, max_x = -1e18, max_y = -1e18;
  const double pts[][2] = {{16.30, 48.20}, {16.34, 48.21}, {16.33, 48.23}, {16.29, 48.22}};
  for (const auto& p : pts) {
    const auto [x, y] = t(p[0], p[1]);
    min_x = std::min(min_x, x), max_x = std::max(max_x, x), min_y = std::min(min_y, y),
    max_y = std::max(max_y, y);
  }
  EXPECT_LE(g.min_x(), min_x);
  EXPECT_GT(g.min_x(), min_x - 10);
  EXPECT_GE(g.max_x(), max_x);
  EXPECT_LT(g.max_x(), max_x + 10);
  EXPECT_LE(g.min_y(), min_y);
  EXPECT_GE(g.max_y(), max_y);
  EXPECT_LT(g.max_y(), max_y + 10);
}

TEST(Grid, ProjectedBoundsIncludeCurvedEdges) {
  // A long east-west edge along a parallel is a curve in UTM, lowest where it crosses the central
  // meridian (15 E for zone 33): the corners alone would miss that dip.
  const nlohmann::json poly = {
      {"type", "Polygon"},
      {"coordinates", {{{12.0, 50.0}, {18.0, 50.0}, {18.0, 50.01}, {12.0, 50.01}, {12.0, 50.0}}}}};
  const auto b = projected_bounds(poly, 32633);
  const geo::Transformer t("EPSG:4326", "EPSG:32633");
  const auto [mx, my] = t(15.0, 50.0);
  const auto [cx, cy] = t(18.0, 50.0);
  EXPECT_LT(my, cy - 100);  // the dip is real (hundreds of metres)
  EXPECT_LE(b[1], my);
  EXPECT_GT(b[1], my - 1);
  EXPECT_THROW(projected_bounds(nlohmann::json{{"type", "Point"}, {"coordinates", {1, 2}}}, 32633),
               InputError);
}

TEST(Grid, ContextGridGrowsByMarginAndToChipSize) {
  Grid out;
  out.epsg = 32633;
  out.transform = {500000, 10, 0, 5600000, 0, -10};
  out.width = 100;
  out.height = 700;
  const Grid c = context_grid(out, 64, 512);
  EXPECT_EQ(c.width, 512);
  EXPECT_EQ(c.height, 828);
  const Window w = c.window_of(out);
  EXPECT_EQ(w.col, 206);  // (512 - 100) / 2
  EXPECT_EQ(w.row, 64);
  EXPECT_DOUBLE_EQ(c.transform[0], 500000 - 206 * 10);
  EXPECT_DOUBLE_EQ(c.transform[3], 5600000 + 64 * 10);
  const Grid big = context_grid(c, 64, 512);
  EXPECT_EQ(big.width, 640);
}

// Hand-computed windows: context stays where the imagery is, the output itself is never cut,
// and a 512 px chip is kept where the imagery is wide enough.
TEST(Grid, ContextGridStaysWithinTheImagery) {
  Grid tile;
  tile.epsg = 32633;
  tile.transform = {600000, 10, 0, 5700000, 0, -10};
  tile.width = tile.height = 1098;
  const auto imagery = imagery_bounds({tile}, 32633);
  EXPECT_EQ(imagery, (std::array<double, 4>{600000, 5689020, 610980, 5700000}));
  // The whole tile: the context is the tile itself (the reference chipping of the tile).
  EXPECT_EQ(context_grid(tile, imagery, 64, 512), tile);
  EXPECT_NE(context_grid(tile, 64, 512), tile);  // unlimited: beyond the tile
  // A crop 10 px from the upper-left corner: 10 px of context there, 64 on the other sides.
  const Grid corner = tile.sub_grid(Window{10, 10, 600, 700});
  Grid c = context_grid(corner, imagery, 64, 512);
  EXPECT_EQ(c, tile.sub_grid(Window{0, 0, 10 + 600 + 64, 10 + 700 + 64}));
  // A small crop at the right edge: the growth to 512 goes left, where the tile is.
  const Grid edge = tile.sub_grid(Window{1048, 300, 50, 100});
  c = context_grid(edge, imagery, 64, 512);
  EXPECT_EQ(c, tile.sub_grid(Window{1098 - 512, 300 - 206, 512, 512}));
  // Imagery narrower than a chip: the context still holds one, padded half and half beyond.
  const Grid narrow_tile = tile.sub_grid(Window{0, 0, 300, 1098});
  c = context_grid(narrow_tile, imagery_bounds({narrow_tile}, 32633), 64, 512);
  EXPECT_EQ(c, tile.sub_grid(Window{-106, 0, 512, 1098}));
  // An output reaching beyond the imagery (layout grid) keeps all of its pixels; no context is
  // added above it (no imagery there), and the growth to 512 columns goes left.
  const Grid beyond = tile.sub_grid(Window{1000, -50, 200, 600});
  c = context_grid(beyond, imagery, 64, 512);
  EXPECT_EQ(c, tile.sub_grid(Window{1200 - 512, -50, 512, 600 + 64}));
}

// A tile of another UTM zone: its bounds in the grid's CRS enclose the projected tile, bulges
// of its edges included (checked against PROJ's own `gdaltransform` figures for the corners).
TEST(Grid, ImageryBoundsOfATileInTheNeighbouringZone) {
  Grid tile;
  tile.epsg = 32633;
  tile.transform = {300000, 10, 0, 5400000, 0, -10};
  tile.width = tile.height = 600;
  const auto b = imagery_bounds({tile}, 32632);
  // The corners in zone 32, from `echo X Y | gdaltransform -s_srs EPSG:32633 -t_srs EPSG:32632`:
  // UL (741275.22, 5401625.63), UR (747258.16, 5402097.65), LL (741747.02, 5395642.85),
  // LR (747730.02, 5396114.49). Edges bulge by far less than a metre over 6 km.
  EXPECT_NEAR(b[0], 741275.22, 1.0);
  EXPECT_NEAR(b[1], 5395642.85, 1.0);
  EXPECT_NEAR(b[2], 747730.02, 1.0);
  EXPECT_NEAR(b[3], 5402097.65, 1.0);
  // Two tiles: the union.
  Grid east = tile;
  east.transform[0] += 5400;
  const auto u = imagery_bounds({tile, east}, 32632);
  EXPECT_DOUBLE_EQ(u[0], b[0]);
  EXPECT_GT(u[2], b[2] + 5000);
}

TEST(Grid, TileGridFromAssetMetadataOrFileAndCrop) {
  s2prep::ingest::test::TempDir tmp;
  const Grid tile = s2prep::ingest::test::tile_grid(32633, 600000, 5700000, 10);
  stac::Item item;
  item.id = "T";
  item.epsg = 32633;
  stac::Asset a;
  a.href = (tmp.path / "B02.tif").string();
  item.assets["B02"] = a;
  s2prep::ingest::test::write_tif<std::uint16_t>(tmp.path / "B02.tif", tile,
                                                 [](int, int) { return std::uint16_t(1); });
  EXPECT_EQ(asset_grid(item, "B02", a.href), tile);  // opened: no proj metadata
  item.assets["B02"].transform = std::array<double, 6>{600000, 10, 0, 5700000, 0, -10};
  item.assets["B02"].shape = std::array<int, 2>{600, 600};
  item.assets["B02"].href = "/nonexistent.tif";
  EXPECT_EQ(asset_grid(item, "B02", "/nonexistent.tif"), tile);  // metadata, not the file
  EXPECT_THROW(asset_grid(item, "B03", ""), DataError);

  const Grid c = crop_to_bounds(tile, {601005, 5695001, 602000, 5699999}, "tile T");
  EXPECT_DOUBLE_EQ(c.transform[0], 601000);
  EXPECT_DOUBLE_EQ(c.transform[3], 5700000);
  EXPECT_EQ(c.width, 100);
  EXPECT_EQ(c.height, 500);
  // Limited to the tile.
  const Grid edge = crop_to_bounds(tile, {599000, 5690000, 600500, 5699000}, "tile T");
  EXPECT_DOUBLE_EQ(edge.transform[0], 600000);
  EXPECT_EQ(edge.width, 50);
  EXPECT_EQ(edge.height, 500);
  EXPECT_THROW(crop_to_bounds(tile, {700000, 5690000, 701000, 5699000}, "tile T"), DataError);
}
