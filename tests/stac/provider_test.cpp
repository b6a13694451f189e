#include "stac/provider.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <s2prep/errors.hpp>
#include "shared_fixtures.hpp"

namespace s2prep::stac {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using test::fixture;
using test::load;

json synthetic(const json& assets, const std::string& baseline) {
  return {
      {"id", "S2A_MSIL2A_20230601T100559_R022_T33UUP_20230601T150000"},
      {"geometry", {{"type", "Point"}, {"coordinates", {14, 50}}}},
      {"properties", {{"datetime", "2023-06-01T10:05:59Z"}, {"s2:processing_baseline", baseline}}},
      {"assets", assets}};
}

TEST(Provider, PlanetaryComputerKeysAndBaselineRule) {
  const auto old_path =
      fixture("planetary-computer/item_S2B_MSIL2A_20190629T212529_R043_T06VVN.json");
  const auto new_path =
      fixture("planetary-computer/item_baseline_04.00_S2B_MSIL2A_20220612T182919_R027_T24XWR.json");
  if (!fs::exists(old_path)) GTEST_SKIP() << "shared fixtures absent";
  const Item old_item = Item::from_json(load(old_path));
  EXPECT_EQ(band_asset_key(old_item, "B8A"), "B8A");
  EXPECT_EQ(band_asset_key(old_item, "B01"), "B01");
  EXPECT_EQ(band_asset_key(old_item, "SCL"), "SCL");
  EXPECT_FALSE(band_asset_key(old_item, "B10"));
  EXPECT_NE(band_asset(old_item, "B12").href.find("_B12_20m.tif"), std::string::npos);
  const Radiometry r_old = radiometry(old_item);
  EXPECT_FALSE(r_old.harmonize());
  EXPECT_EQ(r_old.source, Radiometry::Source::kNone);

  const Item new_item = Item::from_json(load(new_path));
  const Radiometry r_new = radiometry(new_item);
  EXPECT_TRUE(r_new.harmonize());
  EXPECT_DOUBLE_EQ(r_new.dn_offset, 1000);
  EXPECT_EQ(r_new.source, Radiometry::Source::kBaseline);
  EXPECT_FALSE(r_new.declared_offset);
}

TEST(Provider, EarthSearchCommonNamesAndDeclaredOffset) {
  const auto path = fixture("earth-search/search_c1_paging/001_response.json");
  if (!fs::exists(path)) GTEST_SKIP() << "shared fixtures absent";
  const json page = load(path);
  const Item item = Item::from_json(page["features"][3]);
  ASSERT_EQ(item.id, "S2B_T20EPT_20250731T131905_L2A");
  const std::map<std::string, std::string> expected = {
      {"B01", "coastal"},  {"B02", "blue"},     {"B03", "green"},    {"B04", "red"},
      {"B05", "rededge1"}, {"B06", "rededge2"}, {"B07", "rededge3"}, {"B08", "nir"},
      {"B8A", "nir08"},    {"B09", "nir09"},    {"B11", "swir16"},   {"B12", "swir22"},
      {"SCL", "scl"}};
  for (const auto& [band, key] : expected) EXPECT_EQ(band_asset_key(item, band), key) << band;
  // Each key's asset is really that band (its eo:bands name), checked against the raw JSON.
  for (const auto& [band, key] : expected) {
    if (band == "SCL") continue;
    EXPECT_EQ(item.raw["assets"][key]["eo:bands"][0]["name"], band) << key;
  }
  const Radiometry r = radiometry(item, "B8A");
  EXPECT_EQ(r.source, Radiometry::Source::kDeclared);
  EXPECT_DOUBLE_EQ(*r.declared_scale, 0.0001);
  EXPECT_DOUBLE_EQ(*r.declared_offset, -0.1);
  EXPECT_DOUBLE_EQ(r.dn_offset, 1000);  // -(-0.1) / 0.0001
}

TEST(Provider, DeclaredOffsetWinsOverBaseline) {
  json assets = {{"B04", {{"href", "x"}, {"raster:bands", {{{"scale", 0.0001}, {"offset", 0}}}}}}};
  Radiometry r = radiometry(Item::from_json(synthetic(assets, "05.10")));
  EXPECT_EQ(r.source, Radiometry::Source::kDeclared);
  EXPECT_FALSE(r.harmonize());

  assets = {{"B04", {{"href", "x"}}}};
  r = radiometry(Item::from_json(synthetic(assets, "05.10")));
  EXPECT_EQ(r.source, Radiometry::Source::kBaseline);
  EXPECT_DOUBLE_EQ(r.dn_offset, 1000);
  r = radiometry(Item::from_json(synthetic(assets, "03.01")));
  EXPECT_FALSE(r.harmonize());
}

TEST(Provider, MissingBandIsADataErrorNamingIt) {
  const Item item = Item::from_json(synthetic({{"B04", {{"href", "x"}}}}, "05.10"));
  try {
    band_asset(item, "B8A");
    FAIL() << "no exception";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("B8A"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nir08"), std::string::npos) << msg;
    EXPECT_NE(msg.find(item.id), std::string::npos) << msg;
  }
}

// A synthetic item with these extra properties.
json with_properties(const json& extra, const json& assets = json::object()) {
  json j = synthetic(assets, "05.10");
  for (const auto& [k, v] : extra.items()) j["properties"][k] = v;
  return j;
}

TEST(Provider, SunAnglesFromEitherProvidersProperties) {
  // Planetary Computer: s2:mean_solar_*.
  auto pc = property_sun_angles(Item::from_json(
      with_properties({{"s2:mean_solar_zenith", 37.5}, {"s2:mean_solar_azimuth", 170.25}})));
  ASSERT_TRUE(pc);
  EXPECT_DOUBLE_EQ(pc->zenith_deg, 37.5);
  EXPECT_DOUBLE_EQ(pc->azimuth_deg, 170.25);
  // Earth Search: view:sun_*, an elevation (zenith = 90 - elevation).
  auto es = property_sun_angles(Item::from_json(
      with_properties({{"view:sun_elevation", 55.25}, {"view:sun_azimuth", 47.5}})));
  ASSERT_TRUE(es);
  EXPECT_DOUBLE_EQ(es->zenith_deg, 34.75);
  EXPECT_DOUBLE_EQ(es->azimuth_deg, 47.5);
  // Neither, half a pair, or out of range: nothing stated.
  EXPECT_FALSE(property_sun_angles(Item::from_json(with_properties(json::object()))));
  EXPECT_FALSE(property_sun_angles(Item::from_json(with_properties({{"view:sun_azimuth", 47.5}}))));
  EXPECT_FALSE(property_sun_angles(Item::from_json(
      with_properties({{"view:sun_elevation", -3.0}, {"view:sun_azimuth", 47.5}}))));
  // A negative azimuth is the same direction within 0..360.
  auto wrapped = property_sun_angles(Item::from_json(
      with_properties({{"s2:mean_solar_zenith", 20.0}, {"s2:mean_solar_azimuth", -30.0}})));
  ASSERT_TRUE(wrapped);
  EXPECT_DOUBLE_EQ(wrapped->azimuth_deg, 330.0);
}

TEST(Provider, SunAnglesOfARealEarthSearchItem) {
  const auto path = fixture("earth-search/search_c1_paging/001_response.json");
  if (!fs::exists(path)) GTEST_SKIP() << "shared fixtures absent";
  const Item item = Item::from_json(load(path)["features"][3]);
  ASSERT_EQ(item.id, "S2B_T20EPT_20250731T131905_L2A");
  const auto sun = property_sun_angles(item);
  ASSERT_TRUE(sun);
  // The values in the response: view:sun_elevation 4.164002081708503, view:sun_azimuth
  // 39.4913942153701.
  EXPECT_NEAR(sun->zenith_deg, 85.835997918291497, 1e-9);
  EXPECT_NEAR(sun->azimuth_deg, 39.4913942153701, 1e-9);
  const Asset* granule = granule_metadata_asset(item);
  ASSERT_NE(granule, nullptr);
  EXPECT_NE(granule->href.find("/metadata.xml"), std::string::npos) << granule->href;
}

TEST(Provider, GranuleMetadataAssetUnderEitherKey) {
  const json pc = {{"granule-metadata", {{"href", "https://pc/MTD_TL.xml"}}}};
  const json es = {{"granule_metadata", {{"href", "https://es/granule_metadata.xml"}}}};
  const Item pc_item = Item::from_json(synthetic(pc, "05.10"));
  const Item es_item = Item::from_json(synthetic(es, "05.10"));
  ASSERT_NE(granule_metadata_asset(pc_item), nullptr);
  EXPECT_EQ(granule_metadata_asset(pc_item)->href, "https://pc/MTD_TL.xml");
  ASSERT_NE(granule_metadata_asset(es_item), nullptr);
  EXPECT_EQ(granule_metadata_asset(es_item)->href, "https://es/granule_metadata.xml");
  EXPECT_EQ(granule_metadata_asset(Item::from_json(synthetic(json::object(), "05.10"))), nullptr);
}

}  // namespace
}  // namespace s2prep::stac
