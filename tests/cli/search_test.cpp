// `s2prep search` run as a user would, against the local STAC server holding Items built here:
// paging, retries, tile selection (1, 2, 3 tiles, two UTM zones), exit codes, the --json
// command-line contract, and the key never shown.
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

// The contract: exactly one JSON object on stdout with these keys and types, in time order.
void expect_interface_json(const json& j) {
  ASSERT_TRUE(j.is_object());
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"acquisitions", "skipped", "complete", "warnings"}));
  ASSERT_TRUE(j.at("complete").is_boolean());
  ASSERT_TRUE(j.at("warnings").is_array());
  EXPECT_EQ(j.at("complete").get<bool>(), j.at("warnings").empty());
  ASSERT_TRUE(j.at("acquisitions").is_array());
  ASSERT_TRUE(j.at("skipped").is_array());
  std::string previous;
  for (const auto& a : j.at("acquisitions")) {
    std::set<std::string> ak;
    for (const auto& [k, v] : a.items()) ak.insert(k);
    EXPECT_EQ(ak, (std::set<std::string>{"datetime", "items", "tiles", "coverage", "cloud_cover"}));
    EXPECT_TRUE(a.at("cloud_cover").is_number() || a.at("cloud_cover").is_null());
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

// Planetary Computer since January 2026: no next link, no count, pages capped below the limit.
void like_planetary_computer(TestServer& server, int page_cap) {
  server.set_paging_links(false);
  server.set_number_matched(false);
  server.set_context_matched(false);
  server.set_max_page_size(page_cap);
}

// 13 acquisitions of tile 33UUP, June 1 to 13.
void add_thirteen_dates(TestServer& server) {
  server.clear_items();
  for (int day = 1; day <= 13; ++day) {
    char datetime[40], compact[20];
    std::snprintf(datetime, sizeof datetime, "2023-06-%02dT10:05:59.024Z", day);
    std::snprintf(compact, sizeof compact, "202306%02dT100559", day);
    server.add_item(make_item(Acq{datetime, compact, {"33UUP"}}, kTiles[1], 2.0 * day));
  }
}

TEST_F(SearchCli, ThirteenDatesWithoutNextLinksAndPagesOfFive) {
  add_thirteen_dates(server_);
  like_planetary_computer(server_, 5);
  const auto r = search(wkt_box(12.4, 48.4, 12.6, 48.6), {"--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json j = json::parse(r.out);
  expect_interface_json(j);
  EXPECT_EQ(j["acquisitions"].size(), 13u) << j.dump(1);
  EXPECT_EQ(j["complete"], true);
  EXPECT_EQ(j["acquisitions"][12]["datetime"], "2023-06-13T10:05:59.024000Z");
  EXPECT_GE(server_.request_count("/stac/search"), 3);  // 13 items at 5 a page

  const auto table = search(wkt_box(12.4, 48.4, 12.6, 48.6));
  ASSERT_EQ(table.exit_code, 0) << describe(table);
  EXPECT_TRUE(contains(table.out, "13 acquisitions selected")) << table.out;
  EXPECT_FALSE(contains(table.out, "WARNING")) << table.out;
}

TEST_F(SearchCli, PossiblyTruncatedSearchWarnsAndExits1) {
  add_thirteen_dates(server_);
  like_planetary_computer(server_, 5);
  // A service that ignores sortby and query, whose pages look sorted by id: nothing can prove
  // that the first page was all there is.
  server_.set_sort_and_query(false);
  const auto r = search(wkt_box(12.4, 48.4, 12.6, 48.6), {"--json"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["complete"], false);
  ASSERT_FALSE(j["warnings"].empty());
  EXPECT_TRUE(contains(j["warnings"][0].get<std::string>(), "incomplete")) << j["warnings"];
  EXPECT_TRUE(j["error"].is_string());
  EXPECT_EQ(j["acquisitions"].size(), 5u);  // what was found is still listed
  EXPECT_EQ(error_lines(r.err).size(), 1u) << r.err;

  const auto table = search(wkt_box(12.4, 48.4, 12.6, 48.6));
  EXPECT_EQ(table.exit_code, 1) << describe(table);
  EXPECT_TRUE(contains(table.out, "INCOMPLETE")) << table.out;
  EXPECT_TRUE(contains(table.out, "5 acquisitions selected")) << table.out;

  // run refuses to start on it, before creating anything.
  TempDir tmp;
  const fs::path out = tmp.path() / "out";
  const auto run = s2prep({"run", "--geometry", wkt_box(12.4, 48.4, 12.6, 48.6), "--start",
                           "2023-06-01", "--end", "2023-06-30", "--stac-url", server_.stac_url(),
                           "--token-url", "none", "--out", out.string()});
  EXPECT_EQ(run.exit_code, 1) << describe(run);
  const auto errors = error_lines(run.err);
  ASSERT_EQ(errors.size(), 1u) << run.err;
  EXPECT_TRUE(contains(errors[0], "--allow-incomplete")) << errors[0];
  EXPECT_FALSE(fs::exists(out));
}

TEST(SearchCliRun, RunOnAPossiblyIncompleteSearchNeedsAllowIncomplete) {
  ServedScene served;
  // Pages of two items (the date's two tiles), no next link, no count, sortby and query
  // ignored: nothing can show whether more exist.
  like_planetary_computer(served.server, 2);
  served.server.set_sort_and_query(false);
  TempDir tmp;
  const std::array<std::string, 2> dates{"2023-09-01", "2023-09-01"};
  const auto refused = served.run(demo_region(), dates, tmp / "refused");
  EXPECT_EQ(refused.exit_code, 1) << describe(refused);
  const auto errors = error_lines(refused.err);
  ASSERT_EQ(errors.size(), 1u) << refused.err;
  EXPECT_TRUE(contains(errors[0], "--allow-incomplete")) << errors[0];
  EXPECT_FALSE(fs::exists(tmp / "refused"));

  const auto allowed =
      served.run(demo_region(), dates, tmp / "allowed", {"--allow-incomplete", "--quiet"});
  ASSERT_EQ(allowed.exit_code, 0) << describe(allowed);
  EXPECT_TRUE(contains(allowed.err, "may be incomplete")) << allowed.err;
  EXPECT_EQ(output_items(tmp / "allowed").size(), 1u);
}

TEST_F(SearchCli, JsonOnExit3IsOneObjectListingTheSkipped) {
  const auto r = search(wkt_box(14.5, 48.4, 14.8, 48.6), {"--json"});
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  const json j = json::parse(r.out);  // exactly one document
  expect_interface_json(j);
  EXPECT_TRUE(j["acquisitions"].empty());
  EXPECT_EQ(j["skipped"].size(), 3u);
  EXPECT_EQ(j["complete"], true);
  EXPECT_FALSE(j.contains("error"));
  EXPECT_EQ(error_lines(r.err).size(), 1u) << r.err;

  const auto nothing = search(wkt_box(30.0, 48.4, 30.2, 48.6), {"--json"});
  EXPECT_EQ(nothing.exit_code, 3) << describe(nothing);
  const json none = json::parse(nothing.out);
  expect_interface_json(none);
  EXPECT_TRUE(none["acquisitions"].empty());
  EXPECT_TRUE(none["skipped"].empty());
}

TEST_F(SearchCli, JsonOnErrorsIsOneObjectWithTheError) {
  const std::vector<std::vector<std::string>> cases{
      {"search", "--geometry", "POLYGON((1 2, 3", "--start", "2023-06-01", "--end", "2023-06-30",
       "--stac-url", server_.stac_url(), "--json"},  // bad geometry: exit 2
      {"search", "--geometry", wkt_box(12.4, 48.4, 12.6, 48.6), "--end", "2023-06-30", "--stac-url",
       server_.stac_url(), "--json"},  // --start missing: exit 2
      {"search", "--geometry", wkt_box(12.4, 48.4, 12.6, 48.6), "--start", "2023-06-01", "--end",
       "2023-06-30", "--stac-url", server_.stac_url(), "--max-cloud-cover", "150", "--json"}};
  for (const auto& args : cases) {
    const auto r = s2prep(args);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    const json j = json::parse(r.out);
    ASSERT_TRUE(j.is_object());
    EXPECT_TRUE(j["error"].is_string()) << j;
    EXPECT_FALSE(j["error"].get<std::string>().empty());
    EXPECT_TRUE(j["acquisitions"].empty());
    EXPECT_EQ(j["complete"], false);
  }
  server_.inject("/stac/search", Fault::http_status(503, 0, 100));
  const auto failed = search(wkt_box(12.4, 48.4, 12.6, 48.6), {"--json"});
  EXPECT_EQ(failed.exit_code, 1) << describe(failed);
  const json j = json::parse(failed.out);
  EXPECT_TRUE(contains(j["error"].get<std::string>(), "503")) << j;
}

TEST_F(SearchCli, MaxCloudCover) {
  // Over 33UUP alone the acquisitions use one item each, with eo:cloud_cover 26 (June 1),
  // 47 (June 6) and 5 (June 11) (SetUp's counter: 5, then +7 per item added).
  const std::string region = wkt_box(12.4, 48.4, 12.6, 48.6);
  const auto all = search(region, {"--json"});
  ASSERT_EQ(all.exit_code, 0) << describe(all);
  const json a = json::parse(all.out);
  ASSERT_EQ(a["acquisitions"].size(), 3u);
  EXPECT_DOUBLE_EQ(a["acquisitions"][0]["cloud_cover"].get<double>(), 26.0);
  EXPECT_DOUBLE_EQ(a["acquisitions"][1]["cloud_cover"].get<double>(), 47.0);
  EXPECT_DOUBLE_EQ(a["acquisitions"][2]["cloud_cover"].get<double>(), 5.0);

  // The service filters: the June 6 acquisition is not even returned.
  const auto filtered = search(region, {"--json", "--max-cloud-cover", "30"});
  ASSERT_EQ(filtered.exit_code, 0) << describe(filtered);
  const json f = json::parse(filtered.out);
  expect_interface_json(f);
  ASSERT_EQ(f["acquisitions"].size(), 2u);
  EXPECT_EQ(f["acquisitions"][0]["datetime"], "2023-06-01T10:05:59.024000Z");
  EXPECT_EQ(f["acquisitions"][1]["datetime"], "2023-06-11T10:15:59.024000Z");
  for (const auto& r : server_.requests()) {
    if (r.path != "/stac/search") continue;
    const json body = json::parse(r.body);
    if (body.contains("query") && body["query"].contains("eo:cloud_cover")) {
      EXPECT_EQ(body["query"]["eo:cloud_cover"], json({{"lte", 30.0}}));
    }
  }

  // A service that ignores the query: s2prep skips the acquisition itself, saying why.
  server_.set_sort_and_query(false);
  const auto local = search(region, {"--json", "--max-cloud-cover", "30"});
  ASSERT_EQ(local.exit_code, 0) << describe(local);
  const json l = json::parse(local.out);
  expect_interface_json(l);
  ASSERT_EQ(l["acquisitions"].size(), 2u);
  ASSERT_EQ(l["skipped"].size(), 1u);
  EXPECT_EQ(l["skipped"][0]["datetime"], "2023-06-06T10:10:31.024000Z");
  EXPECT_TRUE(contains(l["skipped"][0]["reason"].get<std::string>(), "eo:cloud_cover"))
      << l["skipped"][0];
  EXPECT_TRUE(contains(l["skipped"][0]["reason"].get<std::string>(), "30")) << l["skipped"][0];

  // Nothing clear enough: exit 3, the skipped listed.
  const auto none = search(region, {"--json", "--max-cloud-cover", "1"});
  EXPECT_EQ(none.exit_code, 3) << describe(none);
  EXPECT_EQ(json::parse(none.out)["skipped"].size(), 3u);
  EXPECT_TRUE(contains(error_lines(none.err).at(0), "--max-cloud-cover")) << none.err;
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
