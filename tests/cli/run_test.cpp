// `s2prep run` end to end against the local server and a generated scene: the output files and
// catalogue of the command-line contract, pixels equal to the generator's (with harmonization),
// layouts, and the key and tokens never written anywhere.
#include <gtest/gtest.h>

#include <set>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

const std::string kKey = "run-secret-key-3b8e0d";

// Output values of a 10 m band the generator wrote: the first source (mosaic order) with data
// wins, harmonized when the source says so. Fails the test when a source's grid is not aligned.
std::vector<double> expected_10m(const json& output, const std::string& band) {
  const auto& p = output.at("properties");
  const auto t = p.at("proj:transform").get<std::vector<double>>();  // STAC order
  const int height = p.at("proj:shape")[0], width = p.at("proj:shape")[1];
  std::vector<double> expected(std::size_t(width) * height, 0);
  for (const auto& source : p.at("s2prep:sources")) {
    const auto& g = generated_item(source.at("id"));
    const bool harmonize = source.at("harmonized").get<bool>();
    const fs::path file = band_file(shared_scene(), g.item, band);
    const RasterInfo info = raster_info(file);
    const double dc = (t[2] - info.transform[0]) / 10, dr = (info.transform[3] - t[5]) / 10;
    EXPECT_EQ(dc, std::round(dc)) << "grid not aligned with " << file;
    EXPECT_EQ(dr, std::round(dr)) << "grid not aligned with " << file;
    const int c0 = std::max(0, int(dc)), r0 = std::max(0, int(dr));
    const int c1 = std::min(info.width, int(dc) + width),
              r1 = std::min(info.height, int(dr) + height);
    if (c1 <= c0 || r1 <= r0) continue;
    const auto values = read_band(file, 1, std::array<int, 4>{c0, r0, c1 - c0, r1 - r0});
    for (int r = r0; r < r1; ++r) {
      for (int c = c0; c < c1; ++c) {
        double& e = expected[std::size_t(r - int(dr)) * width + (c - int(dc))];
        const double v = values[std::size_t(r - r0) * (c1 - c0) + (c - c0)];
        if (e != 0 || v == 0) continue;
        e = harmonize ? std::max(1.0, v - 1000) : v;
      }
    }
  }
  return expected;
}

void expect_10m_bands_equal_source(const fs::path& out, const json& output) {
  for (const std::string band : {"B02", "B03", "B04", "B08"}) {
    const int index =
        int(std::find(band_names().begin(), band_names().end(), band) - band_names().begin()) + 1;
    const auto actual = read_band(asset_path(out, output, "raster"), index);
    const auto expected = expected_10m(output, band);
    ASSERT_EQ(actual.size(), expected.size());
    std::size_t mismatches = 0, first = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
      if (actual[i] != expected[i] && mismatches++ == 0) first = i;
    }
    EXPECT_EQ(mismatches, 0u) << output["id"] << " " << band << ": first at pixel " << first
                              << " got " << actual[first] << " expected " << expected[first];
  }
}

// Checks the raster and mask files of one output against the contract and its STAC Item.
void expect_output_files(const fs::path& out, const json& item) {
  const auto& p = item.at("properties");
  const auto t = p.at("proj:transform").get<std::vector<double>>();
  const int height = p.at("proj:shape")[0], width = p.at("proj:shape")[1];

  const RasterInfo raster = raster_info(asset_path(out, item, "raster"));
  EXPECT_EQ(raster.bands, 12);
  EXPECT_EQ(raster.type, GDT_UInt16);
  ASSERT_TRUE(raster.nodata.has_value());
  EXPECT_EQ(*raster.nodata, 0);
  EXPECT_EQ(raster.descriptions, band_names());
  EXPECT_EQ(raster.layout, "COG");
  EXPECT_EQ(raster.width, width);
  EXPECT_EQ(raster.height, height);
  EXPECT_EQ(raster.epsg, std::to_string(p.at("proj:epsg").get<int>()));
  EXPECT_EQ(raster.transform, (std::array<double, 6>{t[2], t[0], t[1], t[5], t[3], t[4]}));

  for (const std::string key : {"mask", "product_mask"}) {
    const fs::path file = asset_path(out, item, key);
    const RasterInfo mask = raster_info(file);
    EXPECT_EQ(mask.bands, 1) << key;
    EXPECT_EQ(mask.type, GDT_Byte) << key;
    EXPECT_EQ(mask.layout, "COG") << key;
    EXPECT_EQ(mask.width, width) << key;
    EXPECT_EQ(mask.height, height) << key;
    EXPECT_EQ(mask.transform, raster.transform) << key;
    EXPECT_EQ(mask.epsg, raster.epsg) << key;
    ASSERT_TRUE(mask.nodata.has_value()) << key;
    EXPECT_EQ(*mask.nodata, 255) << key;
    const std::set<double> allowed =
        key == "mask" ? std::set<double>{0, 1, 255} : std::set<double>{0, 1, 2, 3, 4, 255};
    const auto values = read_band(file, 1);
    const std::set<double> seen(values.begin(), values.end());
    for (double v : seen) EXPECT_TRUE(allowed.count(v)) << key << " has value " << v;
  }
  // The mask is no data exactly where the raster has none.
  const auto mask = read_band(asset_path(out, item, "mask"), 1);
  const auto b02 = read_band(asset_path(out, item, "raster"), 2);
  for (std::size_t i = 0; i < mask.size(); ++i) {
    ASSERT_EQ(mask[i] == 255, b02[i] == 0) << item["id"] << " pixel " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// One full run over the demo region and every date, shared by the tests that inspect it.

class RunOutputs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    served_ = std::make_unique<ServedScene>();
    served_->server.set_required_key(kKey);
    out_ = std::make_unique<TempDir>("s2prep-cli-run");
    result_ =
        served_->run(demo_region(), {"2021-01-01", "2023-12-31"}, out_->path(), {"--pc-key", kKey});
  }
  static void TearDownTestSuite() {
    served_.reset();
    out_.reset();
  }
  void SetUp() override { ASSERT_EQ(result_.exit_code, 0) << describe(result_); }

  static std::unique_ptr<ServedScene> served_;
  static std::unique_ptr<TempDir> out_;
  static RunResult result_;
};
std::unique_ptr<ServedScene> RunOutputs::served_;
std::unique_ptr<TempDir> RunOutputs::out_;
RunResult RunOutputs::result_;

TEST_F(RunOutputs, ItemsJsonIsAStacItemCollectionInTimeOrder) {
  const json collection = read_json(out_->path() / "items.json");
  EXPECT_EQ(collection.at("type"), "FeatureCollection");
  const auto items = output_items(out_->path());
  // Five dates cover the region; 2023-04-03 (swath edge) cannot and 2022-06-20 is one
  // acquisition despite its reprocessed duplicate.
  ASSERT_EQ(items.size(), 5u);
  std::string previous;
  for (const auto& item : items) {
    EXPECT_EQ(item.at("type"), "Feature");
    EXPECT_TRUE(item.contains("stac_version"));
    const auto& p = item.at("properties");
    const std::string dt = p.at("datetime");
    EXPECT_TRUE(parse_time(dt).has_value()) << dt;
    EXPECT_LT(previous, dt);
    previous = dt;
    EXPECT_EQ(item.at("geometry").at("type"), "Polygon");
    ASSERT_EQ(item.at("bbox").size(), 4u);
    const auto bbox = item.at("bbox").get<std::vector<double>>();
    EXPECT_LT(bbox[0], bbox[2]);
    EXPECT_LT(bbox[1], bbox[3]);
    EXPECT_EQ(p.at("proj:epsg"), 32633);
    EXPECT_EQ(p.at("proj:shape").size(), 2u);
    EXPECT_EQ(p.at("proj:transform").size(), 6u);
    ASSERT_FALSE(p.at("s2prep:sources").empty());
    for (const auto& s : p.at("s2prep:sources")) {
      EXPECT_TRUE(s.at("id").is_string());
      EXPECT_TRUE(s.at("s2:processing_baseline").is_string());
      EXPECT_TRUE(s.at("harmonized").is_boolean());
    }
    for (const std::string m : {"s2prep:cloud_model", "s2prep:shadow_model"}) {
      EXPECT_TRUE(p.at(m).at("name").is_string());
      EXPECT_TRUE(p.at(m).contains("sha256"));
    }
    for (const std::string key : {"raster", "mask", "product_mask"}) {
      const std::string href = item.at("assets").at(key).at("href");
      EXPECT_FALSE(fs::path(href).is_absolute()) << href;
      EXPECT_FALSE(contains(href, "..")) << href;
      EXPECT_TRUE(fs::exists(out_->path() / href)) << href;
    }
    // The sidecar is the same Item.
    EXPECT_EQ(read_json(out_->path() / (item.at("id").get<std::string>() + ".json")), item);
    const double cover = p.at("eo:cloud_cover");
    EXPECT_GE(cover, 0);
    EXPECT_LE(cover, 100);
  }
  // The summary names the acquisition that could not be used.
  EXPECT_TRUE(contains(result_.out, "2023-04-03")) << result_.out;
  EXPECT_TRUE(contains(result_.out, "skipped")) << result_.out;
}

TEST_F(RunOutputs, RastersAndMasksFollowTheInterface) {
  for (const auto& item : output_items(out_->path())) expect_output_files(out_->path(), item);
}

TEST_F(RunOutputs, TenMetreBandsEqualTheSourcePixelsWithHarmonization) {
  std::set<bool> harmonized_seen;
  for (const auto& item : output_items(out_->path())) {
    for (const auto& s : item["properties"]["s2prep:sources"]) {
      const auto& g = generated_item(s["id"]);
      const std::string baseline = g.item["properties"]["s2:processing_baseline"];
      // Baseline 04.00 and later carry the +1000 offset.
      EXPECT_EQ(s["harmonized"].get<bool>(), baseline >= "04.00") << s["id"];
      EXPECT_EQ(s["s2:processing_baseline"], baseline);
      harmonized_seen.insert(s["harmonized"].get<bool>());
    }
    expect_10m_bands_equal_source(out_->path(), item);
  }
  EXPECT_EQ(harmonized_seen, (std::set<bool>{false, true})) << "both sides of the baseline";
}

TEST_F(RunOutputs, ReprocessedDuplicateUsesTheNewestProcessing) {
  for (const auto& item : output_items(out_->path())) {
    if (!contains(item["properties"]["datetime"], "2022-06-20")) continue;
    for (const auto& s : item["properties"]["s2prep:sources"]) {
      EXPECT_EQ(s["s2:processing_baseline"], "05.00") << s["id"];
    }
    return;
  }
  FAIL() << "no 2022-06-20 output";
}

TEST_F(RunOutputs, KeyAndTokensAreNeverWritten) {
  // The token service got the key in its header...
  bool key_sent = false;
  for (const auto& r : served_->server.requests()) {
    if (r.path.rfind("/token", 0) != 0) continue;
    for (const auto& [name, value] : r.headers) {
      if (name == "Ocp-Apim-Subscription-Key" && value == kKey) key_sent = true;
    }
  }
  EXPECT_TRUE(key_sent);
  // ...and it appears nowhere else: not on the terminal, not in any output file.
  std::vector<std::string> secrets{kKey};
  for (const auto& t : served_->server.valid_tokens()) secrets.push_back(t);
  for (const auto& secret : secrets) {
    EXPECT_FALSE(contains(result_.out, secret));
    EXPECT_FALSE(contains(result_.err, secret));
    for (const auto& f : list_files(out_->path())) {
      EXPECT_FALSE(contains(read_text(out_->path() / f), secret)) << f;
    }
  }
  const json run = read_json(out_->path() / "run.json");
  EXPECT_TRUE(run.at("parameters").at("pc_key").is_string() ||
              run.at("parameters").at("pc_key").is_null());
}

TEST_F(RunOutputs, RunJsonRecordsRequestParametersAndVersions) {
  const json run = read_json(out_->path() / "run.json");
  EXPECT_TRUE(run.at("s2prep_version").is_string());
  EXPECT_TRUE(contains(run.at("gdal_version").get<std::string>(), "3."));
  EXPECT_EQ(run.at("parameters").at("cloud_thr"), 0.3);
  EXPECT_EQ(run.at("parameters").at("min_tile_cover"), 0.99);
  EXPECT_EQ(run.at("request").at("collection"), "sentinel-2-l2a");
  EXPECT_EQ(run.at("outputs"), 5);
  EXPECT_EQ(run.at("skipped").size(), 1u);
}

TEST_F(RunOutputs, NoTemporaryFilesRemain) {
  for (const auto& f : list_files(out_->path())) EXPECT_FALSE(contains(f, ".tmp-")) << f;
}

// ---------------------------------------------------------------------------------------------

class RunCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { shared_scene(); }
  TempDir out_{"s2prep-cli-run"};
};

TEST_F(RunCli, NoHarmonizeKeepsRawDigitalNumbers) {
  ServedScene served;
  const auto r =
      served.run(demo_region(), {"2023-09-01", "2023-09-01"}, out_.path(), {"--no-harmonize"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), 1u);
  EXPECT_FALSE(items[0]["properties"]["s2prep:harmonized"].get<bool>());
  for (const auto& s : items[0]["properties"]["s2prep:sources"]) {
    EXPECT_EQ(s["s2:processing_baseline"], "05.09");
    EXPECT_FALSE(s["harmonized"].get<bool>());
  }
  expect_10m_bands_equal_source(out_.path(), items[0]);
  // Raw values of baseline 05.09 carry the offset: every valid DN is above 1000.
  const auto b04 = read_band(asset_path(out_.path(), items[0], "raster"), 4);
  for (double v : b04) ASSERT_TRUE(v == 0 || v > 1000) << v;
  EXPECT_EQ(read_json(out_.path() / "run.json")["options"]["harmonize"], false);
}

TEST_F(RunCli, TileLayoutUsesEachTilesOwnGrid) {
  ServedScene served;
  const auto r =
      served.run(demo_region(), {"2023-08-12", "2023-08-12"}, out_.path(), {"--layout", "tile"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), 2u);
  std::set<std::string> names;
  for (const auto& item : items) {
    names.insert(item["id"]);
    const auto& sources = item["properties"]["s2prep:sources"];
    ASSERT_EQ(sources.size(), 1u);
    expect_output_files(out_.path(), item);
    // The tile's own grid: aligned with its B02 and inside it; the 10 m bands are its pixels.
    expect_10m_bands_equal_source(out_.path(), item);
    const RasterInfo b02 =
        raster_info(band_file(shared_scene(), generated_item(sources[0]["id"]).item, "B02"));
    const RasterInfo raster = raster_info(asset_path(out_.path(), item, "raster"));
    EXPECT_GE(raster.transform[0], b02.transform[0]);
    EXPECT_LE(raster.transform[3], b02.transform[3]);
    EXPECT_LT(raster.width, b02.width) << "cropped to the region";
  }
  EXPECT_EQ(names,
            (std::set<std::string>{"S2_20230812T101559_T33UUP", "S2_20230812T101559_T33UVP"}));
}

TEST_F(RunCli, FullTileOutputIsTheTilesB02Grid) {
  ServedScene served;
  const auto r = served.run(demo_region(), {"2023-09-01", "2023-09-01"}, out_.path(),
                            {"--layout", "tile", "--full-tile"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), 2u);
  for (const auto& item : items) {
    const auto& g = generated_item(item["properties"]["s2prep:sources"][0]["id"]);
    const RasterInfo b02 = raster_info(band_file(shared_scene(), g.item, "B02"));
    const RasterInfo raster = raster_info(asset_path(out_.path(), item, "raster"));
    EXPECT_EQ(raster.width, b02.width);
    EXPECT_EQ(raster.height, b02.height);
    EXPECT_EQ(raster.transform, b02.transform);
    EXPECT_EQ(raster.epsg, b02.epsg);
    expect_output_files(out_.path(), item);
    expect_10m_bands_equal_source(out_.path(), item);
  }
}

TEST_F(RunCli, FullTileNeedsTileLayout) {
  ServedScene served;
  const auto r =
      served.run(demo_region(), {"2023-09-01", "2023-09-01"}, out_.path(), {"--full-tile"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  ASSERT_EQ(error_lines(r.err).size(), 1u) << r.err;
  EXPECT_TRUE(contains(error_lines(r.err)[0], "--layout tile"));
}

TEST_F(RunCli, RegionsNeedingOneTwoAndThreeTilesAcrossTwoUtmZones) {
  ServedScene served;
  const auto& scene = shared_scene();
  struct Case {
    std::string name;
    std::string region;
    std::set<std::string> tiles;
  };
  const std::vector<Case> cases{
      {"one tile", scene_region(scene, 0.62, 0.45, 0.78, 0.55), {"33UUP"}},
      {"two tiles", demo_region(), {"33UUP", "33UVP"}},
      // West of 33UUP only the zone-32 tile has data, east of it only 33UVP.
      {"two UTM zones", scene_region(scene, -0.2, 0.45, 0.7, 0.5), {"32UQU", "33UUP"}},
      {"three tiles", scene_region(scene, -0.2, 0.45, 1.2, 0.5), {"32UQU", "33UUP", "33UVP"}},
  };
  for (const auto& c : cases) {
    const auto s = s2prep({"search", "--geometry", c.region, "--start", "2023-09-01", "--end",
                           "2023-09-01", "--stac-url", served.server.stac_url(), "--json"});
    ASSERT_EQ(s.exit_code, 0) << c.name << "\n" << describe(s);
    const json j = json::parse(s.out);
    ASSERT_EQ(j["acquisitions"].size(), 1u) << c.name;
    EXPECT_EQ(j["acquisitions"][0]["tiles"].get<std::set<std::string>>(), c.tiles) << c.name;
  }
  // The three-tile region end to end: a zone-32 tile warped onto the zone-33 grid of the
  // region's centroid, mosaicked with two zone-33 tiles, no hole between them.
  const auto r = served.run(cases[3].region, {"2023-09-01", "2023-09-01"}, out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), 1u);
  const auto& p = items[0]["properties"];
  EXPECT_EQ(p["proj:epsg"], 32633);
  EXPECT_EQ(p["s2:mgrs_tiles"].get<std::set<std::string>>(), cases[3].tiles);
  EXPECT_GT(p["s2prep:valid_percent"].get<double>(), 99.0);
  expect_output_files(out_.path(), items[0]);
}

TEST_F(RunCli, RegionNoAcquisitionCoversIsExit3) {
  ServedScene served;
  // Half of this region lies east of 33UVP, where no tile has data.
  const auto r = served.run(scene_region(shared_scene(), 1.7, 0.4, 2.1, 0.5),
                            {"2021-01-01", "2023-12-31"}, out_.path());
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  ASSERT_EQ(error_lines(r.err).size(), 1u) << r.err;
  EXPECT_FALSE(fs::exists(out_.path() / "items.json"));
  const auto none = served.run(demo_region(), {"2020-01-01", "2020-12-31"}, out_.path() / "x");
  EXPECT_EQ(none.exit_code, 3) << describe(none);
}

}  // namespace
}  // namespace s2prep::clitest
