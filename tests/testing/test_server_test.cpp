#include "test_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/time.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace {

using nlohmann::json;
using s2prep::testing::Fault;
using s2prep::testing::TempDir;
using s2prep::testing::TestServer;
using namespace std::chrono_literals;

// A Sentinel-2-like Item with a square footprint.
json make_item(const std::string& id, const std::string& datetime, double west, double south,
               double size = 1.0, const std::string& collection = "sentinel-2-l2a") {
  const double east = west + size;
  const double north = south + size;
  return {{"type", "Feature"},
          {"stac_version", "1.0.0"},
          {"id", id},
          {"collection", collection},
          {"bbox", {west, south, east, north}},
          {"geometry",
           {{"type", "Polygon"},
            {"coordinates",
             {{{west, south}, {east, south}, {east, north}, {west, north}, {west, south}}}}}},
          {"properties", {{"datetime", datetime}}},
          {"assets", json::object()}};
}

json parse(const httplib::Result& result) {
  EXPECT_TRUE(result);
  return result ? json::parse(result->body) : json();
}

std::vector<std::string> ids_of(const json& page) {
  std::vector<std::string> ids;
  for (const auto& f : page.at("features")) ids.push_back(f.at("id").get<std::string>());
  return ids;
}

const json* find_link(const json& doc, const std::string& rel) {
  for (const auto& link : doc.at("links")) {
    if (link.value("rel", "") == rel) return &link;
  }
  return nullptr;
}

json post_search(httplib::Client& client, const json& body) {
  return parse(client.Post("/stac/search", body.dump(), "application/json"));
}

// n items on n different days; ids deliberately not in date order (distinct while 7 and n are
// coprime).
void add_daily_items(TestServer& server, int n = 25) {
  for (int i = 0; i < n; ++i) {
    char date[32];
    std::snprintf(date, sizeof(date), "2023-06-%02dT10:00:00Z", i + 1);
    server.add_item(make_item("item-" + std::to_string((i * 7) % n), date, 10.0, 50.0));
  }
}

TEST(TestServer, LandingPageLinksToSearch) {
  TestServer server;
  httplib::Client client(server.base_url());
  auto landing = parse(client.Get("/stac"));
  EXPECT_EQ(landing.at("type"), "Catalog");
  bool post_search_link = false;
  for (const auto& link : landing.at("links")) {
    if (link.at("rel") == "search" && link.value("method", "") == "POST") {
      post_search_link = true;
      EXPECT_EQ(link.at("href"), server.stac_url() + "/search");
    }
  }
  EXPECT_TRUE(post_search_link);
  EXPECT_EQ(server.stac_url(), "http://127.0.0.1:" + std::to_string(server.port()) + "/stac");
}

TEST(TestServer, CollectionDocument) {
  TestServer server;
  server.add_item(make_item("a", "2023-06-01T10:00:00Z", 10, 50));
  httplib::Client client(server.base_url());
  auto collection = parse(client.Get("/stac/collections/sentinel-2-l2a"));
  EXPECT_EQ(collection.at("type"), "Collection");
  EXPECT_EQ(collection.at("id"), "sentinel-2-l2a");
  auto missing = client.Get("/stac/collections/landsat");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(TestServer, PostPagingFollowsNextBodyThroughAllItems) {
  TestServer server;
  add_daily_items(server);
  httplib::Client client(server.base_url());

  json body = {{"collections", {"sentinel-2-l2a"}}, {"limit", 10}};
  std::vector<std::string> all;
  std::vector<std::size_t> page_sizes;
  for (int guard = 0; guard < 10; ++guard) {
    const json page = post_search(client, body);
    EXPECT_EQ(page.at("type"), "FeatureCollection");
    const auto ids = ids_of(page);
    EXPECT_EQ(page.at("numberReturned"), ids.size());
    EXPECT_EQ(page.at("context").at("returned"), ids.size());
    page_sizes.push_back(ids.size());
    all.insert(all.end(), ids.begin(), ids.end());
    const json* next = find_link(page, "next");
    if (next == nullptr) break;
    EXPECT_EQ(next->at("method"), "POST");
    EXPECT_EQ(next->at("href"), server.stac_url() + "/search");
    EXPECT_EQ(next->at("merge"), true);
    ASSERT_TRUE(next->at("body").at("token").is_string());
    EXPECT_EQ(next->at("body").at("token").get<std::string>().rfind("next:", 0), 0u);
    body.merge_patch(next->at("body"));
  }
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{10, 10, 5}));
  ASSERT_EQ(all.size(), 25u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 25u);
  // Sorted by datetime: day d carries id (d-1)*7 mod 25.
  for (int i = 0; i < 25; ++i) EXPECT_EQ(all[i], "item-" + std::to_string((i * 7) % 25));
}

TEST(TestServer, FullBodyNextLinkLikePlanetaryComputer) {
  TestServer server;
  add_daily_items(server, 12);
  server.set_next_link_full_body(true);
  httplib::Client client(server.base_url());
  const json body = {{"collections", {"sentinel-2-l2a"}}, {"limit", 5}, {"bbox", {9, 49, 12, 52}}};
  const json page = post_search(client, body);
  const json* next = find_link(page, "next");
  ASSERT_NE(next, nullptr);
  EXPECT_FALSE(next->contains("merge"));
  json expected = body;
  expected["token"] = next->at("body").at("token");
  EXPECT_EQ(next->at("body"), expected);
  const json second = post_search(client, next->at("body"));
  EXPECT_EQ(ids_of(second).size(), 5u);
  EXPECT_NE(ids_of(second).front(), ids_of(page).front());
}

TEST(TestServer, PageSizeCapAndDisabledLinks) {
  TestServer server;
  add_daily_items(server, 8);
  server.set_max_page_size(3);
  httplib::Client client(server.base_url());
  const json page = post_search(client, {{"limit", 10}});
  EXPECT_EQ(ids_of(page).size(), 3u);
  EXPECT_NE(find_link(page, "next"), nullptr);
  EXPECT_EQ(page.at("numberMatched"), 8);

  // An empty POST body is an empty search.
  const json empty = parse(client.Post("/stac/search", "", "application/json"));
  EXPECT_EQ(ids_of(empty).size(), 3u);

  server.set_paging_links(false);
  const json unlinked = post_search(client, {{"limit", 10}});
  EXPECT_EQ(ids_of(unlinked).size(), 3u);
  EXPECT_EQ(find_link(unlinked, "next"), nullptr);
}

TEST(TestServer, GetSearchPagesWithGetLinks) {
  TestServer server;
  add_daily_items(server, 8);
  httplib::Client client(server.base_url());
  std::string url = server.stac_url() + "/search?collections=sentinel-2-l2a&limit=3";
  std::set<std::string> seen;
  int pages = 0;
  while (!url.empty() && pages < 10) {
    ++pages;
    ASSERT_EQ(url.rfind(server.base_url(), 0), 0u);
    const json page = parse(client.Get(url.substr(server.base_url().size())));
    for (const auto& id : ids_of(page)) EXPECT_TRUE(seen.insert(id).second) << id;
    const json* next = find_link(page, "next");
    url.clear();
    if (next != nullptr) {
      EXPECT_EQ(next->at("method"), "GET");
      url = next->at("href").get<std::string>();
    }
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 8u);
}

TEST(TestServer, BboxAndIntersectsFilterOnBoundingBoxes) {
  TestServer server;
  server.add_item(make_item("west", "2023-06-01T10:00:00Z", 0, 0));    // [0,1]x[0,1]
  server.add_item(make_item("middle", "2023-06-01T10:00:00Z", 2, 0));  // [2,3]x[0,1]
  server.add_item(make_item("east", "2023-06-01T10:00:00Z", 4, 0));    // [4,5]x[0,1]
  server.add_item(make_item("north", "2023-06-01T10:00:00Z", 2, 10));  // [2,3]x[10,11]
  server.add_item(make_item("other", "2023-06-01T10:00:00Z", 2, 0, 1.0, "landsat"));
  httplib::Client client(server.base_url());

  auto ids = [&](const json& body) {
    auto v = ids_of(post_search(client, body));
    return std::set<std::string>(v.begin(), v.end());
  };
  using Ids = std::set<std::string>;
  const json s2 = {"sentinel-2-l2a"};
  EXPECT_EQ(ids({{"collections", s2}, {"bbox", {0.5, 0.5, 2.5, 0.7}}}), (Ids{"west", "middle"}));
  EXPECT_EQ(ids({{"collections", s2}, {"bbox", {3.0, 0.0, 4.0, 1.0}}}),
            (Ids{"middle", "east"}));  // edges touch: inclusive
  EXPECT_EQ(ids({{"bbox", {2.2, 0.2, 2.4, 0.4}}}), (Ids{"middle", "other"}));
  EXPECT_EQ(ids({{"collections", s2}, {"bbox", {6, 6, 7, 7}}}), Ids{});
  // A triangle whose bbox is [1.5,4.5]x[0.5,0.9]: the server filters on that bbox.
  const json triangle = {{"type", "Polygon"},
                         {"coordinates", {{{1.5, 0.5}, {4.5, 0.5}, {3.0, 0.9}, {1.5, 0.5}}}}};
  EXPECT_EQ(ids({{"collections", s2}, {"intersects", triangle}}), (Ids{"middle", "east"}));
  const json multi = {{"type", "MultiPolygon"},
                      {"coordinates",
                       {{{{0.1, 0.1}, {0.2, 0.1}, {0.2, 0.2}, {0.1, 0.1}}},
                        {{{2.1, 10.1}, {2.2, 10.1}, {2.2, 10.2}, {2.1, 10.1}}}}}};
  // The union bbox [0.1,2.2]x[0.1,10.2] reaches every item but east.
  EXPECT_EQ(ids({{"collections", s2}, {"intersects", multi}}), (Ids{"west", "middle", "north"}));
}

TEST(TestServer, DatetimeFilterIsInclusiveWithOpenEnds) {
  TestServer server;
  add_daily_items(server, 10);  // June 1..10 at 10:00
  httplib::Client client(server.base_url());
  auto count = [&](const std::string& datetime) {
    return ids_of(post_search(client, {{"datetime", datetime}, {"limit", 100}})).size();
  };
  EXPECT_EQ(count("2023-06-03T10:00:00Z/2023-06-05T10:00:00Z"), 3u);
  EXPECT_EQ(count("2023-06-03T10:00:00.000001Z/2023-06-05T09:59:59Z"), 1u);
  EXPECT_EQ(count("../2023-06-02T10:00:00Z"), 2u);
  EXPECT_EQ(count("2023-06-09T00:00:00Z/.."), 2u);
  EXPECT_EQ(count("2023-06-04T10:00:00Z"), 1u);
  EXPECT_EQ(count("2023-07-01T00:00:00Z/2023-07-31T00:00:00Z"), 0u);
  // The same through GET.
  const json page =
      parse(client.Get("/stac/search?datetime=2023-06-03T00:00:00Z/2023-06-04T23:59:59Z&limit=50"));
  EXPECT_EQ(ids_of(page).size(), 2u);
}

// add_daily_items gives day d+1 the id item-(7d mod 25): the orders below are worked out by
// hand from that.
TEST(TestServer, SortbyIdAscendingAndDescending) {
  TestServer server;
  add_daily_items(server, 5);  // days 1..5: item-0 item-2 item-4 item-1 item-3
  httplib::Client client(server.base_url());
  const json plain = post_search(client, {{"limit", 10}});
  EXPECT_EQ(ids_of(plain),
            (std::vector<std::string>{"item-0", "item-2", "item-4", "item-1", "item-3"}));
  const json up = post_search(client, {{"limit", 10}, {"sortby", {{{"field", "id"}}}}});
  EXPECT_EQ(ids_of(up),
            (std::vector<std::string>{"item-0", "item-1", "item-2", "item-3", "item-4"}));
  const json down =
      post_search(client, {{"limit", 10}, {"sortby", {{{"field", "id"}, {"direction", "desc"}}}}});
  EXPECT_EQ(ids_of(down),
            (std::vector<std::string>{"item-4", "item-3", "item-2", "item-1", "item-0"}));
  const json newest = post_search(
      client,
      {{"limit", 2}, {"sortby", {{{"field", "properties.datetime"}, {"direction", "desc"}}}}});
  EXPECT_EQ(ids_of(newest), (std::vector<std::string>{"item-3", "item-1"}));

  // Paging by token follows the sorted order.
  server.set_max_page_size(2);
  const json body = {{"limit", 10}, {"sortby", {{{"field", "id"}}}}};
  json page = post_search(client, body);
  std::vector<std::string> all = ids_of(page);
  while (const json* next = find_link(page, "next")) {
    json following = body;
    following.update(next->at("body"));
    page = post_search(client, following);
    for (const auto& id : ids_of(page)) all.push_back(id);
  }
  EXPECT_EQ(all, (std::vector<std::string>{"item-0", "item-1", "item-2", "item-3", "item-4"}));
}

TEST(TestServer, QueryOnIdAndCloudCover) {
  TestServer server;
  for (int i = 0; i < 6; ++i) {
    json item = make_item("item-" + std::to_string(i), "2023-06-01T10:00:00Z", 10.0, 50.0);
    item["properties"]["eo:cloud_cover"] = 20.0 * i;  // 0 20 40 60 80 100
    server.add_item(item);
  }
  server.add_item(make_item("no-cloud-cover", "2023-06-02T10:00:00Z", 10.0, 50.0));
  httplib::Client client(server.base_url());
  auto ids = [&](const json& query) {
    const auto v = ids_of(post_search(client, {{"limit", 100}, {"query", query}}));
    return std::set<std::string>(v.begin(), v.end());
  };
  using Set = std::set<std::string>;
  // Ids compare as strings: "no-cloud-cover" sorts after "item-3".
  EXPECT_EQ(ids({{"id", {{"gt", "item-3"}}}}), (Set{"item-4", "item-5", "no-cloud-cover"}));
  EXPECT_EQ(ids({{"id", {{"gte", "item-3"}, {"lt", "item-5"}}}}), (Set{"item-3", "item-4"}));
  EXPECT_EQ(ids({{"id", {{"lte", "item-1"}}}}), (Set{"item-0", "item-1"}));
  EXPECT_EQ(ids({{"eo:cloud_cover", {{"lte", 40}}}}), (Set{"item-0", "item-1", "item-2"}));
  EXPECT_EQ(ids({{"eo:cloud_cover", {{"lt", 40}}}}), (Set{"item-0", "item-1"}));
  EXPECT_EQ(ids({{"eo:cloud_cover", {{"gt", 60}}}}), (Set{"item-4", "item-5"}));
  EXPECT_EQ(ids({{"eo:cloud_cover", {{"gte", 60}}}, {"id", {{"lt", "item-5"}}}}),
            (Set{"item-3", "item-4"}));
  auto bad = client.Post("/stac/search", R"({"query": {"id": {"like": "x"}}})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);

  // A service without the extensions: everything, in its own order.
  server.set_sort_and_query(false);
  EXPECT_EQ(ids({{"id", {{"gt", "item-3"}}}}).size(), 7u);
  const json unsorted =
      post_search(client, {{"limit", 10}, {"sortby", {{{"field", "id"}, {"direction", "desc"}}}}});
  EXPECT_EQ(ids_of(unsorted).front(), "item-0");
}

TEST(TestServer, MatchedCountsCanBeLeftOutOrOverstated) {
  TestServer server;
  add_daily_items(server, 5);
  httplib::Client client(server.base_url());
  json page = post_search(client, {{"limit", 2}});
  EXPECT_EQ(page.at("numberMatched"), 5);
  EXPECT_EQ(page.at("context").at("matched"), 5);
  server.set_number_matched(false);
  page = post_search(client, {{"limit", 2}});
  EXPECT_FALSE(page.contains("numberMatched"));
  EXPECT_EQ(page.at("context").at("matched"), 5);
  server.set_matched_overcount(3);
  server.set_context_matched(false);
  server.set_number_matched(true);
  page = post_search(client, {{"limit", 2}});
  EXPECT_EQ(page.at("numberMatched"), 8);
  EXPECT_FALSE(page.at("context").contains("matched"));
  EXPECT_EQ(page.at("context").at("returned"), 2);
}

TEST(TestServer, BadSearchRequestsAnswer400WithJson) {
  TestServer server;
  add_daily_items(server, 3);
  httplib::Client client(server.base_url());
  for (const std::string body :
       {"{not json", "[1,2]", R"({"bbox": [1, 2, 3]})", R"({"datetime": "yesterday"})",
        R"({"limit": 0})", R"({"collections": "sentinel-2-l2a"})", R"({"token": "next:bogus"})",
        R"({"intersects": {"type": "Polygon"}})", R"({"sortby": [{"field": "eo:cloud_cover"}]})",
        R"({"sortby": [{"field": "id", "direction": "up"}]})", R"({"query": [1]})"}) {
    auto res = client.Post("/stac/search", body, "application/json");
    ASSERT_TRUE(res) << body;
    EXPECT_EQ(res->status, 400) << body;
    const json error = json::parse(res->body);
    EXPECT_EQ(error.at("code"), "BadRequest") << body;
    EXPECT_FALSE(error.at("description").get<std::string>().empty());
  }
  auto res = client.Get("/stac/search?bbox=1,2,x,4");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST(TestServer, TokenServiceIssuesSasLikeTokensAndChecksKey) {
  TestServer server;
  httplib::Client client(server.base_url());
  const json token = parse(client.Get("/token/sentinel-2-l2a"));
  const std::string text = token.at("token");
  for (const char* part :
       {"st=", "&se=", "&sp=rl", "&sv=2021-06-08", "&sr=c", "&skoid=", "&sig="}) {
    EXPECT_NE(text.find(part), std::string::npos) << part;
  }
  const auto expiry = s2prep::parse_time(token.at("msft:expiry").get<std::string>());
  ASSERT_TRUE(expiry);
  const auto now = std::chrono::system_clock::now();
  EXPECT_GT(*expiry, now + 3500s);
  EXPECT_LT(*expiry, now + 3700s);
  EXPECT_EQ(server.tokens_issued(), 1);
  EXPECT_EQ(server.valid_tokens(), std::vector<std::string>{text});

  server.set_required_key("secret-key");
  auto missing = client.Get("/token/sentinel-2-l2a");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  auto wrong = client.Get("/token/sentinel-2-l2a", {{"Ocp-Apim-Subscription-Key", "nope"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto right = client.Get("/token/sentinel-2-l2a", {{"Ocp-Apim-Subscription-Key", "secret-key"}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  EXPECT_EQ(server.tokens_issued(), 2);
  EXPECT_NE(json::parse(right->body).at("token"), text);
}

class BlobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    content_.resize(100000);
    for (std::size_t i = 0; i < content_.size(); ++i) {
      content_[i] = static_cast<char>((i * 7 + i / 256) % 256);
    }
    std::filesystem::create_directories(dir_ / "T33UUP");
    std::ofstream(dir_ / "T33UUP" / "B04.tif", std::ios::binary) << content_;
    std::ofstream(dir_.path().parent_path() / (dir_.path().filename().string() + "-secret"))
        << "secret";
    server_.serve_directory(dir_.path());
  }
  void TearDown() override {
    std::filesystem::remove(dir_.path().parent_path() /
                            (dir_.path().filename().string() + "-secret"));
  }

  httplib::Result get(const std::string& range, const std::string& query = "") {
    httplib::Headers headers;
    if (!range.empty()) headers.emplace("Range", range);
    return client_.Get("/blob/T33UUP/B04.tif" + query, headers);
  }

  TempDir dir_;
  std::string content_;
  TestServer server_;
  httplib::Client client_{server_.base_url()};
};

TEST_F(BlobTest, WholeFileAndHead) {
  auto res = get("");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, content_);
  EXPECT_EQ(res->get_header_value("Accept-Ranges"), "bytes");
  EXPECT_EQ(res->get_header_value("Content-Type"), "image/tiff");

  auto head = client_.Head("/blob/T33UUP/B04.tif");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Length"), "100000");
  EXPECT_EQ(head->get_header_value("Accept-Ranges"), "bytes");
  EXPECT_TRUE(head->body.empty());

  auto missing = client_.Get("/blob/T33UUP/B08.tif");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("BlobNotFound"), std::string::npos);
}

TEST_F(BlobTest, SingleRangesAreExact) {
  auto res = get("bytes=100-199");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  EXPECT_EQ(res->get_header_value("Content-Range"), "bytes 100-199/100000");
  EXPECT_EQ(res->body, content_.substr(100, 100));

  // GDAL's first read.
  res = get("bytes=0-16383");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  EXPECT_EQ(res->get_header_value("Content-Length"), "16384");
  EXPECT_EQ(res->body, content_.substr(0, 16384));

  res = get("bytes=-10");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  EXPECT_EQ(res->get_header_value("Content-Range"), "bytes 99990-99999/100000");
  EXPECT_EQ(res->body, content_.substr(99990));

  res = get("bytes=99000-");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, content_.substr(99000));

  res = get("bytes=99990-200000");  // clipped to the end
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Range"), "bytes 99990-99999/100000");
  EXPECT_EQ(res->body, content_.substr(99990));

  auto head = client_.Head("/blob/T33UUP/B04.tif", {{"Range", "bytes=0-16383"}});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 206);
  EXPECT_EQ(head->get_header_value("Content-Length"), "16384");
}

TEST_F(BlobTest, MultipleRangesAnswerMultipartByteranges) {
  auto res = get("bytes=0-9, 500-519,-5");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  const std::string type = res->get_header_value("Content-Type");
  const std::string prefix = "multipart/byteranges; boundary=";
  ASSERT_EQ(type.rfind(prefix, 0), 0u) << type;
  const std::string boundary = "--" + type.substr(prefix.size());

  // Parse the parts by hand (RFC 9110 section 14.6).
  struct Part {
    std::string content_range;
    std::string data;
  };
  std::vector<Part> parts;
  const std::string& body = res->body;
  std::size_t pos = body.find(boundary);
  while (pos != std::string::npos && body.compare(pos + boundary.size(), 2, "--") != 0) {
    const std::size_t headers_start = pos + boundary.size() + 2;
    const std::size_t headers_end = body.find("\r\n\r\n", headers_start);
    ASSERT_NE(headers_end, std::string::npos);
    const std::string headers = body.substr(headers_start, headers_end - headers_start);
    const std::size_t next = body.find("\r\n" + boundary, headers_end + 4);
    ASSERT_NE(next, std::string::npos);
    Part part;
    const auto cr = headers.find("Content-Range: ");
    ASSERT_NE(cr, std::string::npos);
    part.content_range = headers.substr(cr + 15, headers.find("\r\n", cr) - cr - 15);
    part.data = body.substr(headers_end + 4, next - headers_end - 4);
    parts.push_back(part);
    pos = next + 2;
  }
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].content_range, "bytes 0-9/100000");
  EXPECT_EQ(parts[0].data, content_.substr(0, 10));
  EXPECT_EQ(parts[1].content_range, "bytes 500-519/100000");
  EXPECT_EQ(parts[1].data, content_.substr(500, 20));
  EXPECT_EQ(parts[2].content_range, "bytes 99995-99999/100000");
  EXPECT_EQ(parts[2].data, content_.substr(99995));
}

TEST_F(BlobTest, UnsatisfiableRangeIs416) {
  auto res = get("bytes=100000-100010");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 416);
  EXPECT_EQ(res->get_header_value("Content-Range"), "bytes */100000");
}

TEST_F(BlobTest, PathTraversalIsRejected) {
  const std::string secret = "/blob/..%2F" + dir_.path().filename().string() + "-secret";
  for (const std::string& path : {std::string("/blob/%2E%2E/etc/passwd"), secret,
                                  std::string("/blob/T33UUP/%2E%2E/%2E%2E/x")}) {
    auto res = client_.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_GE(res->status, 400) << path;
    EXPECT_EQ(res->body.find("secret"), std::string::npos) << path;
  }
}

TEST_F(BlobTest, SigningNeedsAValidUnexpiredToken) {
  server_.set_require_signing(true);
  auto res = get("bytes=0-9");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_NE(res->body.find("<Code>AuthenticationFailed</Code>"), std::string::npos);

  res = get("bytes=0-9", "?st=x&sig=forged%3D");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);

  const std::string token = json::parse(client_.Get("/token/sentinel-2-l2a")->body).at("token");
  res = get("bytes=0-9", "?" + token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  EXPECT_EQ(res->body, content_.substr(0, 10));
  auto head = client_.Head("/blob/T33UUP/B04.tif?" + token);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);

  server_.expire_all_tokens();
  EXPECT_TRUE(server_.valid_tokens().empty());
  res = get("bytes=0-9", "?" + token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);

  // Tokens issued after the expiry work again; a zero lifetime makes them born expired.
  const std::string fresh = json::parse(client_.Get("/token/sentinel-2-l2a")->body).at("token");
  EXPECT_EQ(get("bytes=0-9", "?" + fresh)->status, 206);
  server_.set_token_lifetime(0s);
  const std::string dead = json::parse(client_.Get("/token/sentinel-2-l2a")->body).at("token");
  EXPECT_EQ(get("bytes=0-9", "?" + dead)->status, 403);
}

TEST_F(BlobTest, ConcurrentRangeReads) {
  std::vector<std::thread> readers;
  std::atomic<int> exact{0};
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&, t] {
      httplib::Client client(server_.base_url());
      for (int i = 0; i < 20; ++i) {
        const std::size_t first = static_cast<std::size_t>(t * 9000 + i * 400);
        auto res = client.Get(
            "/blob/T33UUP/B04.tif",
            {{"Range", "bytes=" + std::to_string(first) + "-" + std::to_string(first + 299)}});
        if (res && res->status == 206 && res->body == content_.substr(first, 300)) ++exact;
      }
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(exact, 120);
  EXPECT_EQ(server_.request_count("/blob"), 120);
  EXPECT_EQ(server_.bytes_sent("/blob"), 120u * 300u);
}

TEST(TestServer, BlobsWithoutAServedDirectoryAre404) {
  TestServer server;
  httplib::Client client(server.base_url());
  auto res = client.Get("/blob/a.tif");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(BlobTest, RequestLogAndByteCounts) {
  get("bytes=0-99");
  get("");
  client_.Head("/blob/T33UUP/B04.tif");
  client_.Post("/stac/search", R"({"limit": 1})", "application/json");
  const auto log = server_.requests();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].path, "/blob/T33UUP/B04.tif");
  EXPECT_EQ(log[0].status, 206);
  EXPECT_EQ(log[0].bytes_sent, 100u);
  bool has_range = false;
  for (const auto& [key, value] : log[0].headers)
    has_range |= key == "Range" && value == "bytes=0-99";
  EXPECT_TRUE(has_range);
  EXPECT_EQ(log[1].bytes_sent, 100000u);
  EXPECT_EQ(log[2].method, "HEAD");
  EXPECT_EQ(log[2].bytes_sent, 0u);
  EXPECT_EQ(log[3].body, R"({"limit": 1})");
  EXPECT_EQ(server_.bytes_sent("/blob"), 100100u);
  EXPECT_EQ(server_.request_count("/blob/T33UUP"), 3);
  EXPECT_EQ(server_.request_count("/stac"), 1);
  EXPECT_EQ(server_.request_count(), 4);

  client_.Get("/blob/T33UUP/B04.tif?a=1&b=2");
  EXPECT_EQ(server_.requests().back().query, "a=1&b=2");
  server_.clear_requests();
  EXPECT_EQ(server_.request_count(), 0);
}

// --- Faults ---

// The raw bytes a server sends back to one GET (Connection: close), read until it closes.
std::string raw_exchange(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) answer.append(buffer, n);
  ::close(fd);
  return answer;
}

// curl's exit status is its CURLcode; the command is optional, so these checks skip without it.
std::optional<int> curl_exit(const std::string& url) {
  if (!std::filesystem::exists("/usr/bin/curl")) return std::nullopt;
  return s2prep::testing::run_process({"/usr/bin/curl", "-sS", "-o", "/dev/null", url}, {}, 30s)
      .exit_code;
}

TEST(TestServerFaults, StatusWithRetryAfterThenSuccess) {
  TestServer server;
  httplib::Client client(server.base_url());
  server.inject("/stac/search", Fault::http_status(429, 2, 2));
  for (int i = 0; i < 2; ++i) {
    auto res = client.Post("/stac/search", "{}", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 429);
    EXPECT_EQ(res->get_header_value("Retry-After"), "2");
  }
  auto res = client.Post("/stac/search", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(server.requests()[0].status, 429);
}

TEST(TestServerFaults, QueuedInOrderAndLongestPrefixWins) {
  TestServer server;
  httplib::Client client(server.base_url());
  server.inject("/stac", Fault::http_status(500));
  server.inject("/stac/search", Fault::http_status(503));
  server.inject("/stac/search", Fault::http_status(502));
  EXPECT_EQ(client.Get("/stac/search")->status, 503);
  EXPECT_EQ(client.Get("/stac/search")->status, 502);
  EXPECT_EQ(client.Get("/stac/search")->status, 500);  // then the shorter prefix's fault
  EXPECT_EQ(client.Get("/stac/search")->status, 200);
  server.inject("/token", Fault::http_status(429));
  EXPECT_EQ(client.Get("/stac")->status, 200);
  server.clear_faults();
  EXPECT_EQ(client.Get("/token/sentinel-2-l2a")->status, 200);
}

TEST(TestServerFaults, DelayAndLatency) {
  TestServer server;
  httplib::Client client(server.base_url());
  server.inject("/stac", Fault::delayed(300ms));
  // Queued behind the delay: the next request meets it only once the delay is used up. (Checked
  // so rather than by the next request being quick, which no bound holds on a loaded machine.)
  server.inject("/stac", Fault::http_status(418));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(client.Get("/stac")->status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  EXPECT_EQ(client.Get("/stac")->status, 418);
  EXPECT_EQ(client.Get("/stac")->status, 200);

  server.set_latency(150ms);
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(client.Get("/stac")->status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
}

TEST(TestServerFaults, DroppedConnectionSendsNothing) {
  TestServer server;
  server.inject("/stac", Fault::dropped(3));
  EXPECT_EQ(raw_exchange(server.port(), "/stac"), "");

  httplib::Client client(server.base_url());
  auto res = client.Get("/stac");
  EXPECT_FALSE(res);

  if (auto code = curl_exit(server.stac_url())) {
    EXPECT_EQ(*code, 52);  // CURLE_GOT_NOTHING
  } else {
    server.clear_faults();
  }
  EXPECT_EQ(client.Get("/stac")->status, 200);
}

TEST(TestServerFaults, TruncatedBodyDeclaresMoreThanItSends) {
  TempDir dir;
  std::ofstream(dir / "blob.bin", std::ios::binary) << std::string(5000, 'x');
  TestServer server;
  server.serve_directory(dir.path());
  server.inject("/blob/", Fault::truncated(3));

  const std::string raw = raw_exchange(server.port(), "/blob/blob.bin");
  const auto header_end = raw.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos);
  EXPECT_NE(raw.find("Content-Length: 5000"), std::string::npos);
  EXPECT_EQ(raw.size() - header_end - 4, 2500u);

  httplib::Client client(server.base_url());
  EXPECT_FALSE(client.Get("/blob/blob.bin"));

  if (auto code = curl_exit(server.blob_url("blob.bin"))) {
    EXPECT_EQ(*code, 18);  // CURLE_PARTIAL_FILE
  } else {
    server.clear_faults();
  }
  auto whole = client.Get("/blob/blob.bin");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->body.size(), 5000u);
  EXPECT_EQ(server.requests().front().bytes_sent, 2500u);
}

TEST(TestServer, StartsAndStopsRepeatedly) {
  for (int i = 0; i < 5; ++i) {
    TestServer server;
    httplib::Client client(server.base_url());
    EXPECT_EQ(client.Get("/stac")->status, 200);
  }
}

}  // namespace
