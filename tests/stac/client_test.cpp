#include "stac/client.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "core/errors.hpp"
#include "scripted_server.hpp"
#include "test_server.hpp"

namespace s2prep::stac {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::Fault;
using testing::TestServer;
namespace fs = std::filesystem;

net::HttpOptions fast_options() {
  net::HttpOptions options;
  options.sleep = [](std::chrono::milliseconds) {};
  options.connect_timeout = 2s;
  return options;
}

json make_item(int i, const std::string& collection = "sentinel-2-l2a") {
  const double x = 10.0 + 0.01 * i;
  return {{"type", "Feature"},
          {"stac_version", "1.0.0"},
          {"id", fmt::format("S2A_MSIL2A_20230601T1005{:02d}_R022_T33UUP_20230601T150000", i % 60)},
          {"collection", collection},
          {"bbox", {x, 50.0, x + 1.0, 51.0}},
          {"geometry",
           {{"type", "Polygon"},
            {"coordinates", {{{x, 50.0}, {x + 1, 50.0}, {x + 1, 51.0}, {x, 51.0}, {x, 50.0}}}}}},
          {"properties",
           {{"datetime", fmt::format("2023-06-{:02d}T10:05:59.024Z", 1 + i / 60)},
            {"s2:mgrs_tile", "33UUP"}}},
          {"assets", {{"B04", {{"href", "http://example.invalid/B04.tif"}}}}},
          {"links", json::array()}};
}

SearchRequest basic_request(int limit = 10) {
  SearchRequest r;
  r.collections = {"sentinel-2-l2a"};
  r.bbox = std::array<double, 4>{9.0, 49.0, 12.0, 52.0};
  r.datetime = "2023-06-01T00:00:00Z/2023-06-30T23:59:59Z";
  r.limit = limit;
  return r;
}

std::string error_of(StacClient& client, const SearchRequest& request) {
  try {
    client.search(request);
  } catch (const RemoteError& e) {
    return e.what();
  }
  return {};
}

TEST(SearchRequestJson, Body) {
  SearchRequest r = basic_request(50);
  r.intersects = json{{"type", "Point"}, {"coordinates", {1, 2}}};
  const json body = r.to_json();
  EXPECT_EQ(body["collections"], json({"sentinel-2-l2a"}));
  EXPECT_EQ(body["bbox"], json({9.0, 49.0, 12.0, 52.0}));
  EXPECT_EQ(body["intersects"]["type"], "Point");
  EXPECT_EQ(body["datetime"], "2023-06-01T00:00:00Z/2023-06-30T23:59:59Z");
  EXPECT_EQ(body["limit"], 50);
}

class StacSearch : public ::testing::TestWithParam<bool> {};

TEST_P(StacSearch, ThreePagesAllItemsOnce) {
  TestServer server;
  server.set_next_link_full_body(GetParam());
  std::set<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    server.add_item(make_item(i));
    expected.insert(make_item(i)["id"].get<std::string>());
  }
  server.add_item(make_item(99, "other-collection"));
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url() + "/", http);
  const auto items = client.search(basic_request(10));
  EXPECT_EQ(items.size(), 25u);
  std::set<std::string> ids;
  for (const auto& item : items) ids.insert(item.id);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(client.last_page_count(), 3);
  EXPECT_EQ(server.request_count("/stac/search"), 3);
  // Every page request carries the original filters (merged with the token).
  for (const auto& r : server.requests()) {
    const json body = json::parse(r.body);
    EXPECT_EQ(body["collections"], json({"sentinel-2-l2a"}));
    EXPECT_EQ(body["limit"], 10);
  }
}

INSTANTIATE_TEST_SUITE_P(MergeAndFullBody, StacSearch, ::testing::Values(false, true));

TEST(StacSearchPaging, MaxItemsStopsEarly) {
  TestServer server;
  for (int i = 0; i < 25; ++i) server.add_item(make_item(i));
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url(), http);
  SearchRequest r = basic_request(10);
  r.max_items = 15;
  EXPECT_EQ(client.search(r).size(), 15u);
  EXPECT_EQ(client.last_page_count(), 2);
}

TEST(StacSearchPaging, NoNextLinkStopsAfterOnePage) {
  TestServer server;
  server.set_paging_links(false);
  for (int i = 0; i < 25; ++i) server.add_item(make_item(i));
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url(), http);
  EXPECT_EQ(client.search(basic_request(10)).size(), 10u);
  EXPECT_EQ(client.last_page_count(), 1);
}

TEST(StacSearchPaging, BurstOf429DuringPagingRecovers) {
  TestServer server;
  for (int i = 0; i < 25; ++i) server.add_item(make_item(i));
  Fault f;
  f.status = 429;
  f.retry_after = 1;
  f.count = 3;
  server.inject("/stac/search", f);
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url(), http);
  EXPECT_EQ(client.search(basic_request(10)).size(), 25u);
  EXPECT_EQ(server.request_count("/stac/search"), 6);
}

TEST(StacSearchPaging, RepeatedTokenTerminates) {
  int calls = 0;
  ScriptedServer server([&](const std::string&, const std::string&, const std::string&) {
    json page = {{"type", "FeatureCollection"},
                 {"features", {make_item(calls++)}},
                 {"links",
                  {{{"rel", "next"},
                    {"method", "POST"},
                    {"href", "/search"},
                    {"body", {{"token", "next:same"}}},
                    {"merge", true}}}}};
    return ScriptedServer::Answer{200, page.dump()};
  });
  net::HttpClient http(fast_options());
  StacClient client(server.url(), http);
  const auto items = client.search(basic_request(1));
  EXPECT_EQ(items.size(), 2u);  // the first page, then the page of the token, then a repeat
  EXPECT_EQ(calls, 2);
  const auto bodies = server.bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(json::parse(bodies[1])["token"], "next:same");
  EXPECT_EQ(json::parse(bodies[1])["collections"], json({"sentinel-2-l2a"}));
}

TEST(StacSearchPaging, EndlessFreshTokensHitThePageCap) {
  int calls = 0;
  ScriptedServer server([&](const std::string&, const std::string&, const std::string&) {
    const int n = calls++;
    json page = {
        {"type", "FeatureCollection"},
        {"features", {make_item(n)}},
        {"links",
         {{{"rel", "next"}, {"method", "GET"}, {"href", "search?token=" + std::to_string(n)}}}}};
    return ScriptedServer::Answer{200, page.dump()};
  });
  net::HttpClient http(fast_options());
  StacClient client(server.url() + "/api", http);
  client.set_max_pages(5);
  EXPECT_EQ(client.search(basic_request(1)).size(), 5u);
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(client.last_page_count(), 5);
}

TEST(StacSearchPaging, RepeatedItemsAreKeptOnce) {
  int calls = 0;
  ScriptedServer server([&](const std::string&, const std::string&, const std::string&) {
    const int n = calls++;
    json page = {{"type", "FeatureCollection"},
                 {"features", n < 2 ? json{make_item(0), make_item(1)} : json::array()},
                 {"links",
                  {{{"rel", "next"},
                    {"method", "POST"},
                    {"href", "/search"},
                    {"body", {{"token", std::to_string(n)}}}}}}};
    return ScriptedServer::Answer{200, page.dump()};
  });
  net::HttpClient http(fast_options());
  StacClient client(server.url(), http);
  EXPECT_EQ(client.search(basic_request(2)).size(), 2u);
  EXPECT_EQ(calls, 3);  // the empty third page ends the search
}

TEST(StacSearchErrors, MalformedResponsesNameTheUrl) {
  std::string answer;
  int status = 200;
  ScriptedServer server([&](const std::string&, const std::string&, const std::string&) {
    return ScriptedServer::Answer{status, answer};
  });
  net::HttpClient http(fast_options());
  StacClient client(server.url() + "/stac", http);
  const std::string url = server.url() + "/stac/search";

  answer = "<html>gateway</html>";
  auto msg = error_of(client, basic_request());
  EXPECT_NE(msg.find(url), std::string::npos) << msg;
  EXPECT_NE(msg.find("not JSON"), std::string::npos) << msg;

  answer = R"({"type": "Feature", "features": []})";
  msg = error_of(client, basic_request());
  EXPECT_NE(msg.find("not a FeatureCollection"), std::string::npos) << msg;

  answer = R"({"type": "FeatureCollection", "features": {"a": 1}})";
  msg = error_of(client, basic_request());
  EXPECT_NE(msg.find("\"features\" array"), std::string::npos) << msg;

  answer = R"([1, 2])";
  msg = error_of(client, basic_request());
  EXPECT_NE(msg.find("not an object"), std::string::npos) << msg;

  json bad = make_item(3);
  bad["properties"].erase("datetime");
  answer = json{{"type", "FeatureCollection"}, {"features", {make_item(1), bad}}}.dump();
  msg = error_of(client, basic_request());
  EXPECT_NE(msg.find(url), std::string::npos) << msg;
  EXPECT_NE(msg.find(bad["id"].get<std::string>()), std::string::npos) << msg;
  EXPECT_NE(msg.find("datetime"), std::string::npos) << msg;

  bad = make_item(3);
  bad.erase("id");
  answer = json{{"type", "FeatureCollection"}, {"features", {make_item(1), bad}}}.dump();
  msg = error_of(client, basic_request());
  EXPECT_NE(msg.find("#1"), std::string::npos) << msg;

  status = 400;
  answer = R"({"code": "BadRequest"})";
  msg = error_of(client, basic_request());
  EXPECT_NE(msg.find("400"), std::string::npos) << msg;
  EXPECT_NE(msg.find(url), std::string::npos) << msg;
}

TEST(StacSearchErrors, UnknownCollectionGivesNoItems) {
  TestServer server;
  for (int i = 0; i < 3; ++i) server.add_item(make_item(i));
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url(), http);
  // A search for a collection that does not exist is simply empty.
  SearchRequest r = basic_request();
  r.collections = {"nothing-here"};
  EXPECT_TRUE(client.search(r).empty());
}

// --- Replays of real recorded pages (skipped without ../shared) ---

fs::path fixture_dir(const std::string& relative) {
  return fs::path(S2PREP_SHARED_DIR) / "fixtures" / relative;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

TEST(StacSearchFixtures, PlanetaryComputerNaipPaging) {
  const fs::path dir = fixture_dir("planetary-computer/search_paging_naip");
  if (!fs::exists(dir)) GTEST_SKIP() << "shared fixtures absent";
  const json manifest = json::parse(read_text(dir / "manifest.json"));
  const std::string real_root = "https://planetarycomputer.microsoft.com/api/stac/v1";
  std::string local_root;
  ScriptedServer server(
      [&](const std::string& method, const std::string& target, const std::string& body) {
        if (method != "POST" || target != "/api/stac/v1/search")
          return ScriptedServer::Answer{404, ""};
        const json request = json::parse(body);
        for (const auto& entry : manifest) {
          if (json::parse(entry["request_body"].get<std::string>()) == request) {
            // Links point at the real service: rewrite them so nothing leaves this machine.
            return ScriptedServer::Answer{
                200, replace_all(read_text(dir / entry["response_file"].get<std::string>()),
                                 real_root, local_root)};
          }
        }
        return ScriptedServer::Answer{200, R"({"type": "FeatureCollection", "features": []})"};
      });
  local_root = server.url() + "/api/stac/v1";
  net::HttpClient http(fast_options());
  StacClient client(local_root, http);
  SearchRequest r;
  r.collections = {"naip"};
  r.bbox = std::array<double, 4>{-73.21, 43.99, -73.12, 44.05};
  r.limit = 10;
  const auto items = client.search(r);

  std::vector<std::string> expected;
  for (const char* f : {"000_response.json", "001_response.json"}) {
    const json page = json::parse(read_text(dir / f));
    for (const auto& feature : page["features"]) {
      expected.push_back(feature["id"]);
    }
  }
  ASSERT_EQ(items.size(), 20u);
  for (std::size_t i = 0; i < items.size(); ++i) EXPECT_EQ(items[i].id, expected[i]);
  EXPECT_EQ(items[0].id, "vt_m_4307308_nw_18_030_20230622_20231113");
  EXPECT_EQ(items[0].collection, "naip");

  // The first two requests are exactly the recorded ones; the third follows page 2's link.
  const auto bodies = server.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(json::parse(bodies[0]), json::parse(manifest[0]["request_body"].get<std::string>()));
  EXPECT_EQ(json::parse(bodies[1]), json::parse(manifest[1]["request_body"].get<std::string>()));
  EXPECT_EQ(json::parse(bodies[2])["token"], "next:naip:vt_m_4307307_ne_18_h_20160805");
}

TEST(StacSearchFixtures, EarthSearchPaging) {
  const fs::path dir = fixture_dir("earth-search/search_c1_paging");
  if (!fs::exists(dir)) GTEST_SKIP() << "shared fixtures absent";
  const std::string real_root = "https://earth-search.aws.element84.com/v1";
  const std::string token =
      "2025-07-31T13:03:25.899000Z,S2B_T24MVV_20250731T130245_L2A,"
      "sentinel-2-c1-l2a";
  std::string local_root;
  ScriptedServer server([&](const std::string&, const std::string&, const std::string& body) {
    const json request = json::parse(body);
    std::string file;
    if (!request.contains("next")) file = "001_response.json";
    if (request.value("next", "") == token) file = "002_response.json";
    if (file.empty()) {
      return ScriptedServer::Answer{200, R"({"type": "FeatureCollection", "features": []})"};
    }
    return ScriptedServer::Answer{200, replace_all(read_text(dir / file), real_root, local_root)};
  });
  local_root = server.url() + "/v1";
  net::HttpClient http(fast_options());
  StacClient client(local_root, http);
  SearchRequest r;
  r.limit = 10;
  const auto items = client.search(r);
  ASSERT_EQ(items.size(), 20u);
  EXPECT_EQ(items[0].id, "S1A_IW_GRDH_1SSH_20250731T135702_20250731T135722_060328_077F7E");
  EXPECT_EQ(items[3].id, "S2B_T20EPT_20250731T131905_L2A");
  EXPECT_EQ(items[3].collection, "sentinel-2-c1-l2a");
  EXPECT_EQ(items[3].mgrs_tile, "20EPT");  // from grid:code
  EXPECT_EQ(items[3].epsg, 32720);
  EXPECT_DOUBLE_EQ(*items[3].baseline(), 5.11);
  EXPECT_EQ(items[3].processing_time(), "20250731T143919");  // from s2:product_uri
  const Asset& red = items[3].assets.at("red");
  EXPECT_DOUBLE_EQ(*red.scale, 0.0001);
  EXPECT_DOUBLE_EQ(*red.offset, -0.1);
  EXPECT_EQ(*red.transform, (std::array<double, 6>{600000, 10, 0, 3300040, 0, -10}));
  EXPECT_EQ(items[19].id, "S2B_24MUA_20250731_0_L2A");

  const auto bodies = server.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  // Merged: the recorded request sent only {"next": ...}; merging keeps our filters too.
  EXPECT_EQ(json::parse(bodies[1])["next"], token);
  EXPECT_EQ(json::parse(bodies[1])["limit"], 10);
}

// A number beyond a double (1e400) made nlohmann throw out_of_range, which escaped as an
// "unexpected failure"; an item nested 100 000 deep overflowed the stack.
TEST(StacSearchErrors, HostilePagesGiveOneSentence) {
  std::string answer;
  ScriptedServer server([&](const std::string&, const std::string&, const std::string&) {
    return ScriptedServer::Answer{200, answer};
  });
  net::HttpClient http(fast_options());
  StacClient client(server.url() + "/stac", http);
  const std::string url = server.url() + "/stac/search";

  json item = make_item(1);
  item["properties"]["eo:cloud_cover"] = 1;
  std::string page = json{{"type", "FeatureCollection"}, {"features", {item}}}.dump();
  page.replace(page.find("\"eo:cloud_cover\":1"), 18, "\"eo:cloud_cover\":1e400");
  answer = page;
  std::string msg = error_of(client, basic_request());
  EXPECT_NE(msg.find(url), std::string::npos) << msg;
  EXPECT_NE(msg.find("1e400"), std::string::npos) << msg;

  constexpr int kDepth = 100000;
  json deep = make_item(2);
  deep.erase("bbox");
  deep["geometry"]["coordinates"] = "DEEP";
  page = json{{"type", "FeatureCollection"}, {"features", {deep}}}.dump();
  page.replace(page.find("\"DEEP\""), 6, std::string(kDepth, '[') + "1" + std::string(kDepth, ']'));
  answer = page;
  msg = error_of(client, basic_request());
  EXPECT_NE(msg.find(url), std::string::npos) << msg;
  EXPECT_NE(msg.find(deep["id"].get<std::string>()), std::string::npos) << msg;
  EXPECT_NE(msg.find("deeper than"), std::string::npos) << msg;
}

}  // namespace
}  // namespace s2prep::stac
