#include "pipeline/catalog.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include <s2prep/errors.hpp>
#include "temp_dir.hpp"

namespace s2prep::pipeline {
namespace {

OutputRecord sample_record() {
  OutputRecord r;
  r.id = "S2_20230601T100559";
  r.datetime = *parse_time("2023-06-01T10:05:59.024Z");
  r.grid.epsg = 32633;
  r.grid.transform = {309340, 10, 0, 5395610, 0, -10};
  r.grid.width = 220;
  r.grid.height = 200;
  r.platforms = {"Sentinel-2A"};
  r.tiles = {"33UUP", "33UVP"};
  r.sources = {{"S2A_MSIL2A_20230601T100559_R022_T33UUP_20230601T150227", "05.09", true},
               {"S2A_MSIL2A_20230601T100559_R022_T33UVP_20230601T150227", "05.09", true}};
  r.cloud_model = {"cloud_model2_cpu.onnx", std::string(64, 'a'), "onednn"};
  r.shadow_model = {"builtin", "", "builtin"};
  r.statistics = {{"eo:cloud_cover", 12.5}, {"s2prep:valid_percent", 100.0}};
  r.assets = {{"raster", "S2_20230601T100559_raster.tif"}, {"mask", "S2_20230601T100559_mask.tif"}};
  r.fingerprint = "f00";
  return r;
}

TEST(Catalog, ItemCarriesTheContractFields) {
  const auto item = to_stac_item(sample_record());
  const auto& p = item["properties"];
  EXPECT_EQ(item["type"], "Feature");
  EXPECT_EQ(p["datetime"], "2023-06-01T10:05:59.024000Z");
  EXPECT_EQ(p["proj:epsg"], 32633);
  EXPECT_EQ(p["proj:shape"], nlohmann::json({200, 220}));
  // STAC order [a, b, c, d, e, f]: x = a*col + b*row + c.
  EXPECT_EQ(p["proj:transform"], nlohmann::json({10.0, 0.0, 309340.0, 0.0, -10.0, 5395610.0}));
  EXPECT_EQ(p["s2prep:source_items"].size(), 2u);
  EXPECT_EQ(p["s2prep:sources"][0]["s2:processing_baseline"], "05.09");
  EXPECT_EQ(p["s2prep:harmonized"], true);
  EXPECT_EQ(p["s2prep:cloud_model"]["sha256"], std::string(64, 'a'));
  EXPECT_TRUE(p["s2prep:shadow_model"]["sha256"].is_null());
  EXPECT_EQ(p["eo:cloud_cover"], 12.5);
  EXPECT_EQ(item["assets"]["raster"]["href"], "S2_20230601T100559_raster.tif");
  EXPECT_EQ(item["assets"]["raster"]["eo:bands"].size(), 12u);
  EXPECT_EQ(item["assets"]["raster"]["eo:bands"][8]["name"], "B8A");
  EXPECT_EQ(item["assets"]["mask"]["raster:bands"][0]["nodata"], 255);
  // The footprint is the grid in lon/lat: EPSG:32633 x 309340..311540 lies near 12.4 E, 48.7 N.
  const auto bbox = item["bbox"];
  EXPECT_NEAR(bbox[0].get<double>(), 12.41, 0.01);
  EXPECT_NEAR(bbox[1].get<double>(), 48.66, 0.01);
  EXPECT_LT(bbox[0].get<double>(), bbox[2].get<double>());
  EXPECT_LT(bbox[1].get<double>(), bbox[3].get<double>());
}

TEST(Catalog, SunAnglesAndWhereTheyCameFrom) {
  auto record = sample_record();
  EXPECT_FALSE(to_stac_item(record)["properties"].contains("s2prep:sun_angles"));
  record.sun = SunRecord{38.25, 43.5, "computed"};
  const auto item = to_stac_item(record);
  EXPECT_EQ(item["properties"]["s2prep:sun_angles"],
            nlohmann::json::parse(R"({"zenith": 38.25, "azimuth": 43.5, "source": "computed"})"));
  const auto back = from_stac_item(item);
  ASSERT_TRUE(back.sun);
  EXPECT_EQ(back.sun->zenith_deg, 38.25);
  EXPECT_EQ(back.sun->azimuth_deg, 43.5);
  EXPECT_EQ(back.sun->source, "computed");
}

TEST(Catalog, RoundTripForResume) {
  const auto original = sample_record();
  const auto back = from_stac_item(to_stac_item(original));
  EXPECT_EQ(back.id, original.id);
  EXPECT_EQ(back.datetime, original.datetime);
  EXPECT_EQ(back.grid, original.grid);
  EXPECT_EQ(back.tiles, original.tiles);
  EXPECT_EQ(back.sources.size(), 2u);
  EXPECT_EQ(back.sources[1].id, original.sources[1].id);
  EXPECT_EQ(back.cloud_model.sha256, original.cloud_model.sha256);
  EXPECT_EQ(back.shadow_model.name, "builtin");
  EXPECT_EQ(back.fingerprint, "f00");
  auto sorted = [](auto v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(back.assets), sorted(original.assets));  // JSON objects do not keep order
  EXPECT_EQ(back.statistics["eo:cloud_cover"], 12.5);
  EXPECT_THROW(from_stac_item(nlohmann::json{{"id", "x"}}), Error);
}

TEST(Catalog, AtomicTextLeavesNoTemporary) {
  testing::TempDir dir;
  const auto path = dir.path() / "items.json";
  write_text_atomically(path, "first");
  write_text_atomically(path, "second");
  std::ifstream in(path);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "second");
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
  EXPECT_THROW(write_text_atomically(dir.path() / "no-such-dir" / "x.json", "x"), DataError);
}

}  // namespace
}  // namespace s2prep::pipeline
