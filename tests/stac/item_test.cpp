#include "stac/item.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include <s2prep/errors.hpp>
#include "shared_fixtures.hpp"

namespace s2prep::stac {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using test::fixture;
using test::load;

json minimal_item() {
  return json::parse(R"({
    "type": "Feature", "id": "S2A_MSIL2A_20230601T100559_R022_T33UUP_20230601T150000",
    "collection": "sentinel-2-l2a",
    "geometry": {"type": "Polygon", "coordinates": [[[14, 50], [15, 50], [15, 51], [14, 51], [14, 50]]]},
    "properties": {"datetime": "2023-06-01T10:05:59.024Z"},
    "assets": {}
  })");
}

std::string error_of(const json& j) {
  try {
    Item::from_json(j);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

TEST(ItemParse, PlanetaryComputerBaseline0212) {
  const auto path = fixture("planetary-computer/item_S2B_MSIL2A_20190629T212529_R043_T06VVN.json");
  if (!fs::exists(path)) GTEST_SKIP() << "shared fixtures absent";
  const Item item = Item::from_json(load(path));
  EXPECT_EQ(item.id, "S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531");
  EXPECT_EQ(item.collection, "sentinel-2-l2a");
  EXPECT_EQ(item.datetime_text, "2019-06-29T21:25:29.024000Z");
  EXPECT_EQ(format_time(item.datetime), "2019-06-29T21:25:29.024000Z");
  EXPECT_EQ(item.platform, "Sentinel-2B");
  EXPECT_EQ(item.mgrs_tile, "06VVN");
  EXPECT_EQ(item.relative_orbit, 43);
  EXPECT_EQ(item.orbit_state, "descending");
  EXPECT_EQ(item.epsg, 32606);
  EXPECT_DOUBLE_EQ(*item.cloud_cover, 0.314306);
  EXPECT_DOUBLE_EQ(*item.nodata_pixel_percentage, 0.0);
  EXPECT_DOUBLE_EQ(*item.mean_solar_zenith, 37.9128805424161);
  EXPECT_DOUBLE_EQ(*item.mean_solar_azimuth, 170.148039164397);
  EXPECT_EQ(item.processing_baseline, "02.12");
  EXPECT_EQ(item.product_uri, "S2B_MSIL2A_20190629T212529_N0212_R043_T06VVN_20201006T080531.SAFE");
  EXPECT_DOUBLE_EQ(item.scl_percentages.at("s2:water_percentage"), 46.210352);
  EXPECT_DOUBLE_EQ(item.scl_percentages.at("s2:cloud_shadow_percentage"), 0.208981);
  EXPECT_DOUBLE_EQ(item.bbox[0], -148.86876);
  EXPECT_DOUBLE_EQ(item.bbox[3], 61.33432012718688);
  EXPECT_EQ(item.geometry["type"], "Polygon");

  const Asset& b02 = item.assets.at("B02");
  EXPECT_EQ(b02.type, "image/tiff; application=geotiff; profile=cloud-optimized");
  EXPECT_NE(b02.href.find("T06VVN_20190629T212529_B02_10m.tif"), std::string::npos);
  ASSERT_EQ(b02.roles.size(), 1u);
  EXPECT_EQ(b02.roles[0], "data");
  EXPECT_EQ(b02.epsg, 32606);  // inherited from the item
  EXPECT_EQ(*b02.shape, (std::array<int, 2>{10980, 10980}));
  // STAC [10, 0, 399960, 0, -10, 6800040] -> GDAL [399960, 10, 0, 6800040, 0, -10].
  EXPECT_EQ(*b02.transform, (std::array<double, 6>{399960, 10, 0, 6800040, 0, -10}));
  EXPECT_EQ(*b02.proj_bbox, (std::array<double, 4>{399960, 6690240, 509760, 6800040}));
  EXPECT_DOUBLE_EQ(*b02.gsd, 10);
  EXPECT_FALSE(b02.scale);
  EXPECT_FALSE(b02.offset);
  const Asset& b01 = item.assets.at("B01");
  EXPECT_EQ(*b01.transform, (std::array<double, 6>{399960, 60, 0, 6800040, 0, -60}));
  EXPECT_EQ(*b01.shape, (std::array<int, 2>{1830, 1830}));
  EXPECT_EQ(item.assets.count("granule-metadata"), 1u);
  EXPECT_EQ(item.assets.size(), 24u);

  ASSERT_TRUE(item.baseline());
  EXPECT_DOUBLE_EQ(*item.baseline(), 2.12);
  EXPECT_EQ(item.processing_time(), "20201006T080531");
  EXPECT_EQ(item.product_key(), "S2B_MSIL2A_20190629T212529_R043_T06VVN");
  EXPECT_EQ(item.raw["id"], item.id);
}

TEST(ItemParse, PlanetaryComputerBaseline0400) {
  const auto path =
      fixture("planetary-computer/item_baseline_04.00_S2B_MSIL2A_20220612T182919_R027_T24XWR.json");
  if (!fs::exists(path)) GTEST_SKIP() << "shared fixtures absent";
  const Item item = Item::from_json(load(path));
  EXPECT_EQ(item.id, "S2B_MSIL2A_20220612T182919_R027_T24XWR_20220613T123251");
  EXPECT_EQ(item.mgrs_tile, "24XWR");
  EXPECT_EQ(item.epsg, 32624);
  EXPECT_EQ(item.relative_orbit, 27);
  EXPECT_EQ(item.orbit_state, "ascending");
  EXPECT_DOUBLE_EQ(*item.cloud_cover, 30.529344);
  EXPECT_DOUBLE_EQ(*item.nodata_pixel_percentage, 3e-06);
  EXPECT_DOUBLE_EQ(*item.mean_solar_zenith, 63.0036756665255);
  EXPECT_DOUBLE_EQ(*item.baseline(), 4.0);
  EXPECT_EQ(item.processing_time(), "20220613T123251");
  EXPECT_EQ(item.product_key(), "S2B_MSIL2A_20220612T182919_R027_T24XWR");
  EXPECT_EQ(*item.assets.at("B01").transform,
            (std::array<double, 6>{499980, 60, 0, 9100020, 0, -60}));
  EXPECT_EQ(*item.assets.at("AOT").proj_bbox,
            (std::array<double, 4>{499980, 8990220, 609780, 9100020}));
}

TEST(ItemParse, BaselineFromProductUriOrId) {
  json j = minimal_item();
  j["properties"]["s2:product_uri"] =
      "S2A_MSIL2A_20230601T100559_N0509_R022_T33UUP_20230601T150000.SAFE";
  EXPECT_DOUBLE_EQ(*Item::from_json(j).baseline(), 5.09);
  j["properties"]["s2:processing_baseline"] = "05.10";  // the property wins
  EXPECT_DOUBLE_EQ(*Item::from_json(j).baseline(), 5.10);

  json k = minimal_item();
  EXPECT_FALSE(Item::from_json(k).baseline());
  k["id"] = "S2A_MSIL2A_20230601T100559_N0400_R022_T33UUP_20230601T150000";
  const Item item = Item::from_json(k);
  EXPECT_DOUBLE_EQ(*item.baseline(), 4.0);
  // The N-number and the processing time both go, so reprocessings share one key.
  EXPECT_EQ(item.product_key(), "S2A_MSIL2A_20230601T100559_R022_T33UUP");
  EXPECT_EQ(item.processing_time(), "20230601T150000");
}

TEST(ItemParse, ProductKeyKeepsALoneSensingTime) {
  json j = minimal_item();
  j["id"] = "S2B_T20EPT_20250731T131905_L2A";  // Earth Search c1 naming
  const Item item = Item::from_json(j);
  EXPECT_EQ(item.product_key(), "S2B_T20EPT_20250731T131905_L2A");
  EXPECT_EQ(item.processing_time(), "");
  j["id"] = "S2B_MSIL2A_20250731T131905";
  EXPECT_EQ(Item::from_json(j).product_key(), "S2B_MSIL2A_20250731T131905");
  // Processing time from the product name when the id lacks it.
  j["properties"]["s2:product_uri"] =
      "S2B_MSIL2A_20250731T131909_N0511_R095_T20EPT_20250731T143919.SAFE";
  EXPECT_EQ(Item::from_json(j).processing_time(), "20250731T143919");
}

TEST(ItemParse, TransformNineNumbersAndProjCode) {
  json j = minimal_item();
  j["properties"]["proj:code"] = "EPSG:32633";
  j["assets"]["B04"] = {{"href", "http://x/B04.tif"},
                        {"proj:transform", {20, 0.5, 300000, 0.25, -20, 5600040, 0, 0, 1}},
                        {"proj:code", "EPSG:32634"},
                        {"raster:bands", {{{"scale", 0.0001}, {"offset", -0.1}}}}};
  j["assets"]["B03"] = {{"href", "http://x/B03.tif"}};
  const Item item = Item::from_json(j);
  EXPECT_EQ(item.epsg, 32633);
  const Asset& b04 = item.assets.at("B04");
  EXPECT_EQ(b04.epsg, 32634);
  EXPECT_EQ(*b04.transform, (std::array<double, 6>{300000, 20, 0.5, 5600040, 0.25, -20}));
  EXPECT_DOUBLE_EQ(*b04.scale, 0.0001);
  EXPECT_DOUBLE_EQ(*b04.offset, -0.1);
  EXPECT_EQ(item.assets.at("B03").epsg, 32633);
  EXPECT_FALSE(item.assets.at("B03").transform);
  // No bbox: computed from the geometry.
  EXPECT_EQ(item.bbox, (std::array<double, 4>{14, 50, 15, 51}));
}

TEST(ItemParse, EarthSearchSunProperties) {
  json j = minimal_item();
  j["properties"]["view:sun_elevation"] = 55.4488222963741;
  j["properties"]["view:sun_azimuth"] = 47.3212056194599;
  const Item item = Item::from_json(j);
  ASSERT_TRUE(item.sun_elevation);
  ASSERT_TRUE(item.sun_azimuth);
  EXPECT_DOUBLE_EQ(*item.sun_elevation, 55.4488222963741);
  EXPECT_DOUBLE_EQ(*item.sun_azimuth, 47.3212056194599);
  EXPECT_FALSE(item.mean_solar_zenith);

  j["properties"]["view:sun_elevation"] = "high";
  const std::string msg = error_of(j);
  EXPECT_NE(msg.find("view:sun_elevation"), std::string::npos) << msg;
}

TEST(ItemParse, MissingFieldsNameTheItemAndField) {
  json j = minimal_item();
  j["properties"].erase("datetime");
  auto msg = error_of(j);
  EXPECT_NE(msg.find("S2A_MSIL2A_20230601T100559_R022_T33UUP_20230601T150000"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("datetime"), std::string::npos) << msg;

  j = minimal_item();
  j.erase("geometry");
  msg = error_of(j);
  EXPECT_NE(msg.find("geometry"), std::string::npos) << msg;

  j = minimal_item();
  j.erase("id");
  try {
    Item::from_json(j, 7);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("#7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"id\""), std::string::npos) << e.what();
  }

  j = minimal_item();
  j["properties"]["datetime"] = "yesterday";
  EXPECT_NE(error_of(j).find("yesterday"), std::string::npos);

  j = minimal_item();
  j["properties"]["eo:cloud_cover"] = "lots";
  EXPECT_NE(error_of(j).find("eo:cloud_cover"), std::string::npos);

  j = minimal_item();
  j["assets"]["B02"] = {{"href", "http://x"}, {"proj:transform", {1, 2, 3}}};
  msg = error_of(j);
  EXPECT_NE(msg.find("B02"), std::string::npos) << msg;
  EXPECT_NE(msg.find("proj:transform"), std::string::npos) << msg;

  EXPECT_FALSE(error_of(json::array()).empty());
  EXPECT_FALSE(error_of(json("text")).empty());
}

// A hostile server's geometry nested 100 000 deep overflowed the stack in the bounding-box walk
// and in copies of the item (both recurse once per level).
TEST(ItemParse, DeeplyNestedCoordinatesAreRefusedNamingTheItem) {
  constexpr int kDepth = 100000;
  const std::string text = R"({"type": "Feature", "id": "S2A_DEEP", "properties":
      {"datetime": "2023-06-01T10:05:59Z"}, "geometry": {"type": "Polygon", "coordinates": )" +
                           std::string(kDepth, '[') + "1" + std::string(kDepth, ']') + "}}";
  const json j = json::parse(text);  // nlohmann's parser itself is iterative
  const std::string msg = error_of(j);
  EXPECT_NE(msg.find("S2A_DEEP"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nests deeper than 64 levels"), std::string::npos) << msg;
}

// proj:shape became a Grid unchecked: 10^9 x 10^9 pixels ended in std::bad_alloc.
TEST(ItemParse, HugeOrOutOfRangeNumbersAreRefusedNamingTheField) {
  json j = minimal_item();
  j["assets"]["B02"] = {{"href", "https://x/B02.tif"}, {"proj:shape", {1e9, 1e9}}};
  std::string msg = error_of(j);
  EXPECT_NE(msg.find("asset \"B02\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("proj:shape"), std::string::npos) << msg;

  j = minimal_item();
  j["assets"]["B02"] = {{"href", "https://x/B02.tif"}, {"proj:shape", {1e300, 10}}};
  msg = error_of(j);
  EXPECT_NE(msg.find("proj:shape"), std::string::npos) << msg;

  j = minimal_item();
  j["properties"]["sat:relative_orbit"] = 1e300;
  msg = error_of(j);
  EXPECT_NE(msg.find("sat:relative_orbit"), std::string::npos) << msg;

  j = minimal_item();
  j["properties"]["eo:cloud_cover"] = std::numeric_limits<double>::infinity();
  msg = error_of(j);
  EXPECT_NE(msg.find("eo:cloud_cover"), std::string::npos) << msg;

  // A real Sentinel-2 tile is well inside the limit.
  j = minimal_item();
  j["assets"]["B02"] = {{"href", "https://x/B02.tif"}, {"proj:shape", {10980, 10980}}};
  EXPECT_EQ(Item::from_json(j).assets.at("B02").shape, (std::array<int, 2>{10980, 10980}));
}

}  // namespace
}  // namespace s2prep::stac
