// `--layout grid` runs the models only on chips that write pixels of the region: over a region
// of two squares at opposite corners of its bounding box, the chips between them are not run,
// and their pixels are no data in the mask (never "clear" without a model having looked).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "../mask/test_support.hpp"
#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

TEST(GridChips, ChipsBetweenTwoFieldsAreNotRunAndTheirPixelsAreNoData) {
  TempDir scene_dir{"s2prep-cli-grid-chips-scene"};
  TempDir out{"s2prep-cli-grid-chips-out"};
  scenegen::SceneSpec spec = scenegen::standard_scene(1002, 3);
  spec.tiles = {spec.tiles.at(0)};
  std::optional<scenegen::AcquisitionSpec> acq;
  for (const auto& a : spec.acquisitions) {
    if (!a.swath_edge) acq = a;
  }
  ASSERT_TRUE(acq);
  acq->tiles.clear();
  spec.acquisitions = {*acq};
  const auto generated = scenegen::generate(spec, scene_dir.path(), "", {2});
  ASSERT_EQ(generated.size(), 1u);

  TestServer server;
  server.set_require_signing(true);
  serve_items(server, scene_dir.path(), generated);

  // Two 2 km fields, the top-left and bottom-right corners of an 8 km box: the output grid is
  // about 800 px a side (a pixel or two more where the edges fall between pixels) and the
  // context grid 64 px more on each side. Chips (32 px margin)
  // write context columns and rows 59-507 and 507-869: the top-right and bottom-left chips
  // hold no pixel of either field.
  const auto& t = spec.tiles[0];
  const double x = t.origin_x, y = t.origin_y;
  const std::string a = lonlat_rectangle(32633, x + 1000, y - 3000, x + 3000, y - 1000);
  const std::string b = lonlat_rectangle(32633, x + 7000, y - 9000, x + 9000, y - 7000);
  const std::string region = "MULTIPOLYGON(" + a.substr(std::string("POLYGON").size()) + ", " +
                             b.substr(std::string("POLYGON").size()) + ")";
  const std::string date = acq->datetime.substr(0, 10);
  const auto r =
      s2prep({"run", "--geometry", region, "--start", date, "--end", date, "--stac-url",
              server.stac_url(), "--token-url", server.token_url(), "--out", out.path().string(),
              "--cloud-model", mask::testing::model_path("cloud_linear.onnx").string(),
              "--shadow-model", mask::testing::model_path("shadow_linear.onnx").string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto items = output_items(out.path());
  ASSERT_EQ(items.size(), 1u);
  const fs::path mask_path = asset_path(out.path(), items[0], "mask");
  const RasterInfo info = raster_info(mask_path);
  ASSERT_NEAR(info.width, 800, 3);
  ASSERT_NEAR(info.height, 800, 3);
  const auto mask = read_band(mask_path, 1);
  auto at = [&](int row, int col) { return mask.at(std::size_t(row) * info.width + col); };
  // Inside the fields, and in a chip that runs for a field (outside both): assessed.
  EXPECT_NE(at(100, 100), 255);
  EXPECT_NE(at(700, 700), 255);
  EXPECT_NE(at(400, 400), 255);
  // In the chips that were not run: no data.
  EXPECT_EQ(at(100, 600), 255);
  EXPECT_EQ(at(600, 100), 255);
  EXPECT_EQ(at(300, 700), 255);
}

}  // namespace
}  // namespace s2prep::clitest
