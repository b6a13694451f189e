// `--layout tile --full-tile` chips the tile itself, as the reference does: the kept cloud and
// shadow probabilities of a generated 1002 px tile equal a numpy evaluation of the generated
// models over the reference chipping of the tile (tests/mask/reference_probability.py). The
// cloud model sees pixels 200 px away, inside its chip only, so a chip placed elsewhere shows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "../mask/test_support.hpp"
#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

TEST(FullTile, ProbabilitiesFollowTheReferenceChippingOfTheTile) {
  TempDir scene_dir{"s2prep-cli-full-tile-scene"};
  TempDir out{"s2prep-cli-full-tile-out"};
  // One tile of 1002 px (3 chips per axis, starts 0, 245, 490), one acquisition with full
  // coverage.
  scenegen::SceneSpec spec = scenegen::standard_scene(1002, 3);
  spec.tiles = {spec.tiles.at(0)};
  std::optional<scenegen::AcquisitionSpec> acq;
  for (const auto& a : spec.acquisitions) {
    if (!a.swath_edge && !a.clouds.empty()) acq = a;
  }
  ASSERT_TRUE(acq);
  acq->tiles.clear();
  spec.acquisitions = {*acq};
  const auto generated = scenegen::generate(spec, scene_dir.path(), "", {2});
  ASSERT_EQ(generated.size(), 1u);

  TestServer server;
  server.set_require_signing(true);
  serve_items(server, scene_dir.path(), generated);

  const auto& t = spec.tiles[0];
  const std::string region = lonlat_rectangle(32633, t.origin_x + 3000, t.origin_y - 5000,
                                              t.origin_x + 4000, t.origin_y - 4000);
  const std::string date = acq->datetime.substr(0, 10);
  const std::vector<std::string> args = {"run",
                                         "--geometry",
                                         region,
                                         "--start",
                                         date,
                                         "--end",
                                         date,
                                         "--stac-url",
                                         server.stac_url(),
                                         "--token-url",
                                         server.token_url(),
                                         "--out",
                                         out.path().string(),
                                         "--layout",
                                         "tile",
                                         "--full-tile",
                                         "--keep-probabilities",
                                         "--cloud-model",
                                         mask::testing::model_path("cloud_spatial.onnx").string(),
                                         "--shadow-model",
                                         mask::testing::model_path("shadow_linear.onnx").string()};
  // Both models stream their chips: the bands go to disk strip by strip as they are read and the
  // raster is written from there. --in-memory holds them instead; the files must not differ.
  const auto r = s2prep(args);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  {
    TempDir in_memory{"s2prep-cli-full-tile-in-memory"};
    std::vector<std::string> memory_args = args;
    memory_args[std::find(args.begin(), args.end(), "--out") - args.begin() + 1] =
        in_memory.path().string();
    memory_args.push_back("--in-memory");
    const auto m = s2prep(memory_args);
    ASSERT_EQ(m.exit_code, 0) << describe(m);
    const auto streamed = output_items(out.path());
    const auto held = output_items(in_memory.path());
    ASSERT_EQ(streamed.size(), 1u);
    ASSERT_EQ(held.size(), 1u);
    for (const char* key :
         {"raster", "mask", "product_mask", "cloud_probability", "shadow_probability"}) {
      EXPECT_EQ(read_text(asset_path(out.path(), streamed[0], key)),
                read_text(asset_path(in_memory.path(), held[0], key)))
          << key << " differs between streaming and --in-memory";
    }
    // Nothing of the stack is left behind in the output folder.
    for (const auto& e : fs::directory_iterator(out.path())) {
      EXPECT_EQ(e.path().filename().string().find("_stack"), std::string::npos) << e.path();
    }
  }
  const auto items = output_items(out.path());
  ASSERT_EQ(items.size(), 1u);
  const fs::path raster = asset_path(out.path(), items[0], "raster");
  const RasterInfo info = raster_info(raster);
  ASSERT_EQ(info.width, 1002);
  ASSERT_EQ(info.height, 1002);

  // The reference, from the raster the models were given (the tile's own stack).
  const fs::path cloud_ref = out.path() / "reference_cloud.tif";
  const fs::path shadow_ref = out.path() / "reference_shadow.tif";
  const std::string cmd = std::string(S2PREP_PYTHON) + " " + S2PREP_SOURCE_DIR +
                          "/tests/mask/reference_probability.py '" + raster.string() + "' '" +
                          cloud_ref.string() + "' '" + shadow_ref.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  for (const auto& [key, ref_path] :
       {std::pair{"cloud_probability", cloud_ref}, std::pair{"shadow_probability", shadow_ref}}) {
    const auto actual = read_band(asset_path(out.path(), items[0], key), 1);
    const auto expected = read_band(ref_path, 1);
    ASSERT_EQ(actual.size(), expected.size());
    double max_err = 0;
    std::size_t off = 0, first = 0;
    double lo = 1, hi = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
      const double e = std::abs(actual[i] - expected[i]);
      if (e > 1e-4 && off++ == 0) first = i;
      max_err = std::max(max_err, e);
      lo = std::min(lo, expected[i]);
      hi = std::max(hi, expected[i]);
    }
    EXPECT_LT(max_err, 1e-4) << key << ": " << off << " pixels off, first at row " << first / 1002
                             << " col " << first % 1002;
    EXPECT_GT(hi - lo, 0.1) << key << ": the expected values vary, the comparison has teeth";
  }
}

}  // namespace
}  // namespace s2prep::clitest
