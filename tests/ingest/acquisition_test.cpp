#include "ingest/acquisition_reader.hpp"

#include <gtest/gtest.h>

#include <set>

#include <s2prep/errors.hpp>
#include "fixtures.hpp"

using namespace s2prep;
using namespace s2prep::ingest;
using namespace s2prep::ingest::test;

namespace {

// The 10 m output grid: a window of the tile's 10 m grid.
Grid window(double x0, double y0, int w, int h) {
  Grid g;
  g.epsg = 32633;
  g.transform = {x0, 10, 0, y0, 0, -10};
  g.width = w;
  g.height = h;
  return g;
}

std::uint16_t expected_harmonized(std::uint16_t v) {
  return v == 0 ? 0 : std::max(1, int(v) - 1000);
}

}  // namespace

TEST(Acquisition, HarmonizesOnlyFromBaseline0400) {
  TempDir tmp;
  // Values around the offset: some at or below 1000 must floor at 1, never become nodata.
  auto values = [](double x, double y, int b) -> std::uint16_t {
    return std::uint16_t(500 + (int(x / 10) * 3 + int(y / 10) + b * 17) % 2000);
  };
  TileSpec new_spec;
  new_spec.baseline = "04.00";
  new_spec.band_value = values;
  TileSpec old_spec = new_spec;
  old_spec.baseline = "02.12";
  old_spec.id = "S2A_MSIL2A_20210601T100559_N0212_R022_T33UUP_20210601T120000";
  const auto item_new = write_tile(tmp.path / "new", new_spec);
  const auto item_old = write_tile(tmp.path / "old", old_spec);
  const Grid g = window(601000, 5699000, 120, 90);

  AcquisitionReadOptions o;
  o.jobs = 2;
  const auto a_new = read_acquisition({item_new}, g, o);
  const auto a_old = read_acquisition({item_old}, g, o);
  ASSERT_EQ(a_new.items.size(), 1u);
  EXPECT_TRUE(a_new.items[0].harmonized);
  EXPECT_EQ(a_new.items[0].processing_baseline, "04.00");
  EXPECT_EQ(a_new.items[0].dn_offset, 1000);
  EXPECT_EQ(a_new.items[0].offset_source, "baseline");
  EXPECT_FALSE(a_old.items[0].harmonized);
  EXPECT_EQ(a_old.direct_reads, 4);  // B02 B03 B04 B08
  EXPECT_EQ(a_old.warped_reads, 9);  // 20 m, 60 m and SCL
  int floored = 0;
  for (int b = 0; b < kBandCount; ++b)
    for (std::size_t i = 0; i < a_old.bands.band_size(); ++i) {
      const auto raw = a_old.bands.band(b)[i];
      ASSERT_EQ(a_new.bands.band(b)[i], expected_harmonized(raw)) << b << " " << i;
      floored += raw != 0 && raw <= 1001;
    }
  EXPECT_GT(floored, 0);
  // The 10 m bands of the old baseline are the source pixels themselves.
  const int b02 = band_index("B02");
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x)
      ASSERT_EQ(a_old.bands.at(b02, y, x),
                values(601000 + (x + 0.5) * 10, 5699000 - (y + 0.5) * 10, b02));

  o.harmonize = false;
  const auto raw = read_acquisition({item_new}, g, o);
  EXPECT_FALSE(raw.items[0].harmonized);
  EXPECT_EQ(raw.bands.data, a_old.bands.data);
}

TEST(Acquisition, MosaicOfTwoOverlappingTilesFirstValidWins) {
  TempDir tmp;
  // Tile A: 6 km from x=600000, valid only west of x=603000 (a swath edge). Tile B: shifted 2 km
  // east, fully valid, with other values and other SCL classes.
  TileSpec a;
  a.id = "A";
  a.valid = [](double x, double) { return x < 603000; };
  a.band_value = [](double, double, int b) { return std::uint16_t(3000 + b); };
  a.scl = [](double, double) { return std::uint8_t(4); };
  TileSpec b = a;
  b.id = "B";
  b.x0 = 602000;
  b.valid = [](double, double) { return true; };
  b.band_value = [](double, double, int band) { return std::uint16_t(5000 + band); };
  b.scl = [](double, double) { return std::uint8_t(8); };
  const auto ia = write_tile(tmp.path / "a", a);
  const auto ib = write_tile(tmp.path / "b", b);
  // Grid from x=601000 to x=605000: A only | A and B | B only (A is nodata east of 603000).
  const Grid g = window(601000, 5697000, 400, 50);
  AcquisitionReadOptions o;
  o.harmonize = false;
  const auto ab = read_acquisition({ia, ib}, g, o);
  const auto ba = read_acquisition({ib, ia}, g, o);
  ASSERT_EQ(ab.items.size(), 2u);
  EXPECT_EQ(ab.items[0].id, "A");
  const int b04 = band_index("B04");
  const int b05 = band_index("B05");
  for (int y = 0; y < g.height; ++y) {
    // Columns away from the edges so that every band (even 60 m bilinear) is fully inside.
    for (int x : {5, 50, 150, 250, 350, 395}) {
      const double cx = 601000 + (x + 0.5) * 10;
      const bool in_a = cx < 603000 - 120, in_b = cx >= 602000 + 120;
      // A first: A's value where A has data, else B's.
      ASSERT_EQ(ab.bands.at(b04, y, x), in_a ? 3000 + b04 : 5000 + b04) << x;
      ASSERT_EQ(ab.bands.at(b05, y, x), in_a ? 3000 + b05 : 5000 + b05) << x;
      ASSERT_EQ(ab.scl.at(0, y, x), in_a ? 4 : 8) << x;
      // B first: B wherever B has data (it covers x >= 602000).
      ASSERT_EQ(ba.bands.at(b04, y, x), in_b ? 5000 + b04 : 3000 + b04) << x;
      ASSERT_EQ(ba.scl.at(0, y, x), in_b ? 8 : 4) << x;
    }
  }
  // Nothing is left as nodata: the two tiles cover the grid together.
  for (auto v : ab.bands.data) ASSERT_NE(v, 0);
  for (auto v : ab.scl.data) ASSERT_NE(v, 0);
}

TEST(Acquisition, MosaicAcrossAUtmZoneBoundary) {
  TempDir tmp;
  // Tile A in zone 33 near its eastern edge; tile B in zone 34 overlapping A's eastern half.
  TileSpec a;
  a.id = "A33";
  a.epsg = 32633;
  a.x0 = 780000;
  a.y0 = 5600040;
  a.band_value = [](double, double, int b) { return std::uint16_t(3000 + b); };
  TileSpec b;
  b.id = "B34";
  b.epsg = 32634;
  b.x0 = 357000;
  b.y0 = 5596020;
  b.band_value = [](double, double, int band) { return std::uint16_t(5000 + band); };
  b.scl = [](double, double) { return std::uint8_t(9); };
  const auto ia = write_tile(tmp.path / "a", a);
  const auto ib = write_tile(tmp.path / "b", b);
  Grid g;  // zone 34, x 355500 .. 361500: A only | A and B | B only
  g.epsg = 32634;
  g.transform = {355500, 10, 0, 5593000, 0, -10};
  g.width = 600;
  g.height = 200;
  AcquisitionReadOptions o;
  o.harmonize = false;
  const auto ab = read_acquisition({ia, ib}, g, o);
  const auto ba = read_acquisition({ib, ia}, g, o);
  EXPECT_EQ(ab.direct_reads, 4);  // B's 10 m bands are on the grid; all of A is warped
  const int b8a = band_index("B8A");
  for (int y = 20; y < g.height - 20; y += 10) {
    EXPECT_EQ(ab.bands.at(b8a, y, 50), 3000 + b8a);   // x 356000: A only
    EXPECT_EQ(ab.bands.at(b8a, y, 300), 3000 + b8a);  // x 358500: both, A first
    EXPECT_EQ(ba.bands.at(b8a, y, 300), 5000 + b8a);  // both, B first
    EXPECT_EQ(ab.bands.at(b8a, y, 550), 5000 + b8a);  // x 361000: B only
    EXPECT_EQ(ab.scl.at(0, y, 300), 4);
    EXPECT_EQ(ba.scl.at(0, y, 300), 9);
  }
  for (auto v : ab.bands.data) ASSERT_NE(v, 0);  // together they cover the grid
}

// Reading strip by strip (as a whole tile is read without holding its 12 bands) gives every
// pixel read_acquisition gives, warped (another UTM zone, 20 and 60 m bands), copied, mosaicked
// and harmonized, for strips that cut through source pixels and blocks anywhere.
TEST(Acquisition, StripsEqualTheWholeRead) {
  TempDir tmp;
  TileSpec a;
  a.id = "A33";
  a.epsg = 32633;
  a.x0 = 780000;
  a.y0 = 5600040;
  a.valid = [](double x, double) { return x < 783700; };
  TileSpec b;
  b.id = "B34";
  b.epsg = 32634;
  b.x0 = 357000;
  b.y0 = 5596020;
  b.baseline = "03.01";  // not harmonized, unlike A
  b.scl = [](double, double) { return std::uint8_t(9); };
  const auto ia = write_tile(tmp.path / "a", a);
  const auto ib = write_tile(tmp.path / "b", b);
  Grid g;  // zone 34: A only | A and B | B only
  g.epsg = 32634;
  g.transform = {355500, 10, 0, 5593000, 0, -10};
  g.width = 600;
  g.height = 203;
  AcquisitionReadOptions o;
  o.jobs = 3;
  const auto whole = read_acquisition({ia, ib}, g, o);
  for (int strip_rows : {7, 64, 203, 500}) {
    BandStack bands(g, kBandCount, 0);
    std::vector<int> rows_seen(std::size_t(kBandCount) * g.height, 0);
    const auto strips = read_acquisition_in_strips(
        {ia, ib}, g, o,
        [&](int band, int first_row, const Raster<std::uint16_t>& rows) {
          ASSERT_EQ(rows.grid.width, g.width);
          ASSERT_LE(rows.grid.height, strip_rows);
          ASSERT_EQ(first_row % strip_rows, 0);
          std::copy(rows.data.begin(), rows.data.end(),
                    bands.band(band) + std::size_t(first_row) * g.width);
          for (int r = 0; r < rows.grid.height; ++r) ++rows_seen[band * g.height + first_row + r];
        },
        strip_rows);
    EXPECT_TRUE(strips.bands.data.empty());
    for (int n : rows_seen) ASSERT_EQ(n, 1) << "every row of every band exactly once";
    for (int band = 0; band < kBandCount; ++band) {
      EXPECT_TRUE(std::equal(whole.bands.band(band),
                             whole.bands.band(band) + whole.bands.band_size(), bands.band(band)))
          << "band " << kBands[band].name << ", strips of " << strip_rows;
    }
    EXPECT_EQ(strips.scl.data, whole.scl.data) << strip_rows;
    ASSERT_EQ(strips.items.size(), 2u);
    EXPECT_TRUE(strips.items[0].harmonized);
    EXPECT_FALSE(strips.items[1].harmonized);
  }
  // Both tiles and both resolutions of resampling really occur in this grid.
  EXPECT_GT(whole.warped_reads, 0);
  EXPECT_GT(whole.direct_reads, 0);
  std::set<std::uint16_t> b8a(whole.bands.band(band_index("B8A")),
                              whole.bands.band(band_index("B8A")) + whole.bands.band_size());
  EXPECT_GT(b8a.size(), 100u);
}

TEST(Acquisition, NodataOutsideTheFootprint) {
  TempDir tmp;
  TileSpec s;
  s.valid = [](double x, double y) { return x - 600000 > (5700000 - y); };  // diagonal swath edge
  const auto item = write_tile(tmp.path / "t", s);
  const Grid g = window(600000, 5700000, 300, 300);
  const auto r = read_acquisition({item}, g);
  const int b02 = band_index("B02");
  int nodata = 0;
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x) {
      const bool valid = (x + 0.5) * 10 > (y + 0.5) * 10;
      ASSERT_EQ(r.bands.at(b02, y, x) != 0, valid) << x << "," << y;
      if (x + 10 < y) {  // well outside: every band and SCL are nodata
        for (int b = 0; b < kBandCount; ++b) ASSERT_EQ(r.bands.at(b, y, x), 0);
        ASSERT_EQ(r.scl.at(0, y, x), 0);
        ++nodata;
      }
    }
  EXPECT_GT(nodata, 1000);
}

TEST(Acquisition, SignerAndAssetKeysAreUsed) {
  TempDir tmp;
  TileSpec s;
  auto item = write_tile(tmp.path / "t", s);
  // Earth Search naming: common-name keys.
  stac::Item es = item;
  es.assets.clear();
  for (const auto& b : kBands)
    es.assets[std::string(b.common_name)] = item.assets.at(std::string(b.name));
  es.assets["scl"] = item.assets.at("SCL");
  EXPECT_EQ(default_asset_key(es, "B8A"), "nir08");
  EXPECT_EQ(default_asset_key(es, "SCL"), "scl");
  EXPECT_EQ(default_asset_key(item, "B8A"), "B8A");
  std::atomic<int> signed_count{0};
  AcquisitionReadOptions o;
  o.sign = [&](const std::string& href, bool refresh) {
    EXPECT_FALSE(refresh);
    ++signed_count;
    return href;
  };
  const Grid g = window(601000, 5699000, 30, 30);
  const auto a = read_acquisition({es}, g, o);
  const auto b = read_acquisition({item}, g, AcquisitionReadOptions{});
  EXPECT_EQ(a.bands.data, b.bands.data);
  EXPECT_EQ(signed_count.load(), 13);
  stac::Item broken = item;
  broken.assets.erase("B11");
  EXPECT_THROW(read_acquisition({broken}, g), DataError);
  broken = item;
  broken.assets["B11"].href = (tmp.path / "gone.tif").string();
  EXPECT_THROW(read_acquisition({broken}, g), DataError);
}

TEST(Acquisition, DeclaredOffsetIsHarmonizedWhateverTheBaseline) {
  TempDir tmp;
  TileSpec s;
  s.baseline = "";
  s.id = "S2B_33UUP_20230601_0_L2A";  // Earth Search style id: no baseline in it
  auto item = write_tile(tmp.path / "t", s);
  const Grid g = window(601000, 5699000, 20, 20);
  const auto raw = read_acquisition({item}, g);
  EXPECT_FALSE(raw.items[0].harmonized);
  for (auto& [key, asset] : item.assets) {
    if (key != "SCL") {
      asset.scale = 0.0001;
      asset.offset = -0.1;
    }
  }
  const auto declared = read_acquisition({item}, g);
  EXPECT_TRUE(declared.items[0].harmonized);
  EXPECT_EQ(declared.items[0].offset_source, "declared");
  for (std::size_t i = 0; i < raw.bands.data.size(); ++i)
    ASSERT_EQ(declared.bands.data[i], expected_harmonized(raw.bands.data[i]));
  EXPECT_EQ(declared.scl.data, raw.scl.data);  // SCL is never offset
}

TEST(Acquisition, HarmonizeFunction) {
  std::vector<std::uint16_t> v{0, 1, 999, 1000, 1001, 1002, 2000, 65535};
  harmonize(v.data(), v.size());
  EXPECT_EQ(v, (std::vector<std::uint16_t>{0, 1, 1, 1, 1, 2, 1000, 64535}));
}
