#include "stac/provider.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
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
  EXPECT_EQ(detect_provider(old_item), Provider::kPlanetaryComputer);
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
  EXPECT_EQ(detect_provider(item), Provider::kEarthSearch);
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
  EXPECT_EQ(detect_provider(Item::from_json(synthetic(json::object(), "05.10"))),
            Provider::kUnknown);
}

}  // namespace
}  // namespace s2prep::stac
