// Where the built-in shadow detector's sun comes from, as a user sees it in items.json: the
// items' properties, else the granule metadata file the item links, else computed from the
// acquisition's time and place. And the model folder: a folder that was given must exist, and
// a run that fell back to the built-in detector says so in its summary.
#include <cmath>
#include <numbers>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

const std::array<std::string, 2> kDate{"2023-08-12", "2023-08-12"};
// The standard scene's sun on that date (tools/scenegen/presets.cpp, acquisition a6), written
// into its items' s2:mean_solar_* and its MTD_TL.xml files.
constexpr double kSceneZenith = 36;
constexpr double kSceneAzimuth = 156;

// The standard scene, every item passed through `edit` before it is served.
struct EditedScene {
  explicit EditedScene(const std::function<void(json&)>& edit) {
    const Scene& scene = shared_scene();
    server.serve_directory(scene.root);
    for (const auto& g : scene.items) {
      json item = g.item;
      for (auto& [key, asset] : item["assets"].items()) {
        asset["href"] = server.blob_url(asset["href"].get<std::string>());
      }
      edit(item);
      server.add_item(std::move(item));
    }
  }
  RunResult run(const fs::path& out, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{
        "run",        "--geometry",      demo_region(), "--start", kDate[0], "--end",     kDate[1],
        "--stac-url", server.stac_url(), "--token-url", "none",    "--out",  out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return s2prep(args);
  }
  TestServer server;
};

void drop_sun_properties(json& item) {
  item["properties"].erase("s2:mean_solar_zenith");
  item["properties"].erase("s2:mean_solar_azimuth");
}

json sun_of_only_output(const fs::path& out) {
  const auto items = output_items(out);
  EXPECT_EQ(items.size(), 1u);
  if (items.empty()) return json();
  return items[0]["properties"].value("s2prep:sun_angles", json());
}

// The sun's position by Spencer's Fourier series for the declination and the equation of time
// (J. W. Spencer, "Fourier series representation of the position of the sun", Search 2(5),
// 1971), good to ~0.1 degree: a formula independent of the one s2prep uses.
std::array<double, 2> spencer_sun(const std::string& utc, double lon, double lat) {
  const auto t = *parse_time(utc);
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const auto jan1 = std::chrono::sys_days{ymd.year() / 1 / 1};
  const double day_of_year = (day - jan1).count() + 1;
  const double hours = std::chrono::duration<double>(t - day).count() / 3600.0;
  const double g = 2 * std::numbers::pi / 365 * (day_of_year - 1 + (hours - 12) / 24);
  const double decl = 0.006918 - 0.399912 * std::cos(g) + 0.070257 * std::sin(g) -
                      0.006758 * std::cos(2 * g) + 0.000907 * std::sin(2 * g) -
                      0.002697 * std::cos(3 * g) + 0.00148 * std::sin(3 * g);
  const double eot_min = 229.18 * (0.000075 + 0.001868 * std::cos(g) - 0.032077 * std::sin(g) -
                                   0.014615 * std::cos(2 * g) - 0.040849 * std::sin(2 * g));
  const double rad = std::numbers::pi / 180;
  const double hour_angle = ((hours * 60 + eot_min + 4 * lon) / 4 - 180) * rad;
  const double phi = lat * rad;
  const double cos_zenith =
      std::sin(phi) * std::sin(decl) + std::cos(phi) * std::cos(decl) * std::cos(hour_angle);
  const double zenith = std::acos(cos_zenith);
  // Clockwise from north, by the spherical triangle pole-zenith-sun.
  double azimuth = std::acos((std::sin(decl) - std::sin(phi) * cos_zenith) /
                             (std::cos(phi) * std::sin(zenith))) /
                   rad;
  if (hour_angle > 0) azimuth = 360 - azimuth;
  return {zenith / rad, azimuth};
}

class SunCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { shared_scene(); }
  TempDir out_{"s2prep-cli-sun"};
};

TEST_F(SunCli, FromTheItemsPropertiesWhenTheySayIt) {
  const EditedScene scene([](json&) {});
  const auto r = scene.run(out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json sun = sun_of_only_output(out_.path());
  ASSERT_TRUE(sun.is_object()) << sun;
  EXPECT_EQ(sun["source"], "item properties");
  EXPECT_NEAR(sun["zenith"].get<double>(), kSceneZenith, 1e-9);
  EXPECT_NEAR(sun["azimuth"].get<double>(), kSceneAzimuth, 1e-9);
}

TEST_F(SunCli, EarthSearchViewPropertiesAreRead) {
  const EditedScene scene([](json& item) {
    drop_sun_properties(item);
    item["properties"]["view:sun_elevation"] = 90 - kSceneZenith;
    item["properties"]["view:sun_azimuth"] = kSceneAzimuth;
    item["assets"].erase("granule-metadata");
  });
  const auto r = scene.run(out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json sun = sun_of_only_output(out_.path());
  EXPECT_EQ(sun["source"], "item properties") << sun;
  EXPECT_NEAR(sun["zenith"].get<double>(), kSceneZenith, 1e-9);
  EXPECT_NEAR(sun["azimuth"].get<double>(), kSceneAzimuth, 1e-9);
}

TEST_F(SunCli, FromTheGranuleMetadataWhenTheItemsSayNothing) {
  const EditedScene scene(drop_sun_properties);
  const auto r = scene.run(out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json sun = sun_of_only_output(out_.path());
  EXPECT_EQ(sun["source"], "granule metadata") << sun;
  EXPECT_NEAR(sun["zenith"].get<double>(), kSceneZenith, 1e-9);
  EXPECT_NEAR(sun["azimuth"].get<double>(), kSceneAzimuth, 1e-9);
  EXPECT_GE(scene.server.request_count("/blob/"), 1);
  EXPECT_FALSE(contains(r.err, "assumes")) << r.err;
}

TEST_F(SunCli, ComputedFromTimeAndPlaceWhenNothingSaysIt) {
  const EditedScene scene([](json& item) {
    drop_sun_properties(item);
    item["assets"].erase("granule-metadata");
  });
  const auto r = scene.run(out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), 1u);
  const json sun = items[0]["properties"]["s2prep:sun_angles"];
  EXPECT_EQ(sun["source"], "computed") << sun;
  const auto& bbox = items[0]["bbox"];
  const double lon = (bbox[0].get<double>() + bbox[2].get<double>()) / 2;
  const double lat = (bbox[1].get<double>() + bbox[3].get<double>()) / 2;
  const auto expected = spencer_sun(items[0]["properties"]["datetime"], lon, lat);
  EXPECT_NEAR(sun["zenith"].get<double>(), expected[0], 0.3) << lon << " " << lat;
  EXPECT_NEAR(sun["azimuth"].get<double>(), expected[1], 0.3) << lon << " " << lat;
  EXPECT_TRUE(contains(r.err, "computed")) << r.err;
}

TEST(ModelDirCli, AMissingModelFolderIsExit2NamingItAndWritesNothing) {
  TempDir base("s2prep-cli-model-dir");
  const fs::path missing = base.path() / "no-such-models";
  const fs::path out = base.path() / "out";
  struct Case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string origin;
  };
  const std::vector<std::string> run{"run",         "--geometry", demo_region(),
                                     "--start",     kDate[0],     "--end",
                                     kDate[1],      "--stac-url", "http://127.0.0.1:9/stac",
                                     "--token-url", "none",       "--out",
                                     out.string()};
  auto with = [](std::vector<std::string> a, std::vector<std::string> extra) {
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const std::vector<Case> cases{
      {with(run, {"--model-dir", missing.string()}), {}, "--model-dir"},
      {run, {{"S2PREP_MODEL_DIR", missing.string()}}, "S2PREP_MODEL_DIR"},
      {{"models", "--model-dir", missing.string()}, {}, "--model-dir"},
      {{"models"}, {{"S2PREP_MODEL_DIR", missing.string()}}, "S2PREP_MODEL_DIR"},
  };
  for (const auto& c : cases) {
    const auto r = s2prep(c.args, c.env);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    const auto errors = error_lines(r.err);
    ASSERT_EQ(errors.size(), 1u) << r.err;
    EXPECT_TRUE(contains(errors[0], missing.string())) << errors[0];
    EXPECT_TRUE(contains(errors[0], "does not exist")) << errors[0];
    EXPECT_TRUE(contains(errors[0], c.origin)) << errors[0];
    EXPECT_FALSE(fs::exists(out)) << "nothing may be written";
  }
  // A file is not a folder either.
  write_text(base.path() / "models.txt", "x");
  const auto r = s2prep(with(run, {"--model-dir", (base.path() / "models.txt").string()}));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  ASSERT_EQ(error_lines(r.err).size(), 1u) << r.err;
  EXPECT_TRUE(contains(error_lines(r.err)[0], "is not a folder")) << r.err;
}

TEST_F(SunCli, SummarySaysWhenAutoFellBackToTheBuiltinDetector) {
  TempDir models("s2prep-cli-empty-models");
  const EditedScene scene([](json&) {});
  const auto r = scene.run(out_.path(), {"--model-dir", models.path().string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  // Below the table, on stdout, naming the missing file and the folder.
  const auto table_end = r.out.find("percentages of the valid pixels");
  ASSERT_NE(table_end, std::string::npos) << r.out;
  const std::string summary = r.out.substr(0, table_end);
  EXPECT_TRUE(contains(
      summary, "No cloud_model2_cpu.onnx in the model folder '" + models.path().string() + "'"))
      << r.out;
  EXPECT_TRUE(contains(summary, "built-in cloud detector")) << r.out;
  EXPECT_TRUE(contains(summary, "No shadow.onnx")) << r.out;
}

}  // namespace
}  // namespace s2prep::clitest
