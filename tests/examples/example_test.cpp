// Runs the example program of examples/ (built next to s2prep) against the local server and a
// generated scene, and checks what it prints against the outputs read back independently.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "../cli/cli_support.hpp"

namespace s2prep::clitest {
namespace {

const fs::path kExample = fs::path(S2PREP_BIN).parent_path() / "s2prep-example-run-workflow";

// Two zone-33 tiles at two dates (one cloudy, one clear) keep this quick.
struct SmallScene {
  TempDir dir{"s2prep-example-scene"};
  scenegen::SceneSpec spec;
  std::vector<scenegen::GeneratedItem> items;
  SmallScene() {
    spec = scenegen::standard_scene(360, 7);
    std::erase_if(spec.tiles, [](const auto& t) { return t.epsg != 32633; });
    std::erase_if(spec.acquisitions, [](const auto& a) {
      return a.datetime.rfind("2023-08-12", 0) != 0 && a.datetime.rfind("2023-09-01", 0) != 0;
    });
    items = scenegen::generate(spec, dir.path(), "");
  }
};

class Example : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { scene_ = std::make_unique<SmallScene>(); }
  static void TearDownTestSuite() { scene_.reset(); }
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kExample)) << kExample << " was not built";
    server_.set_require_signing(true);
    server_.serve_directory(scene_->dir.path());
    for (const auto& g : scene_->items) {
      json item = g.item;
      for (auto& [key, asset] : item["assets"].items()) {
        asset["href"] = server_.blob_url(asset["href"].get<std::string>());
      }
      server_.add_item(std::move(item));
    }
  }
  RunResult example(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), kExample.string());
    return s2prep::testing::run_process(args, clean_env(std::move(env)), std::chrono::seconds(120));
  }

  static std::unique_ptr<SmallScene> scene_;
  TestServer server_;
  TempDir out_{"s2prep-example-out"};
};
std::unique_ptr<SmallScene> Example::scene_;

TEST_F(Example, RunsTheWorkflowAndSummarisesTheOutputs) {
  const auto r =
      example({"--geometry", scenegen::demo_region_wkt(scene_->spec), "--start", "2023-01-01",
               "--end", "2023-12-31", "--out", out_.path().string(), "--cloud-model", "builtin",
               "--shadow-model", "builtin"},
              {{"S2PREP_STAC_URL", server_.stac_url()}, {"S2PREP_TOKEN_URL", server_.token_url()}});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_TRUE(contains(r.out, "2 acquisitions written to " + out_.path().string())) << r.out;
  EXPECT_TRUE(contains(r.err, "[1/2]")) << "progress from the library's callback: " << r.err;

  for (const auto& item : items) {
    const std::string id = item["id"];
    // The line of this acquisition: datetime, output, tiles, valid %, clear %, NDVI.
    const std::regex line_re(item["properties"]["datetime"].get<std::string>() + "\\s+" + id +
                             "\\s+(\\S+)\\s+([0-9.]+)%\\s+([0-9.]+)%\\s+(\\S+)");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, line_re)) << id << "\n" << r.out;
    std::string tiles;
    for (const auto& t : item["properties"]["s2:mgrs_tiles"]) {
      if (!tiles.empty()) tiles += ',';
      tiles += t.get<std::string>();
    }
    EXPECT_EQ(m[1], tiles);
    EXPECT_EQ(item["properties"]["s2:mgrs_tiles"].size(), 2u);

    // The same figures, computed here from the files.
    const auto mask = read_band(asset_path(out_.path(), item, "mask"), 1);
    const auto red = read_band(asset_path(out_.path(), item, "raster"), 4);
    const auto nir = read_band(asset_path(out_.path(), item, "raster"), 8);
    double valid = 0, clear = 0, ndvi = 0;
    for (std::size_t i = 0; i < mask.size(); ++i) {
      if (mask[i] == 255) continue;
      ++valid;
      if (mask[i] != 0) continue;
      ++clear;
      ndvi += (nir[i] - red[i]) / (nir[i] + red[i]);
    }
    EXPECT_NEAR(std::stod(m[2]), 100 * valid / mask.size(), 0.051) << id;
    EXPECT_NEAR(std::stod(m[3]), 100 * clear / valid, 0.051) << id;
    if (clear > 0) {
      EXPECT_NEAR(std::stod(m[4]), ndvi / clear, 0.0006) << id;
    } else {
      EXPECT_EQ(m[4], "-");
    }
  }
}

TEST_F(Example, FlagsOverrideTheEnvironmentAndErrorsKeepTheirExitCode) {
  // The environment points at nothing; the flags point at the server.
  const std::map<std::string, std::string> env{{"S2PREP_STAC_URL", "http://127.0.0.1:9/stac"},
                                               {"S2PREP_TOKEN_URL", "http://127.0.0.1:9/token"}};
  // A bad geometry: the library's InputError, exit 2, before any request.
  const auto bad = example(
      {"--geometry", "POINT(12 48)", "--start", "2023-01-01", "--end", "2023-12-31", "--out",
       out_.path().string(), "--stac-url", server_.stac_url(), "--token-url", server_.token_url()},
      env);
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_TRUE(contains(bad.err, "error: ")) << bad.err;
  EXPECT_EQ(server_.request_count("/"), 0);
  // Nothing in range: exit 3 (the unreachable service of the environment would be exit 1).
  const auto none = example({"--geometry", scenegen::demo_region_wkt(scene_->spec), "--start",
                             "2020-01-01", "--end", "2020-12-31", "--out", out_.path().string(),
                             "--stac-url", server_.stac_url(), "--token-url", server_.token_url()},
                            env);
  EXPECT_EQ(none.exit_code, 3) << describe(none);
  EXPECT_GE(server_.request_count("/stac/search"), 1);
}

}  // namespace
}  // namespace s2prep::clitest
