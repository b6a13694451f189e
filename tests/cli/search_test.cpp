// `s2prep search` run as a user would, against the local STAC server holding Items built here:
// paging, retries, tile selection (1, 2, 3 tiles, two UTM zones), exit codes, the --json
// contract of INTERFACE.md, and the key never shown.
#include <gtest/gtest.h>

#include <set>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

// Three tiles side by side between 48 N and 49 N: one in UTM zone 32 (west of 12 E) and two in
// zone 33, each overlapping its neighbour by 0.1 degree.
struct TileBox {
  const char* tile;
  int epsg;
  double lon0, lon1;
};
constexpr TileBox kTiles[] = {
    {"32UPU", 32632, 10.8, 12.05}, {"33UUP", 32633, 11.95, 13.3}, {"33UVP", 32633, 13.2, 14.6}};
constexpr double kLat0 = 48.0, kLat1 = 49.0;

struct Acq {
  const char* datetime;  // sensing time
  const char* compact;   // the same, as in product names
  std::vector<std::string> tiles;
};
// Time order differs from insertion order on purpose.
const std::vector<Acq> kAcquisitions{
    {"2023-06-11T10:15:59.024Z", "20230611T101559", {"33UUP", "33UVP"}},
    {"2023-06-01T10:05:59.024Z", "20230601T100559", {"32UPU", "33UUP", "33UVP"}},
    {"2023-06-06T10:10:31.024Z", "20230606T101031", {"32UPU", "33UUP", "33UVP"}},
};

json polygon(double lon0, double lat0, double lon1, double lat1) {
  return {
      {"type", "Polygon"},
      {"coordinates", {{{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1}, {lon0, lat0}}}}};
}

std::string wkt_box(double lon0, double lat0, double lon1, double lat1) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "POLYGON((%.4f %.4f, %.4f %.4f, %.4f %.4f, %.4f %.4f, %.4f %.4f))",
                lon0, lat0, lon1, lat0, lon1, lat1, lon0, lat1, lon0, lat0);
  return buf;
}

json make_item(const Acq& acq, const TileBox& tile, double cloud_cover) {
  const std::string id = std::string("S2B_MSIL2A_") + acq.compact + "_R022_T" + tile.tile + "_" +
                         std::string(acq.compact).substr(0, 8) + "T150212";
  return {{"type", "Feature"},
          {"stac_version", "1.0.0"},
          {"id", id},
          {"collection", "sentinel-2-l2a"},
          {"geometry", polygon(tile.lon0, kLat0, tile.lon1, kLat1)},
          {"bbox", {tile.lon0, kLat0, tile.lon1, kLat1}},
          {"properties",
           {{"datetime", acq.datetime},
            {"platform", "Sentinel-2B"},
            {"s2:mgrs_tile", tile.tile},
            {"proj:epsg", tile.epsg},
            {"eo:cloud_cover", cloud_cover},
            {"s2:nodata_pixel_percentage", 0.0},
            {"s2:processing_baseline", "05.09"}}},
          {"assets",
           {{"B02",
             {{"href", std::string("https://example.invalid/") + id + "/B02.tif"},
              {"type", "image/tiff; application=geotiff; profile=cloud-optimized"}}}}},
          {"links", json::array()}};
}

class SearchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    double cloud = 5;
    for (const auto& acq : kAcquisitions) {
      for (const auto& t : kTiles) {
        if (std::find(acq.tiles.begin(), acq.tiles.end(), t.tile) == acq.tiles.end()) continue;
        server_.add_item(make_item(acq, t, cloud));
        cloud += 7;
      }
    }
  }

  RunResult search(std::string geometry, std::vector<std::string> extra = {},
                   std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args{"search",     "--geometry", std::move(geometry),
                                  "--start",    "2023-06-01", "--end",
                                  "2023-06-30", "--stac-url", server_.stac_url()};
    args.insert(args.end(), extra.begin(), extra.end());
    return s2prep(args, std::move(env));
  }

  // The tiles of each selected acquisition, from --json.
  static std::vector<std::set<std::string>> tiles_of(const json& j) {
    std::vector<std::set<std::string>> out;
    for (const auto& a : j.at("acquisitions")) {
      out.push_back(a.at("tiles").get<std::set<std::string>>());
    }
    return out;
  }

  TestServer server_;
};

// INTERFACE.md: exactly one JSON object on stdout with these keys and types, in time order.
void expect_interface_json(const json& j) {
  ASSERT_TRUE(j.is_object());
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"acquisitions", "skipped"}));
  ASSERT_TRUE(j.at("acquisitions").is_array());
  ASSERT_TRUE(j.at("skipped").is_array());
  std::string previous;
  for (const auto& a : j.at("acquisitions")) {
    std::set<std::string> ak;
    for (const auto& [k, v] : a.items()) ak.insert(k);
    EXPECT_EQ(ak, (std::set<std::string>{"datetime", "items", "tiles", "coverage"}));
    ASSERT_TRUE(a.at("datetime").is_string());
    const auto dt = a.at("datetime").get<std::string>();
    EXPECT_TRUE(parse_time(dt).has_value()) << dt;
    EXPECT_EQ(dt.back(), 'Z') << "UTC date-time: " << dt;
    EXPECT_LT(previous, dt) << "acquisitions must be in time order";
    previous = dt;
    ASSERT_TRUE(a.at("items").is_array());
    ASSERT_FALSE(a.at("items").empty());
    for (const auto& i : a.at("items")) EXPECT_TRUE(i.is_string());
    ASSERT_TRUE(a.at("tiles").is_array());
    for (const auto& t : a.at("tiles")) EXPECT_TRUE(t.is_string());
    ASSERT_TRUE(a.at("coverage").is_number());
    EXPECT_GE(a.at("coverage").get<double>(), 0.0);
    EXPECT_LE(a.at("coverage").get<double>(), 1.0);
  }
  previous.clear();
  for (const auto& s : j.at("skipped")) {
    std::set<std::string> sk;
    for (const auto& [k, v] : s.items()) sk.insert(k);
    EXPECT_EQ(sk, (std::set<std::string>{"datetime", "items", "reason"}));
    EXPECT_TRUE(s.at("datetime").is_string());
    EXPECT_LT(previous, s.at("datetime").get<std::string>());
    previous = s.at("datetime").get<std::string>();
    EXPECT_TRUE(s.at("items").is_array());
    EXPECT_TRUE(s.at("reason").is_string());
    EXPECT_FALSE(s.at("reason").get<std::string>().empty());
  }
}

TEST_F(SearchCli, JsonFollowsTheInterfaceAcrossSeveralPages) {
  server_.set_max_page_size(2);  // 8 items: at least 4 pages
  const auto r = search(wkt_box(11.9, 48.4, 13.5, 48.6), {"--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json j = json::parse(r.out);  // throws unless stdout is exactly one JSON document
  expect_interface_json(j);
  // The two acquisitions with all three tiles need all three; the third lacks 32UPU.
  ASSERT_EQ(j["acquisitions"].size(), 2u) << j.dump(1);
  EXPECT_EQ(j["acquisitions"][0]["datetime"], "2023-06-01T10:05:59.024000Z");
  EXPECT_EQ(j["acquisitions"][1]["datetime"], "2023-06-06T10:10:31.024000Z");
  for (const auto& tiles : tiles_of(j)) {
    EXPECT_EQ(tiles, (std::set<std::string>{"32UPU", "33UUP", "33UVP"}));
  }
  for (const auto& a : j["acquisitions"]) {
    EXPECT_EQ(a["items"].size(), 3u);
    EXPECT_GE(a["coverage"].get<double>(), 0.99);
  }
  ASSERT_EQ(j["skipped"].size(), 1u);
  EXPECT_EQ(j["skipped"][0]["datetime"], "2023-06-11T10:15:59.024000Z");
  EXPECT_TRUE(contains(j["skipped"][0]["reason"].get<std::string>(), "covers"));
  EXPECT_EQ(j["skipped"][0]["items"].size(), 2u);
  // Every page was fetched: 8 items at 2 per page.
  EXPECT_GE(server_.request_count("/stac/search"), 4);
}

TEST_F(SearchCli, PagingWithFullBodyNextLinks) {
  server_.set_max_page_size(3);
  server_.set_next_link_full_body(true);
  const auto r = search(wkt_box(11.9, 48.4, 13.5, 48.6), {"--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["acquisitions"].size(), 2u);
  EXPECT_EQ(j["skipped"].size(), 1u);
  EXPECT_GE(server_.request_count("/stac/search"), 3);
}

TEST_F(SearchCli, RegionsNeedingOneTwoAndThreeTiles) {
  struct Case {
    std::string geometry;
    std::set<std::string> tiles;
  };
  const std::vector<Case> cases{
      {wkt_box(12.4, 48.4, 12.6, 48.6), {"33UUP"}},
      {wkt_box(13.1, 48.4, 13.4, 48.6), {"33UUP", "33UVP"}},
      {wkt_box(11.9, 48.4, 13.5, 48.6), {"32UPU", "33UUP", "33UVP"}},
  };
  for (const auto& c : cases) {
    const auto r = search(c.geometry, {"--json"});
    ASSERT_EQ(r.exit_code, 0) << c.geometry << "\n" << describe(r);
    const json j = json::parse(r.out);
    ASSERT_FALSE(j["acquisitions"].empty()) << c.geometry;
    for (const auto& tiles : tiles_of(j)) EXPECT_EQ(tiles, c.tiles) << c.geometry;
    for (const auto& a : j["acquisitions"]) {
      EXPECT_EQ(a["items"].size(), c.tiles.size());
      EXPECT_GE(a["coverage"].get<double>(), 0.99);
    }
  }
}

TEST_F(SearchCli, RegionAcrossTwoUtmZones) {
  // 11.9-12.1 E straddles the zone 32/33 boundary at 12 E: only a tile of each zone covers it.
  const auto r = search(wkt_box(11.9, 48.4, 12.1, 48.6), {"--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json j = json::parse(r.out);
  expect_interface_json(j);
  ASSERT_EQ(j["acquisitions"].size(), 2u);
  for (const auto& tiles : tiles_of(j)) {
    EXPECT_EQ(tiles, (std::set<std::string>{"32UPU", "33UUP"}));
  }
  for (const auto& a : j["acquisitions"]) {
    EXPECT_GE(a["coverage"].get<double>(), 0.99);
  }
  // The third acquisition has only 33UUP here: it covers 11.95-12.1 of 11.9-12.1, i.e. ~3/4 of
  // the width (areas in an equal-area projection: about 0.75).
  ASSERT_EQ(j["skipped"].size(), 1u);
  EXPECT_TRUE(contains(j["skipped"][0]["reason"].get<std::string>(), "0.7"))
      << j["skipped"][0]["reason"];
}

TEST_F(SearchCli, MinTileCoverAndMaxTilesPerTime) {
  // With at most 2 tiles, the three-tile region cannot be covered at any acquisition.
  const auto limited = search(wkt_box(11.9, 48.4, 13.5, 48.6), {"--max-tiles-per-time", "2"});
  EXPECT_EQ(limited.exit_code, 3) << describe(limited);
  // A lower threshold accepts the third acquisition, which covers ~0.97 of the region.
  const auto lowered =
      search(wkt_box(11.9, 48.4, 13.5, 48.6), {"--json", "--min-tile-cover", "0.9"});
  ASSERT_EQ(lowered.exit_code, 0) << describe(lowered);
  const json j = json::parse(lowered.out);
  ASSERT_EQ(j["acquisitions"].size(), 3u);
  EXPECT_TRUE(j["skipped"].empty());
  const double c = j["acquisitions"][2]["coverage"].get<double>();
  EXPECT_GT(c, 0.9);
  EXPECT_LT(c, 0.99);
}

TEST_F(SearchCli, TableListsAcquisitionsAndSkipped) {
  const auto r = search(wkt_box(11.9, 48.4, 13.5, 48.6));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "2023-06-01T10:05:59"));
  EXPECT_TRUE(contains(r.out, "S2B_MSIL2A_20230601T100559_R022_T32UPU_20230601T150212"));
  EXPECT_TRUE(contains(r.out, "32UPU"));
  EXPECT_TRUE(contains(r.out, "Skipped"));
}

TEST_F(SearchCli, BurstOf429EndsInSuccess) {
  server_.inject("/stac/search", Fault::http_status(429, 0, 3));
  const auto r = search(wkt_box(12.4, 48.4, 12.6, 48.6), {"--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out)["acquisitions"].size(), 3u);
  EXPECT_GE(server_.request_count("/stac/search"), 4);  // three refusals, then the answer
}

TEST_F(SearchCli, ServiceThatKeepsFailingIsExit1NamingTheUrl) {
  server_.inject("/stac/search", Fault::http_status(503, 0, 100));
  const auto r = search(wkt_box(12.4, 48.4, 12.6, 48.6));
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], server_.stac_url())) << errors[0];
  EXPECT_TRUE(contains(errors[0], "503")) << errors[0];
}

TEST_F(SearchCli, NoAcquisitionCanCoverTheRegionIsExit3) {
  // 14.5-14.8 E: the easternmost tile ends at 14.6, so a third of the region is never covered.
  const auto r = search(wkt_box(14.5, 48.4, 14.8, 48.6));
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], "min_tile_cover") || contains(errors[0], "min-tile-cover"))
      << errors[0];
  EXPECT_TRUE(r.out.empty() || !contains(r.out, "acquisitions")) << r.out;
}

TEST_F(SearchCli, NothingFoundIsExit3) {
  const auto far = search(wkt_box(30.0, 48.4, 30.2, 48.6));
  EXPECT_EQ(far.exit_code, 3) << describe(far);
  ASSERT_EQ(error_lines(far.err).size(), 1u) << far.err;
  const auto later =
      s2prep({"search", "--geometry", wkt_box(12.4, 48.4, 12.6, 48.6), "--start", "2024-01-01",
              "--end", "2024-02-01", "--stac-url", server_.stac_url(), "--json"});
  EXPECT_EQ(later.exit_code, 3) << describe(later);
}

TEST_F(SearchCli, StacUrlFromTheEnvironment) {
  const auto r = s2prep({"search", "--geometry", wkt_box(12.4, 48.4, 12.6, 48.6), "--start",
                         "2023-06-01", "--end", "2023-06-30", "--json"},
                        {{"S2PREP_STAC_URL", server_.stac_url()}});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out)["acquisitions"].size(), 3u);
}

TEST_F(SearchCli, KeyNeverShown) {
  const std::string key = "search-secret-key-5f1c9a";
  const std::string env_key = "search-env-key-77aa21";
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"--pc-key", key}, {"--pc-key", key, "--json"}, {"-v", "--pc-key", key}}) {
    const auto r = search(wkt_box(12.4, 48.4, 12.6, 48.6), extra);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_FALSE(contains(r.out + r.err, key)) << describe(r);
  }
  const auto r =
      search(wkt_box(12.4, 48.4, 12.6, 48.6), {"-v"}, {{"PC_SDK_SUBSCRIPTION_KEY", env_key}});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(contains(r.out + r.err, env_key)) << describe(r);
  // A failing service must not echo it either.
  server_.inject("/stac/search", Fault::http_status(500, 0, 100));
  const auto failed = search(wkt_box(12.4, 48.4, 12.6, 48.6), {"--pc-key", key});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_FALSE(contains(failed.out + failed.err, key)) << describe(failed);
}

}  // namespace
}  // namespace s2prep::clitest
