#include "stac/client.hpp"
#include "stac/search_page.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include <s2prep/errors.hpp>
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
  EXPECT_EQ(body["sortby"], json::parse(R"([{"field": "id", "direction": "asc"}])"));
  EXPECT_FALSE(body.contains("query"));
  r.max_cloud_cover = 30;
  EXPECT_EQ(r.to_json()["query"], json::parse(R"({"eo:cloud_cover": {"lte": 30.0}})"));
  r.sort_by_id = false;
  EXPECT_FALSE(r.to_json().contains("sortby"));
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
  const auto result = client.search(basic_request(10));
  const auto& items = result.items;
  EXPECT_TRUE(result.complete);
  EXPECT_TRUE(result.warnings.empty());
  EXPECT_EQ(result.matched, 25);
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
  const auto result = client.search(r);
  EXPECT_EQ(result.items.size(), 15u);
  EXPECT_FALSE(result.complete);  // stopped on purpose: more match
  EXPECT_EQ(client.last_page_count(), 2);
}

// Planetary Computer since January 2026: no `next` link, no count, and pages capped below the
// limit asked for without saying so.
void like_planetary_computer(TestServer& server, int page_cap) {
  server.set_paging_links(false);
  server.set_number_matched(false);
  server.set_context_matched(false);
  server.set_max_page_size(page_cap);
}

TEST(StacSearchPaging, NoNextLinkContinuesById) {
  TestServer server;
  like_planetary_computer(server, 10);
  std::set<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    server.add_item(make_item(i));
    expected.insert(make_item(i)["id"].get<std::string>());
  }
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url(), http);
  const auto result = client.search(basic_request(1000));
  std::set<std::string> ids;
  for (const auto& item : result.items) ids.insert(item.id);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(result.items.size(), 25u);
  EXPECT_TRUE(result.complete);
  EXPECT_FALSE(result.matched);
  // 10 + (1 again + 9) + (1 again + 6): the third page is short, so it was the last.
  EXPECT_EQ(client.last_page_count(), 3);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  const std::vector<std::string> sorted(expected.begin(), expected.end());
  EXPECT_FALSE(json::parse(requests[0].body).contains("query"));
  EXPECT_EQ(json::parse(requests[1].body)["query"]["id"], json({{"gte", sorted[9]}}));
  EXPECT_EQ(json::parse(requests[2].body)["query"]["id"], json({{"gte", sorted[18]}}));
  for (const auto& r : requests) {
    const json body = json::parse(r.body);
    EXPECT_EQ(body["sortby"][0]["field"], "id");
    EXPECT_EQ(body["datetime"], "2023-06-01T00:00:00Z/2023-06-30T23:59:59Z");
  }
}

// 13 dates of 3 tiles each; platforms alternate by date starting with S2B, so that time order is
// not id order.
json dated_item(int day, const std::string& tile, bool all_s2a = false) {
  const std::string platform = all_s2a || day % 2 == 0 ? "S2A" : "S2B";
  json item = make_item(0);
  item["id"] = fmt::format("{}_MSIL2A_202306{:02d}T100559_R022_T{}_202306{:02d}T150000", platform,
                           day, tile, day);
  item["properties"]["datetime"] = fmt::format("2023-06-{:02d}T10:05:59.024Z", day);
  item["properties"]["s2:mgrs_tile"] = tile;
  return item;
}

void add_dated_items(TestServer& server, bool all_s2a = false) {
  for (int day = 1; day <= 13; ++day) {
    for (const char* tile : {"32UQD", "33UUP", "33UVP"}) {
      server.add_item(dated_item(day, tile, all_s2a));
    }
  }
}

std::set<std::string> ids_of(const SearchResult& result) {
  std::set<std::string> ids;
  for (const auto& item : result.items) ids.insert(item.id);
  return ids;
}

TEST(StacSearchPaging, WithoutLinksEqualsWithLinksOverSeveralTimeRanges) {
  TestServer server;
  add_dated_items(server);
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url(), http);
  for (const std::string range :
       {"2023-06-01T00:00:00Z/2023-06-30T23:59:59Z", "2023-06-03T00:00:00Z/2023-06-09T23:59:59Z",
        "2023-06-05T00:00:00Z/2023-06-05T23:59:59Z", "2023-06-12T00:00:00Z/2023-07-31T23:59:59Z",
        "2023-07-01T00:00:00Z/2023-07-31T23:59:59Z", "../2023-06-02T23:59:59Z"}) {
    SearchRequest r = basic_request(1000);
    r.datetime = range;
    server.set_paging_links(true);
    server.set_number_matched(true);
    server.set_context_matched(true);
    server.set_max_page_size(5);
    const auto with_links = client.search(r);
    ASSERT_TRUE(with_links.complete) << range;
    like_planetary_computer(server, 5);
    const auto without = client.search(r);
    EXPECT_TRUE(without.complete) << range;
    EXPECT_EQ(ids_of(without), ids_of(with_links)) << range;
    EXPECT_EQ(without.items.size(), with_links.items.size()) << range;
  }
  // Hand count: the whole month has 39 items; June 3-9 has 7 dates of 3.
  SearchRequest r = basic_request(1000);
  r.datetime = "2023-06-03T00:00:00Z/2023-06-09T23:59:59Z";
  EXPECT_EQ(client.search(r).items.size(), 21u);
  r.datetime = "2023-06-01T00:00:00Z/2023-06-30T23:59:59Z";
  EXPECT_EQ(client.search(r).items.size(), 39u);
}

TEST(StacSearchPaging, ServiceIgnoringSortAndQueryIsContinuedByTime) {
  TestServer server;
  add_dated_items(server);
  like_planetary_computer(server, 5);
  server.set_sort_and_query(false);  // pages in time order, then by id
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url(), http);
  const auto result = client.search(basic_request(1000));
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(result.items.size(), 39u);
  // Each continuation narrows the time range to start at the last datetime received.
  const auto requests = server.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(json::parse(requests[1].body)["datetime"],
            "2023-06-02T10:05:59.024Z/2023-06-30T23:59:59Z");
}

TEST(StacSearchPaging, ServiceIgnoringSortAndQueryWithIdOrderedPagesIsIncomplete) {
  TestServer server;
  add_dated_items(server, /*all_s2a=*/true);  // time order is id order: looks sorted by id
  like_planetary_computer(server, 5);
  server.set_sort_and_query(false);
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url(), http);
  const auto result = client.search(basic_request(1000));
  EXPECT_FALSE(result.complete);
  EXPECT_EQ(result.items.size(), 5u);
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_NE(result.warnings[0].find("incomplete"), std::string::npos) << result.warnings[0];
  EXPECT_NE(result.warnings[0].find(server.stac_url() + "/search"), std::string::npos);
}

TEST(StacSearchPaging, CountLargerThanWhatCanBeFetchedIsIncomplete) {
  for (const bool links : {true, false}) {
    TestServer server;
    add_dated_items(server);
    server.set_max_page_size(5);
    server.set_paging_links(links);
    server.set_number_matched(false);  // context.matched only
    server.set_matched_overcount(3);
    net::HttpClient http(fast_options());
    StacClient client(server.stac_url(), http);
    const auto result = client.search(basic_request(1000));
    EXPECT_EQ(result.items.size(), 39u) << links;
    EXPECT_EQ(result.matched, 42) << links;
    EXPECT_FALSE(result.complete) << links;
    ASSERT_EQ(result.warnings.size(), 1u) << links;
    EXPECT_NE(result.warnings[0].find("reports 42 matching items but only 39"), std::string::npos)
        << result.warnings[0];
  }
}

TEST(StacSearchPaging, CountReachedEndsWithoutContinuation) {
  TestServer server;
  add_dated_items(server);
  server.set_max_page_size(5);
  server.set_paging_links(false);
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url(), http);
  SearchRequest r = basic_request(1000);
  r.datetime = "2023-06-01T00:00:00Z/2023-06-01T23:59:59Z";  // 3 items, numberMatched 3
  const auto result = client.search(r);
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(result.items.size(), 3u);
  EXPECT_EQ(client.last_page_count(), 1);
}

TEST(StacSearchPaging, CloudCoverQueryIsSentAndMergedWithTheIdContinuation) {
  TestServer server;
  like_planetary_computer(server, 4);
  for (int i = 0; i < 10; ++i) {
    json item = make_item(i);
    item["properties"]["eo:cloud_cover"] = 10.0 * i;  // 0, 10, ..., 90
    server.add_item(item);
  }
  net::HttpClient http(fast_options());
  StacClient client(server.stac_url(), http);
  SearchRequest r = basic_request(1000);
  r.max_cloud_cover = 45;
  const auto result = client.search(r);
  EXPECT_TRUE(result.complete);
  ASSERT_EQ(result.items.size(), 5u);  // 0 .. 40
  for (const auto& item : result.items) EXPECT_LE(*item.cloud_cover, 45.0);
  for (const auto& req : server.requests()) {
    EXPECT_EQ(json::parse(req.body)["query"]["eo:cloud_cover"], json({{"lte", 45.0}}));
  }
  EXPECT_TRUE(json::parse(server.requests().back().body)["query"].contains("id"));
}

TEST(StacSearchPaging, SortRejectedSearchesUnsorted) {
  std::vector<std::string> bodies;
  ScriptedServer server([&](const std::string&, const std::string&, const std::string& body) {
    bodies.push_back(body);
    if (json::parse(body).contains("sortby")) {
      return ScriptedServer::Answer{400, R"({"code": "BadRequest"})"};
    }
    json page = {{"type", "FeatureCollection"},
                 {"features", {make_item(0), make_item(1)}},
                 {"numberMatched", 2}};
    return ScriptedServer::Answer{200, page.dump()};
  });
  net::HttpClient http(fast_options());
  StacClient client(server.url(), http);
  const auto result = client.search(basic_request(10));
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(result.items.size(), 2u);
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_FALSE(json::parse(bodies[1]).contains("sortby"));
}

TEST(StacSearchPaging, CatalogueCredentialsStayOnTheCataloguesOrigin) {
  // The catalogue's `next` link points at another origin (another port): the Authorization
  // header given for the catalogue goes with the first page only.
  TestServer elsewhere;
  elsewhere.add_item(make_item(1));
  ScriptedServer catalogue([&](const std::string&, const std::string&, const std::string&) {
    json page = {{"type", "FeatureCollection"},
                 {"features", {make_item(0)}},
                 {"links",
                  {{{"rel", "next"},
                    {"href", elsewhere.stac_url() + "/search"},
                    {"method", "POST"},
                    {"body", basic_request(10).to_json()}}}}};
    return ScriptedServer::Answer{200, page.dump()};
  });
  net::HttpClient http(fast_options());
  StacClient client(catalogue.url(), http, {{"Authorization", "Bearer secret-catalogue-token"}});
  const auto result = client.search(basic_request(10));
  EXPECT_EQ(result.items.size(), 2u);
  ASSERT_FALSE(catalogue.authorizations().empty());
  EXPECT_EQ(catalogue.authorizations().front(), "Bearer secret-catalogue-token");
  ASSERT_FALSE(elsewhere.requests().empty());
  for (const auto& request : elsewhere.requests()) {
    for (const auto& [name, value] : request.headers) {
      EXPECT_EQ(value.find("secret-catalogue-token"), std::string::npos) << name;
    }
  }
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
  EXPECT_EQ(client.search(basic_request(10)).items.size(), 25u);
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
  const auto result = client.search(basic_request(1));
  EXPECT_EQ(result.items.size(), 2u);  // the first page, then the page of the token, then a repeat
  EXPECT_FALSE(result.complete);
  ASSERT_EQ(result.warnings.size(), 1u);
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
  const auto result = client.search(basic_request(1));
  EXPECT_EQ(result.items.size(), 5u);
  EXPECT_FALSE(result.complete);
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_NE(result.warnings[0].find("page cap"), std::string::npos);
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
  EXPECT_EQ(client.search(basic_request(2)).items.size(), 2u);
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
  const auto result = client.search(r);
  EXPECT_TRUE(result.items.empty());
  EXPECT_TRUE(result.complete);
}

TEST(SearchPage, CountsAndNextLink) {
  const std::string url = "http://127.0.0.1:9/api/stac/v1/search?sig=secret";
  json doc = {{"type", "FeatureCollection"},
              {"features", {make_item(1), make_item(2)}},
              {"context", {{"matched", 7}, {"returned", 2}}},
              {"links",
               {{{"rel", "self"}, {"href", "x"}},
                {{"rel", "next"},
                 {"method", "POST"},
                 {"href", "/api/stac/v1/search"},
                 {"body", {{"token", "t"}}}}}}};
  auto page = parse_search_page(doc, url);
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[1].id, make_item(2)["id"]);
  EXPECT_EQ(page.matched, 7);
  ASSERT_TRUE(page.next);
  EXPECT_EQ(page.next->method, "POST");
  EXPECT_EQ(page.next->url, "http://127.0.0.1:9/api/stac/v1/search");
  EXPECT_EQ(*page.next->body, json({{"token", "t"}}));

  doc["numberMatched"] = 9;  // numberMatched wins over context.matched
  doc["links"] = {{{"rel", "next"}, {"href", "search?page=2"}}};
  page = parse_search_page(doc, url);
  EXPECT_EQ(page.matched, 9);
  EXPECT_EQ(page.next->method, "GET");
  EXPECT_EQ(page.next->url, "http://127.0.0.1:9/api/stac/v1/search?page=2");

  doc.erase("numberMatched");
  doc.erase("context");
  doc.erase("links");
  page = parse_search_page(doc, url);
  EXPECT_FALSE(page.matched);
  EXPECT_FALSE(page.next);

  doc["links"] = {{{"rel", "next"}, {"method", "DELETE"}, {"href", "/x"}}};
  try {
    parse_search_page(doc, url);
    FAIL() << "a DELETE link must be refused";
  } catch (const RemoteError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("method DELETE"), std::string::npos) << what;
    EXPECT_EQ(what.find("secret"), std::string::npos) << what;  // the URL is redacted
  }
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
        json request = json::parse(body);
        request.erase("sortby");  // recorded without it; the service honours it either way
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
  const auto result = client.search(r);
  const auto& items = result.items;
  EXPECT_TRUE(result.complete);

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
  auto unsorted = [](const std::string& text) {
    json body = json::parse(text);
    EXPECT_EQ(body["sortby"][0]["field"], "id");
    body.erase("sortby");
    return body;
  };
  EXPECT_EQ(unsorted(bodies[0]), json::parse(manifest[0]["request_body"].get<std::string>()));
  EXPECT_EQ(unsorted(bodies[1]), json::parse(manifest[1]["request_body"].get<std::string>()));
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
  const auto result = client.search(r);
  const auto& items = result.items;
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
  // The recording stops after two pages while the service counted far more: that is reported.
  EXPECT_FALSE(result.complete);
  EXPECT_GT(result.matched.value_or(0), 20);

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
