// --per-feature: separate fields in one FeatureCollection get one grid each, in sub-folders
// named from the feature's id, else its name, else its position, instead of one bounding-box
// grid that is mostly empty; a field no acquisition covers does not cost the others theirs.
#include <gtest/gtest.h>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

const std::array<std::string, 2> kDate{"2021-06-15", "2021-06-15"};

json feature(const std::string& wkt, const json& id, const json& properties) {
  json f{{"type", "Feature"},
         {"geometry", geo::Geometry::from_wkt(wkt).to_geojson()},
         {"properties", properties}};
  if (!id.is_null()) f["id"] = id;
  return f;
}

TEST(PerFeatureCli, OneGridPerFeatureInFoldersNamedFromTheFeatures) {
  ServedScene served;
  const auto& scene = shared_scene();
  // Two fields 2 km apart on tile 33UUP, and one east of every tile (nothing covers it).
  const std::string north = scene_region(scene, 0.30, 0.20, 0.36, 0.25);
  const std::string south = scene_region(scene, 0.60, 0.70, 0.64, 0.76);
  const std::string nowhere = scene_region(scene, 2.5, 0.4, 2.6, 0.5);
  const json collection{
      {"type", "FeatureCollection"},
      {"features",
       {feature(north, "north field", json::object()), feature(south, nullptr, {{"name", "south"}}),
        feature(nowhere, nullptr, json::object())}}};
  TempDir dir("s2prep-cli-features");
  const fs::path geometry = dir.path() / "fields.geojson";
  write_text(geometry, collection.dump());
  const fs::path out = dir.path() / "out";

  const auto r = served.run(geometry.string(), kDate, out, {"--per-feature"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  // "north field" has a space: folder names keep to safe characters.
  ASSERT_TRUE(fs::exists(out / "north_field" / "items.json")) << describe(r);
  ASSERT_TRUE(fs::exists(out / "south" / "items.json")) << describe(r);
  EXPECT_FALSE(fs::exists(out / "3" / "items.json"));
  EXPECT_TRUE(contains(r.err, "Feature 3")) << r.err;

  // Each grid covers its own field only: far smaller than the bounding box of both.
  const auto north_items = output_items(out / "north_field");
  const auto south_items = output_items(out / "south");
  ASSERT_EQ(north_items.size(), 1u);
  ASSERT_EQ(south_items.size(), 1u);
  const auto n = raster_info(asset_path(out / "north_field", north_items[0], "raster"));
  const auto s = raster_info(asset_path(out / "south", south_items[0], "raster"));
  const double tile_px = scene.extent_m() / 10;
  EXPECT_LT(n.width, 0.08 * tile_px);
  EXPECT_LT(s.width, 0.06 * tile_px);
  EXPECT_LT(n.height + s.height, 0.2 * tile_px);
  // The two grids are apart: south's upper edge lies below north's lower edge.
  EXPECT_LT(s.transform[3], n.transform[3] + n.height * n.transform[5]);
}

}  // namespace
}  // namespace s2prep::clitest
