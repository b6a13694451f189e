// The user's side of the command line: parameters files, --print-params, quicklooks and
// index.html, --log-json, --quiet, --help.
#include <gtest/gtest.h>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

const std::array<std::string, 2> kDate{"2023-08-12", "2023-08-12"};

class UxCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { shared_scene(); }

  // `run --print-params` with the given extra flags: the resolved parameters.
  RunResult print_params(std::vector<std::string> extra,
                         std::map<std::string, std::string> env = {}) {
    extra.push_back("--print-params");
    return served_.run(demo_region(), kDate, out_.path() / "never", std::move(extra),
                       std::move(env));
  }
  fs::path file(const std::string& name, const std::string& text) {
    write_text(files_.path() / name, text);
    return files_.path() / name;
  }

  ServedScene served_;
  TempDir out_{"s2prep-cli-ux"};
  TempDir files_{"s2prep-cli-params"};
};

TEST_F(UxCli, ParamsFilesYamlAndJsonWithFlagsWinning) {
  const auto yaml = file("params.yaml",
                         "# workflow parameters\n"
                         "min_tile_cover: 0.5\n"
                         "max_tiles_per_time: 2\n"
                         "cloud_thr: 0.45\n"
                         "shadow_thr: 0.15\n"
                         "in_memory: true\n"
                         "cloud_model: builtin\n"
                         "shadow_model: builtin\n"
                         "dl_timeout: 33\n");
  const auto json_file = file("params.json",
                              R"({"min_tile_cover": 0.5, "max_tiles_per_time": 2,
                                  "cloud_thr": 0.45, "shadow_thr": 0.15, "in_memory": true,
                                  "cloud_model": "builtin", "shadow_model": "builtin",
                                  "dl_timeout": 33})");
  for (const auto& params : {yaml, json_file}) {
    SCOPED_TRACE(params.string());
    const auto r = print_params({"--params", params.string()});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json p = json::parse(r.out);
    EXPECT_EQ(p["min_tile_cover"], 0.5);
    EXPECT_EQ(p["max_tiles_per_time"], 2);
    EXPECT_EQ(p["cloud_thr"], 0.45);
    EXPECT_EQ(p["shadow_thr"], 0.15);
    EXPECT_EQ(p["in_memory"], true);
    EXPECT_EQ(p["cloud_model"], "builtin");
    EXPECT_EQ(p["dl_timeout"], 33.0);
    // Flags given on the command line win over the file.
    const auto flags =
        print_params({"--params", params.string(), "--cloud-thr", "0.7", "--min-tile-cover", "0.8",
                      "--max-tiles-per-time", "3", "--dl-timeout", "9"});
    ASSERT_EQ(flags.exit_code, 0) << describe(flags);
    const json f = json::parse(flags.out);
    EXPECT_EQ(f["cloud_thr"], 0.7);
    EXPECT_EQ(f["min_tile_cover"], 0.8);
    EXPECT_EQ(f["max_tiles_per_time"], 3);
    EXPECT_EQ(f["dl_timeout"], 9.0);
    EXPECT_EQ(f["shadow_thr"], 0.15);  // from the file
  }
  // --print-params reads nothing from the services and writes nothing.
  EXPECT_EQ(served_.server.request_count("/"), 0);
  EXPECT_FALSE(fs::exists(out_.path() / "never"));
}

TEST_F(UxCli, DefaultsPrinted) {
  const auto r = print_params({});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json p = json::parse(r.out);
  EXPECT_EQ(p["min_tile_cover"], 0.99);
  EXPECT_TRUE(p["max_tiles_per_time"].is_null());
  EXPECT_EQ(p["cloud_thr"], 0.3);
  EXPECT_EQ(p["shadow_thr"], 0.2);
  EXPECT_EQ(p["in_memory"], false);
  EXPECT_EQ(p["cloud_model"], "auto");
  EXPECT_EQ(p["shadow_model"], "auto");
  EXPECT_EQ(p["dl_timeout"], 120.0);
  EXPECT_TRUE(p["pc_key"].is_null());
}

TEST_F(UxCli, PrintParamsNeverShowsTheKey) {
  const std::string flag_key = "flag-key-aa11", env_key = "env-key-bb22",
                    file_key = "file-key-cc33";
  const auto params = file("key.yaml", "pc_key: " + file_key + "\n");
  for (const auto& [extra, env] :
       std::vector<std::pair<std::vector<std::string>, std::map<std::string, std::string>>>{
           {{"--pc-key", flag_key}, {}},
           {{}, {{"PC_SDK_SUBSCRIPTION_KEY", env_key}}},
           {{"--params", params.string()}, {}}}) {
    const auto r = print_params(extra, env);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    for (const auto& key : {flag_key, env_key, file_key}) {
      EXPECT_FALSE(contains(r.out + r.err, key)) << describe(r);
    }
    EXPECT_FALSE(json::parse(r.out)["pc_key"].is_null()) << "says that a key is set";
  }
}

TEST_F(UxCli, ParamsFileErrorsNameTheKey) {
  struct Case {
    std::string text;
    std::string key;
  };
  const std::vector<Case> cases{
      {"cloud_thr: 0.4\ncloud_threshold: 0.5\n", "cloud_threshold"},
      {"cloud_thr: high\n", "cloud_thr"},
      {"max_tiles_per_time: 1.5\n", "max_tiles_per_time"},
      {"in_memory: [1, 2]\n", "in_memory"},
      {R"({"min_tile_cover": "most"})", "min_tile_cover"},
      {R"({"dl_timeout": 60, "pc-key": "x"})", "pc-key"},
  };
  for (const auto& c : cases) {
    const auto params = file("bad.yaml", c.text);
    const auto r = print_params({"--params", params.string()});
    EXPECT_EQ(r.exit_code, 2) << c.text << describe(r);
    const auto errors = error_lines(r.err);
    ASSERT_EQ(errors.size(), 1u) << r.err;
    EXPECT_TRUE(contains(errors[0], "'" + c.key + "'")) << errors[0];
    EXPECT_TRUE(contains(errors[0], params.string())) << errors[0];
  }
  // Out of range in the file: still exit 2 naming the parameter.
  const auto range = print_params({"--params", file("range.yaml", "cloud_thr: 1.5\n").string()});
  EXPECT_EQ(range.exit_code, 2) << describe(range);
  EXPECT_TRUE(contains(range.err, "cloud_thr")) << range.err;
  // A file that does not exist.
  const auto missing = print_params({"--params", (files_.path() / "nope.yaml").string()});
  EXPECT_EQ(missing.exit_code, 2) << describe(missing);
  EXPECT_TRUE(contains(missing.err, "nope.yaml")) << missing.err;
}

TEST_F(UxCli, ParamsFileDrivesTheRun) {
  const auto params = file("run.yaml", "cloud_thr: 0.55\nshadow_thr: 0.35\n");
  const auto r = served_.run(demo_region(), kDate, out_.path(), {"--params", params.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["properties"]["s2prep:cloud_thr"], 0.55);
  EXPECT_EQ(items[0]["properties"]["s2prep:shadow_thr"], 0.35);
  EXPECT_EQ(read_json(out_.path() / "run.json")["parameters"]["cloud_thr"], 0.55);
}

// Pixels of a quicklook (3 bands, band-sequential) read back with GDAL's PNG driver.
struct Png {
  int width = 0, height = 0;
  std::array<std::vector<double>, 3> rgb;
};
Png read_png(const fs::path& p) {
  const RasterInfo info = raster_info(p);
  Png png;
  png.width = info.width;
  png.height = info.height;
  EXPECT_GE(info.bands, 3) << p;
  EXPECT_EQ(info.type, GDT_Byte) << p;
  for (int b = 0; b < 3; ++b) png.rgb[b] = read_band(p, b + 1);
  return png;
}

TEST_F(UxCli, QuicklooksShowTheMaskWhereTheMaskSays) {
  const auto r =
      served_.run(demo_region(), {"2021-06-01", "2023-12-31"}, out_.path(), {"--quicklook"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto items = output_items(out_.path());
  ASSERT_GE(items.size(), 2u);
  std::size_t masked_total = 0;
  for (const auto& item : items) {
    ASSERT_TRUE(item["assets"].contains("quicklook")) << item["id"];
    const std::string href = item["assets"]["quicklook"]["href"];
    EXPECT_EQ(href, item["id"].get<std::string>() + "_quicklook.png");
    const Png png = read_png(out_.path() / href);
    const RasterInfo raster = raster_info(asset_path(out_.path(), item, "raster"));
    EXPECT_EQ(png.width, raster.width);
    EXPECT_EQ(png.height, raster.height);
    const auto mask = read_band(asset_path(out_.path(), item, "mask"), 1);
    ASSERT_EQ(mask.size(), png.rgb[0].size());
    // Masked pixels are blended half-way towards magenta (255, 0, 255): red and blue at least
    // 128, green at most 128. Clear ground almost never looks like that.
    std::size_t clear = 0, clear_magenta = 0;
    for (std::size_t i = 0; i < mask.size(); ++i) {
      const double red = png.rgb[0][i], green = png.rgb[1][i], blue = png.rgb[2][i];
      const bool magenta = red >= 127.5 && blue >= 127.5 && green <= 128;
      if (mask[i] == 1) {
        ++masked_total;
        ASSERT_TRUE(magenta) << item["id"] << " pixel " << i << ": " << red << "," << green << ","
                             << blue;
      } else if (mask[i] == 0) {
        ++clear;
        if (magenta) ++clear_magenta;
      } else {
        EXPECT_EQ(red, 40);  // no data: dark grey
        EXPECT_EQ(green, 40);
        EXPECT_EQ(blue, 40);
      }
    }
    EXPECT_LE(clear_magenta, clear / 20) << item["id"];
  }
  EXPECT_GT(masked_total, 0u) << "the scene has clouds over the region";
  // The contact sheet holds every quicklook; index.html shows them with the summary.
  const Png sheet = read_png(out_.path() / "contact_sheet.png");
  EXPECT_GT(sheet.width, 2 * raster_info(asset_path(out_.path(), items[0], "raster")).width);
  const std::string html = read_text(out_.path() / "index.html");
  EXPECT_TRUE(contains(html, "<html"));
  EXPECT_TRUE(contains(html, "contact_sheet.png"));
  for (const auto& item : items) {
    EXPECT_TRUE(contains(html, item["id"].get<std::string>() + "_quicklook.png")) << item["id"];
    EXPECT_TRUE(contains(html, item["properties"]["datetime"].get<std::string>().substr(0, 10)));
  }
  EXPECT_TRUE(contains(html, "2023-04-03")) << "the skipped acquisition is listed";
}

TEST_F(UxCli, LogJsonGivesOneObjectPerLine) {
  const auto r = s2prep({"--log-json", "run", "--geometry", demo_region(), "--start", kDate[0],
                         "--end", kDate[1], "--stac-url", served_.server.stac_url(), "--token-url",
                         served_.server.token_url(), "--out", out_.path().string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::istringstream in(r.err);
  int lines = 0;
  for (std::string line; std::getline(in, line);) {
    ++lines;
    json record;
    ASSERT_NO_THROW(record = json::parse(line)) << line;
    ASSERT_TRUE(record.is_object()) << line;
    EXPECT_TRUE(record.contains("level")) << line;
    EXPECT_TRUE(record["message"].is_string()) << line;
    EXPECT_TRUE(parse_time(record["time"].get<std::string>()).has_value()) << line;
  }
  EXPECT_GE(lines, 3);
  // A failure is still one JSON line per log record plus the error sentence.
  const auto failed =
      s2prep({"--log-json", "search", "--geometry", demo_region(), "--start", "2020-01-01", "--end",
              "2020-01-02", "--stac-url", served_.server.stac_url()});
  EXPECT_EQ(failed.exit_code, 3);
  std::istringstream fin(failed.err);
  for (std::string line; std::getline(fin, line);) {
    if (line.rfind("s2prep: error:", 0) == 0) continue;
    EXPECT_TRUE(json::accept(line)) << line;
  }
}

TEST_F(UxCli, QuietPrintsNothingButErrors) {
  for (const auto& where : {"before", "after"}) {
    TempDir out("s2prep-cli-quiet");
    std::vector<std::string> args = served_.args(demo_region(), kDate, out.path());
    if (std::string(where) == "before") {
      args.insert(args.begin(), "--quiet");
    } else {
      args.push_back("-q");
    }
    const auto r = s2prep(args);
    ASSERT_EQ(r.exit_code, 0) << where << describe(r);
    EXPECT_EQ(r.out, "") << where;
    EXPECT_EQ(r.err, "") << where;
    EXPECT_EQ(output_items(out.path()).size(), 1u);
  }
  const auto failed = s2prep(
      {"-q", "search", "--geometry", "POINT(1 2)", "--start", "2023-01-01", "--end", "2023-01-02"});
  EXPECT_EQ(failed.exit_code, 2);
  EXPECT_EQ(error_lines(failed.err).size(), 1u) << failed.err;
}

TEST_F(UxCli, SummaryTableAfterARun) {
  const auto r = served_.run(demo_region(), kDate, out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  for (const auto& column : {"DATE", "TILES", "COVERAGE", "VALID", "CLOUD", "SHADOW", "MASKED"}) {
    EXPECT_TRUE(contains(r.out, column)) << r.out;
  }
  EXPECT_TRUE(contains(r.out, "2023-08-12")) << r.out;
  EXPECT_TRUE(contains(r.out, "33UUP,33UVP")) << r.out;
  EXPECT_TRUE(contains(r.out, "items.json")) << r.out;
}

TEST(HelpCli, EveryCommandHasHelp) {
  for (const auto& command : std::vector<std::vector<std::string>>{
           {"--help"}, {"search", "--help"}, {"run", "--help"}, {"models", "--help"}}) {
    const auto r = s2prep(command);
    EXPECT_EQ(r.exit_code, 0) << command[0] << describe(r);
    EXPECT_TRUE(contains(r.out, "--")) << r.out;
  }
  const auto run = s2prep({"run", "--help"});
  for (const auto& flag : {"--geometry",
                           "--start",
                           "--end",
                           "--stac-url",
                           "--token-url",
                           "--pc-key",
                           "--min-tile-cover",
                           "--max-tiles-per-time",
                           "--cloud-thr",
                           "--shadow-thr",
                           "--in-memory",
                           "--cloud-model",
                           "--shadow-model",
                           "--dl-timeout",
                           "--out",
                           "--params",
                           "--layout",
                           "--keep-probabilities",
                           "--print-params",
                           "--quicklook"}) {
    EXPECT_TRUE(contains(run.out, flag)) << flag;
  }
  const auto search = s2prep({"search", "--help"});
  EXPECT_TRUE(contains(search.out, "--json"));
  const auto version = s2prep({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_FALSE(version.out.empty());
}

}  // namespace
}  // namespace s2prep::clitest
