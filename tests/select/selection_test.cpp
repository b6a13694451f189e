#include "select/selection.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>

#include <s2prep/errors.hpp>
#include "../geo/coverage_oracle.hpp"

namespace s2prep::select {
namespace {

using geo::Geometry;
using geo::Region;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ------------------------------------------------------------------ helpers

nlohmann::json box_json(double x0, double y0, double x1, double y1) {
  return {{"type", "Polygon"},
          {"coordinates", {{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}};
}

// An item with an id in Planetary Computer's pattern, so that product_key() and
// processing_time() work as on real data.
stac::Item make_item(const std::string& tile, nlohmann::json footprint,
                     const std::string& datetime = "2023-06-01T10:05:59.024000Z",
                     const std::string& processed = "20230601T150000",
                     std::optional<double> cloud = std::nullopt,
                     std::optional<double> nodata = std::nullopt) {
  stac::Item item;
  const auto t = parse_time(datetime);
  item.datetime = *t;
  item.datetime_text = datetime;
  std::string compact = format_compact(*t);
  item.id = "S2A_MSIL2A_" + compact + "_R022_T" + tile + "_" + processed;
  item.collection = "sentinel-2-l2a";
  item.mgrs_tile = tile;
  item.geometry = std::move(footprint);
  item.cloud_cover = cloud;
  item.nodata_pixel_percentage = nodata;
  return item;
}

std::vector<std::string> ids_of(const Acquisition& a) {
  std::vector<std::string> ids;
  for (const auto& item : a.items) ids.push_back(item.id);
  return ids;
}

// Fraction of the region covered by the union of the items' footprints (plain union).
double coverage_of(const Region& region, const std::vector<const stac::Item*>& items) {
  if (items.empty()) return 0;
  std::optional<Geometry> u;
  for (const auto* item : items) {
    Geometry g = region.equal_area().intersection(
        region.to_equal_area(Geometry::from_geojson(item->geometry)));
    u = u ? u->union_with(g) : g;
  }
  return u->area() / region.area_m2();
}

// ------------------------------------------------------------------ the reference's greedy

struct GreedyResult {
  bool used = false;
  std::vector<std::string> ids;
  double coverage = 0;
};

// The reference's s2.filter greedy, with areas in the region's equal-area CRS.
GreedyResult reference_greedy(const Region& region, const std::vector<stac::Item>& group,
                              const SelectionOptions& options) {
  constexpr double kWithin = 0.99;
  struct Cand {
    const stac::Item* item;
    Geometry fp;
    double area;
  };
  const Geometry& r0 = region.equal_area();
  const double a0 = r0.area();
  std::vector<Cand> cands;
  for (const auto& item : group) {
    Geometry fp = region.to_equal_area(Geometry::from_geojson(item.geometry));
    const double a = r0.intersection(fp).area();
    if (a > 0) cands.push_back({&item, std::move(fp), a});
  }
  std::stable_sort(cands.begin(), cands.end(),
                   [](const Cand& a, const Cand& b) { return a.area > b.area; });
  if (options.max_tiles_per_time && cands.size() > size_t(*options.max_tiles_per_time)) {
    cands.resize(*options.max_tiles_per_time);
  }
  if (cands.empty()) return {};
  std::vector<const stac::Item*> all;
  for (const auto& c : cands) all.push_back(c.item);
  if (!(coverage_of(region, all) > options.min_tile_cover)) return {};

  GreedyResult result;
  std::vector<const stac::Item*> chosen;
  Geometry rest = r0;
  while (!cands.empty()) {
    size_t best = 0;
    double best_area = -1;
    for (size_t i = 0; i < cands.size(); ++i) {
      const double a = rest.intersection(cands[i].fp).area();
      if (a > best_area) best_area = a, best = i;
    }
    const double rest_area = rest.area();
    if (best_area > kWithin * rest_area) {
      chosen.push_back(cands[best].item);
      break;
    }
    if (best_area < (1 - kWithin) * rest_area) return {};  // gives up on the group
    chosen.push_back(cands[best].item);
    rest = rest.difference(cands[best].fp);
    cands.erase(cands.begin() + best);
    if (rest.area() < (1 - kWithin) * a0) break;
  }
  result.used = true;
  for (const auto* item : chosen) result.ids.push_back(item->id);
  result.coverage = coverage_of(region, chosen);
  return result;
}

// Smallest size of a subset (of at most k items) reaching the best effective coverage, by brute
// force with plain unions.
int brute_force_min_size(const Region& region, const std::vector<stac::Item>& group, int k,
                         double full) {
  const int n = static_cast<int>(group.size());
  std::vector<Geometry> parts;
  for (const auto& item : group) {
    parts.push_back(region.equal_area().intersection(
        region.to_equal_area(Geometry::from_geojson(item.geometry))));
  }
  auto effective = [&](double c) { return c >= full - 1e-9 ? 1.0 : c; };
  double best = 0;
  std::vector<std::pair<int, double>> subsets;
  for (unsigned s = 1; s < (1u << n); ++s) {
    if (std::popcount(s) > k) continue;
    Geometry u;
    for (int i = 0; i < n; ++i) {
      if (s & (1u << i)) u = u.union_with(parts[i]);
    }
    const double c = effective(u.area() / region.area_m2());
    subsets.emplace_back(std::popcount(s), c);
    best = std::max(best, c);
  }
  int size = n + 1;
  for (const auto& [sz, c] : subsets) {
    if (c >= best - 1e-9) size = std::min(size, sz);
  }
  return size;
}

// ------------------------------------------------------------------ hand cases

const Region& field() {
  static const Region r(Geometry::box(10.0, 50.0, 10.2, 50.1));
  return r;
}

TEST(Selection, OneTileCoversTheRegion) {
  std::vector<stac::Item> items = {make_item("32UNA", box_json(9.5, 49.5, 10.5, 50.5)),
                                   make_item("32UNB", box_json(10.1, 49.5, 11.0, 50.5))};
  const Selection s = select_acquisitions(field(), items, {});
  ASSERT_EQ(s.acquisitions.size(), 1u);
  EXPECT_EQ(s.acquisitions[0].tiles, std::vector<std::string>{"32UNA"});
  EXPECT_NEAR(s.acquisitions[0].coverage, 1.0, 1e-9);
  EXPECT_EQ(s.acquisitions[0].datetime_text, "2023-06-01T10:05:59.024000Z");
  EXPECT_TRUE(s.skipped.empty());
}

TEST(Selection, TwoTilesNeeded) {
  std::vector<stac::Item> items = {make_item("32UNA", box_json(9.5, 49.5, 10.12, 50.5)),
                                   make_item("32UNB", box_json(10.08, 49.5, 11.0, 50.5)),
                                   make_item("32UNC", box_json(10.05, 50.05, 10.15, 50.5))};
  const Selection s = select_acquisitions(field(), items, {});
  ASSERT_EQ(s.acquisitions.size(), 1u);
  // Largest intersection first: 32UNB covers 0.6 of the region, 32UNA 0.6 minus a sliver.
  EXPECT_THAT(s.acquisitions[0].tiles, testing::UnorderedElementsAre("32UNA", "32UNB"));
  EXPECT_NEAR(s.acquisitions[0].coverage, 1.0, 1e-9);
}

TEST(Selection, ThreeTilesNeededAndMosaicOrder) {
  std::vector<stac::Item> items = {make_item("32UNA", box_json(9.5, 49.5, 10.05, 50.5)),
                                   make_item("32UNB", box_json(10.04, 49.5, 10.15, 50.5)),
                                   make_item("32UNC", box_json(10.14, 49.5, 11.0, 50.5))};
  const Selection s = select_acquisitions(field(), items, {});
  ASSERT_EQ(s.acquisitions.size(), 1u);
  // Intersections: UNB 0.55, UNC 0.30, UNA 0.25 of the region.
  EXPECT_THAT(s.acquisitions[0].tiles, ElementsAre("32UNB", "32UNC", "32UNA"));
  EXPECT_NEAR(s.acquisitions[0].coverage, 1.0, 1e-9);
}

TEST(Selection, BeatsGreedyWhereGreedyTakesTheMiddleTile) {
  // Greedy takes the middle tile (largest intersection), then still needs both sides: 3 tiles.
  // The two side tiles alone cover everything.
  const Region region(Geometry::box(0.0, 0.0, 1.0, 0.1));
  std::vector<stac::Item> items = {make_item("31NAA", box_json(-0.5, -1, 0.5, 1)),
                                   make_item("31NAB", box_json(0.5, -1, 1.5, 1)),
                                   make_item("31NAC", box_json(0.2, -1, 0.8, 1))};
  const GreedyResult greedy = reference_greedy(region, items, {});
  ASSERT_TRUE(greedy.used);
  EXPECT_EQ(greedy.ids.size(), 3u);
  const Selection s = select_acquisitions(region, items, {});
  ASSERT_EQ(s.acquisitions.size(), 1u);
  EXPECT_THAT(s.acquisitions[0].tiles, testing::UnorderedElementsAre("31NAA", "31NAB"));
}

TEST(Selection, RegionAcrossTwoUtmZones) {
  // 12 E is the boundary of zones 32 and 33; MGRS tiles overlap it by a few kilometres.
  const Region region(Geometry::box(11.88, 45.0, 12.08, 45.1));
  std::vector<stac::Item> items = {make_item("32TQR", box_json(10.7, 44.5, 12.05, 45.5)),
                                   make_item("33TTL", box_json(11.95, 44.5, 13.3, 45.5))};
  const Selection s = select_acquisitions(region, items, {});
  ASSERT_EQ(s.acquisitions.size(), 1u);
  EXPECT_THAT(s.acquisitions[0].tiles, testing::UnorderedElementsAre("32TQR", "33TTL"));
  EXPECT_NEAR(s.acquisitions[0].coverage, 1.0, 1e-9);
  EXPECT_EQ(region.utm_epsg(), 32632);
}

TEST(Selection, FootprintSplitAtTheAntimeridian) {
  const Region region(Geometry::box(179.8, 10.0, 179.95, 10.1));
  nlohmann::json split = {
      {"type", "MultiPolygon"},
      {"coordinates",
       {{{{179.5, 9.5}, {180, 9.5}, {180, 10.5}, {179.5, 10.5}, {179.5, 9.5}}},
        {{{-180, 9.5}, {-179.5, 9.5}, {-179.5, 10.5}, {-180, 10.5}, {-180, 9.5}}}}}};
  const Selection s = select_acquisitions(region, {make_item("01PAA", split)}, {});
  ASSERT_EQ(s.acquisitions.size(), 1u);
  EXPECT_NEAR(s.acquisitions[0].coverage, 1.0, 1e-9);
}

// ------------------------------------------------------------------ footprints on the ground
// Sentinel-2 footprints have straight edges in their tile's UTM zone (proj:epsg), not in lon/lat.

using testing_oracle::EdgeScenario;

stac::Item utm_item(const std::string& tile, const nlohmann::json& utm_ring,
                    std::optional<int> item_epsg, std::optional<int> asset_epsg = std::nullopt) {
  stac::Item item = make_item(tile, EdgeScenario::lonlat_polygon(utm_ring));
  item.epsg = item_epsg;
  if (asset_epsg) {
    for (const char* key : {"B04", "SCL"}) item.assets[key].epsg = asset_epsg;
  }
  return item;
}

TEST(Selection, CoverageIsMeasuredOnTheGround) {
  if (!testing_oracle::gdal_tools_available()) GTEST_SKIP() << "gdal-bin is not installed";
  const EdgeScenario s;
  const Region region(Geometry::from_geojson(s.region_polygon()));
  const double on_ground =
      testing_oracle::gdal_coverage(s.region_lonlat, {s.north_tile_utm}, EdgeScenario::kEpsg);
  ASSERT_LT(on_ground, 0.99);  // ~0.987; read straight in lon/lat the tile "covers" ~0.995

  SelectionOptions options;
  options.min_tile_cover = 0.9;
  const Selection item_level = select_acquisitions(
      region, {utm_item("59ULA", s.north_tile_utm, EdgeScenario::kEpsg)}, options);
  ASSERT_EQ(item_level.acquisitions.size(), 1u);
  EXPECT_NEAR(item_level.acquisitions[0].coverage, on_ground, 5e-4);
  // proj:epsg given on the assets only counts the same.
  const Selection asset_level = select_acquisitions(
      region, {utm_item("59ULA", s.north_tile_utm, std::nullopt, EdgeScenario::kEpsg)}, options);
  ASSERT_EQ(asset_level.acquisitions.size(), 1u);
  EXPECT_NEAR(asset_level.acquisitions[0].coverage, on_ground, 5e-4);

  // At the default threshold the tile alone is short of it.
  const Selection alone =
      select_acquisitions(region, {utm_item("59ULA", s.north_tile_utm, EdgeScenario::kEpsg)}, {});
  EXPECT_TRUE(alone.acquisitions.empty());
  ASSERT_EQ(alone.skipped.size(), 1u);
  EXPECT_THAT(alone.skipped[0].reason, HasSubstr("covers 0.987 of the region"));
}

TEST(Selection, TileShortOfTheThresholdOnTheGroundBringsItsNeighbour) {
  if (!testing_oracle::gdal_tools_available()) GTEST_SKIP() << "gdal-bin is not installed";
  const EdgeScenario s;
  const Region region(Geometry::from_geojson(s.region_polygon()));
  const double together = testing_oracle::gdal_coverage(
      s.region_lonlat, {s.north_tile_utm, s.south_tile_utm}, EdgeScenario::kEpsg);
  const std::vector<stac::Item> items = {utm_item("59ULA", s.north_tile_utm, EdgeScenario::kEpsg),
                                         utm_item("59UL9", s.south_tile_utm, EdgeScenario::kEpsg)};
  const Selection sel = select_acquisitions(region, items, {});
  ASSERT_EQ(sel.acquisitions.size(), 1u);
  // The northern tile has the larger part, so it comes first in the mosaic.
  EXPECT_THAT(sel.acquisitions[0].tiles, ElementsAre("59ULA", "59UL9"));
  EXPECT_NEAR(sel.acquisitions[0].coverage, together, 5e-4);
  EXPECT_NEAR(together, 1.0, 1e-9);
}

TEST(Selection, WithoutEpsgFootprintEdgesAreStraightInLonLat) {
  // The same footprint with nothing saying where it was computed: its lon/lat edges are all
  // there is, and they put the tile above the threshold on its own.
  const EdgeScenario s;
  const Region region(Geometry::from_geojson(s.region_polygon()));
  const Selection sel =
      select_acquisitions(region, {utm_item("59ULA", s.north_tile_utm, std::nullopt)}, {});
  ASSERT_EQ(sel.acquisitions.size(), 1u);
  EXPECT_GE(sel.acquisitions[0].coverage, 0.99);
}

TEST(Selection, NothingCoversIsSkippedWithReason) {
  std::vector<stac::Item> items = {
      make_item("32UPA", box_json(20, 50, 21, 51), "2023-06-03T10:00:00Z"),
      make_item("32UNA", box_json(9.5, 49.5, 10.1, 50.5), "2023-06-02T10:00:00Z"),
      make_item("32UNA", box_json(9.5, 49.5, 10.5, 50.5), "2023-06-01T10:00:00Z")};
  const Selection s = select_acquisitions(field(), items, {});
  ASSERT_EQ(s.acquisitions.size(), 1u);
  EXPECT_EQ(s.acquisitions[0].datetime_text, "2023-06-01T10:00:00Z");
  ASSERT_EQ(s.skipped.size(), 2u);
  EXPECT_EQ(s.skipped[0].datetime_text, "2023-06-02T10:00:00Z");  // time order
  EXPECT_THAT(s.skipped[0].reason, HasSubstr("covers 0.50 of the region"));
  EXPECT_THAT(s.skipped[0].reason, HasSubstr("min_tile_cover 0.99"));
  EXPECT_EQ(s.skipped[0].item_ids, std::vector<std::string>{items[1].id});
  EXPECT_EQ(s.skipped[1].reason, "its tiles do not intersect the region");
}

TEST(Selection, ItemWithoutGeometryIsNotACandidate) {
  stac::Item item = make_item("32UNA", nullptr);
  const Selection s = select_acquisitions(field(), {item}, {});
  ASSERT_EQ(s.skipped.size(), 1u);
  EXPECT_THAT(s.skipped[0].reason, HasSubstr("do not intersect"));
}

TEST(Selection, MalformedFootprintNamesTheItem) {
  stac::Item item = make_item("32UNA", {{"type", "Polygon"}, {"coordinates", "x"}});
  try {
    select_acquisitions(field(), {item}, {});
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(item.id));
  }
}

TEST(Selection, ReprocessedDuplicateKeepsTheNewest) {
  std::vector<stac::Item> items = {make_item("32UNA", box_json(9.5, 49.5, 10.5, 50.5),
                                             "2023-06-01T10:05:59.024000Z", "20230601T150000"),
                                   make_item("32UNA", box_json(9.5, 49.5, 10.5, 50.5),
                                             "2023-06-01T10:05:59.024000Z", "20240301T080000"),
                                   make_item("32UNA", box_json(9.5, 49.5, 10.5, 50.5),
                                             "2023-06-01T10:05:59.024000Z", "20230901T120000")};
  items.push_back(items[0]);  // the same item twice (overlapping pages) is no reprocessing
  const Selection s = select_acquisitions(field(), items, {});
  ASSERT_EQ(s.acquisitions.size(), 1u);
  EXPECT_THAT(ids_of(s.acquisitions[0]), ElementsAre(items[1].id));
  EXPECT_THAT(s.superseded_item_ids, ElementsAre(items[0].id, items[2].id));
}

TEST(Selection, MaxTilesPerTimeIsRespected) {
  std::vector<stac::Item> items = {make_item("32UNA", box_json(9.5, 49.5, 10.05, 50.5)),
                                   make_item("32UNB", box_json(10.04, 49.5, 10.15, 50.5)),
                                   make_item("32UNC", box_json(10.14, 49.5, 11.0, 50.5))};
  SelectionOptions options;
  options.max_tiles_per_time = 2;
  Selection s = select_acquisitions(field(), items, options);
  ASSERT_EQ(s.skipped.size(), 1u);
  EXPECT_THAT(s.skipped[0].reason, HasSubstr("with at most 2 tiles"));
  // The best two (UNB + UNC) cover 10.04 to 10.2 of 10.0 to 10.2 degrees of longitude.
  EXPECT_THAT(s.skipped[0].reason, HasSubstr("covers 0.80 of the region"));

  options.min_tile_cover = 0.75;
  s = select_acquisitions(field(), items, options);
  ASSERT_EQ(s.acquisitions.size(), 1u);
  EXPECT_THAT(s.acquisitions[0].tiles, ElementsAre("32UNB", "32UNC"));
  EXPECT_NEAR(s.acquisitions[0].coverage, 0.80, 1e-3);
}

TEST(Selection, TiesGoToLessCloudThenMoreValidData) {
  const auto fp = box_json(9.5, 49.5, 10.5, 50.5);
  const std::string when = "2023-06-01T10:05:59.024000Z";
  std::vector<stac::Item> items = {make_item("32UNA", fp, when, "20230601T150000", 30.0, 0.0),
                                   make_item("32UNB", fp, when, "20230601T150000", 10.0, 50.0),
                                   make_item("32UNC", fp, when, "20230601T150000", 10.0, 5.0)};
  Selection s = select_acquisitions(field(), items, {});
  ASSERT_EQ(s.acquisitions.size(), 1u);
  EXPECT_THAT(s.acquisitions[0].tiles, ElementsAre("32UNC"));
  // Cloud cover decides before valid data.
  items[0].cloud_cover = 5.0;
  s = select_acquisitions(field(), items, {});
  EXPECT_THAT(s.acquisitions[0].tiles, ElementsAre("32UNA"));
  // A tie on cover alone: a smaller set always wins over a less cloudy larger one.
  items = {make_item("32UNA", box_json(9.5, 49.5, 10.12, 50.5), when, "1", 0.0),
           make_item("32UNB", box_json(10.08, 49.5, 11.0, 50.5), when, "1", 0.0),
           make_item("32UNC", fp, when, "1", 90.0)};
  s = select_acquisitions(field(), items, {});
  EXPECT_THAT(s.acquisitions[0].tiles, ElementsAre("32UNC"));
}

TEST(Selection, NearlyFullCoverageCountsAsFull) {
  // 0.995 of the region: passes min_tile_cover 0.99 and needs no second tile.
  std::vector<stac::Item> items = {make_item("32UNA", box_json(9.5, 49.5, 10.199, 50.5)),
                                   make_item("32UNB", box_json(10.1, 49.5, 11.0, 50.5))};
  Selection s = select_acquisitions(field(), items, {});
  ASSERT_EQ(s.acquisitions.size(), 1u);
  EXPECT_THAT(s.acquisitions[0].tiles, ElementsAre("32UNA"));
  EXPECT_NEAR(s.acquisitions[0].coverage, 0.995, 1e-3);
  // Asking for more than the reference's 0.99 makes the second tile necessary.
  SelectionOptions strict;
  strict.min_tile_cover = 1.0;
  s = select_acquisitions(field(), items, strict);
  ASSERT_EQ(s.acquisitions.size(), 1u);
  EXPECT_EQ(s.acquisitions[0].tiles.size(), 2u);
  EXPECT_NEAR(s.acquisitions[0].coverage, 1.0, 1e-9);
}

TEST(Selection, RejectsBadOptions) {
  SelectionOptions bad;
  bad.min_tile_cover = 0;
  EXPECT_THROW(select_acquisitions(field(), {}, bad), InputError);
  bad.min_tile_cover = 1.5;
  EXPECT_THROW(select_acquisitions(field(), {}, bad), InputError);
  bad = {};
  bad.max_tiles_per_time = 0;
  EXPECT_THROW(select_acquisitions(field(), {}, bad), InputError);
}

// ------------------------------------------------------------------ against the greedy oracle

Geometry random_region(std::mt19937& rng, double cx, double cy, double size) {
  std::uniform_real_distribution<double> u(0, 1);
  if (u(rng) < 0.5) {
    const double w = size * (0.5 + u(rng)), h = size * (0.5 + u(rng));
    return Geometry::box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
  }
  // A star-shaped polygon: vertices at increasing angles are always a simple ring.
  const int n = 5 + static_cast<int>(u(rng) * 6);
  std::string wkt = "POLYGON((";
  std::string first;
  for (int i = 0; i < n; ++i) {
    const double angle = 2 * M_PI * (i + 0.8 * u(rng)) / n;
    const double radius = size * (0.4 + 0.6 * u(rng));
    const std::string v = std::to_string(cx + radius * std::cos(angle)) + " " +
                          std::to_string(cy + radius * std::sin(angle));
    if (i == 0) first = v;
    wkt += v + ", ";
  }
  return Geometry::from_wkt(wkt + first + "))");
}

nlohmann::json random_footprint(std::mt19937& rng, double cx, double cy, double size) {
  std::uniform_real_distribution<double> u(0, 1);
  // Tiles from a fraction of the region to several times it, centred around it, so that 1-3
  // tiles usually cover it and some miss it altogether.
  const double w = size * (0.4 + 2.0 * u(rng)), h = size * (0.4 + 2.0 * u(rng));
  const double x = cx + size * 1.6 * (u(rng) - 0.5), y = cy + size * 1.6 * (u(rng) - 0.5);
  if (u(rng) < 0.7) return box_json(x - w / 2, y - h / 2, x + w / 2, y + h / 2);
  // A skewed quadrilateral, as valid-data outlines at swath edges are.
  const double s = 0.2 * w * (u(rng) - 0.5);
  return {{"type", "Polygon"},
          {"coordinates",
           {{{x - w / 2 + s, y - h / 2},
             {x + w / 2 + s, y - h / 2},
             {x + w / 2 - s, y + h / 2},
             {x - w / 2 - s, y + h / 2},
             {x - w / 2 + s, y - h / 2}}}}};
}

TEST(Selection, NeverWorseThanTheReferenceGreedy) {
  std::mt19937 rng(20240601);
  std::uniform_real_distribution<double> u(0, 1);
  const double thresholds[] = {0.99, 0.99, 0.95, 0.9, 0.5};
  int acquisitions_checked = 0, greedy_used = 0, fewer_tiles = 0;
  for (int c = 0; c < 400; ++c) {
    const double cx = -170 + 340 * u(rng), cy = -60 + 130 * u(rng);
    const double size = 0.02 + 0.3 * u(rng);
    const Region region(random_region(rng, cx, cy, size));
    SelectionOptions options;
    options.min_tile_cover = thresholds[c % 5];
    if (c % 4 == 3) options.max_tiles_per_time = 1 + static_cast<int>(u(rng) * 3);

    std::vector<stac::Item> items;
    std::map<std::string, std::vector<stac::Item>> groups;  // datetime text -> items
    const int n_acq = 1 + static_cast<int>(u(rng) * 3);
    for (int a = 0; a < n_acq; ++a) {
      const std::string when = "2023-06-0" + std::to_string(a + 1) + "T10:00:00Z";
      const int n_tiles = 1 + static_cast<int>(u(rng) * 6);
      for (int t = 0; t < n_tiles; ++t) {
        const std::string tile = "33UA" + std::string(1, char('A' + t));
        stac::Item item = make_item(tile, random_footprint(rng, cx, cy, size), when,
                                    "20230601T150000", std::round(100 * u(rng)));
        groups[when].push_back(item);
        items.push_back(std::move(item));
      }
    }
    const Selection s = select_acquisitions(region, items, options);
    ASSERT_EQ(s.acquisitions.size() + s.skipped.size(), groups.size());
    ASSERT_TRUE(std::is_sorted(s.acquisitions.begin(), s.acquisitions.end(),
                               [](auto& a, auto& b) { return a.datetime < b.datetime; }));

    const double full = std::max(kFullCoverage, options.min_tile_cover);
    for (const auto& [when, group] : groups) {
      SCOPED_TRACE("case " + std::to_string(c) + " at " + when);
      ++acquisitions_checked;
      const Acquisition* ours = nullptr;
      for (const auto& a : s.acquisitions) {
        if (a.datetime_text == when) ours = &a;
      }
      const GreedyResult greedy = reference_greedy(region, group, options);
      if (greedy.used) {
        ++greedy_used;
        ASSERT_NE(ours, nullptr) << "greedy uses this acquisition, we skip it";
        EXPECT_LE(ours->items.size(), greedy.ids.size());
        EXPECT_GE(ours->coverage, std::min(greedy.coverage, full) - 1e-9);
        if (ours->items.size() < greedy.ids.size()) ++fewer_tiles;
      }
      if (!ours) continue;
      // The reported coverage is the plain union's, and it meets the threshold.
      std::vector<const stac::Item*> used;
      for (const auto& item : ours->items) used.push_back(&item);
      EXPECT_NEAR(ours->coverage, coverage_of(region, used), 1e-9);
      EXPECT_GE(ours->coverage, options.min_tile_cover - 1e-9);
      if (options.max_tiles_per_time) {
        EXPECT_LE(ours->items.size(), size_t(*options.max_tiles_per_time));
      }
      // Minimal: no smaller subset reaches the best effective coverage.
      const int k = options.max_tiles_per_time.value_or(static_cast<int>(group.size()));
      EXPECT_EQ(static_cast<int>(ours->items.size()), brute_force_min_size(region, group, k, full));
      // Mosaic order: largest intersection first.
      double previous = 2;
      for (const auto* item : used) {
        const double c = coverage_of(region, {item});
        EXPECT_LE(c, previous + 1e-12);
        previous = c;
      }
    }
  }
  // The generator must produce interesting cases, not only trivial ones.
  EXPECT_GT(acquisitions_checked, 600);
  EXPECT_GT(greedy_used, 150);
  EXPECT_GT(fewer_tiles, 0);
  std::printf("checked %d acquisitions, greedy used %d, fewer tiles than greedy in %d\n",
              acquisitions_checked, greedy_used, fewer_tiles);
}

}  // namespace
}  // namespace s2prep::select
