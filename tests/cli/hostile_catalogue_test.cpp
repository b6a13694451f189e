// Names and records that cannot lie: catalogue values that go into file names (ids, MGRS tiles)
// are validated, items outside the requested time range are dropped with a warning, log lines
// escape control characters, and under --log-json the final error is JSON too.
#include <gtest/gtest.h>

#include "../stac/scripted_server.hpp"
#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

const std::array<std::string, 2> kDate{"2021-06-15", "2021-06-15"};

// A catalogue that answers every search with the standard scene's 2021-06-15 items plus
// `hostile` (a copy of one of them, changed by `change`), whatever the search asks; token
// service and blobs are the shared test server's, signing like Planetary Computer.
struct HostileCatalogue {
  explicit HostileCatalogue(const std::function<void(json&)>& change)
      : catalogue([this](const std::string&, const std::string&, const std::string&) {
          return stac::ScriptedServer::Answer{200, page.dump()};
        }) {
    blobs.set_require_signing(true);
    blobs.serve_directory(shared_scene().root);
    json features = json::array();
    for (const auto* g : items_on(shared_scene(), "2021-06-15")) {
      json item = g->item;
      for (auto& [key, asset] : item["assets"].items()) {
        asset["href"] = blobs.blob_url(asset["href"].get<std::string>());
      }
      features.push_back(item);
    }
    json hostile = features.front();
    change(hostile);
    features.push_back(hostile);
    // The count tells the client the page is the whole answer.
    page = {
        {"type", "FeatureCollection"}, {"features", features}, {"numberMatched", features.size()}};
  }
  RunResult run(const fs::path& out, std::vector<std::string> extra = {}) const {
    std::vector<std::string> a{
        "run",        "--geometry", demo_region(),   "--start",     kDate[0],          "--end",
        kDate[1],     "--stac-url", catalogue.url(), "--token-url", blobs.token_url(), "--out",
        out.string(), "--layout",   "tile"};
    a.insert(a.end(), extra.begin(), extra.end());
    return s2prep(a);
  }
  json page;
  TestServer blobs;
  stac::ScriptedServer catalogue;
};

// The run succeeds with the good items; no file name or log line carries the hostile value.
void expect_dropped(const RunResult& r, const fs::path& out, const std::string& reason) {
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "Ignoring STAC item")) << r.err;
  EXPECT_TRUE(contains(r.err, reason)) << r.err;
  for (const auto& f : list_files(out)) {
    for (const char c : f) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << f;
    EXPECT_LT(f.size(), 120u) << f;
  }
  EXPECT_FALSE(output_items(out).empty());
}

TEST(HostileCatalogueCli, ATileWithANulByteIsDroppedNotWrittenUnderATruncatedName) {
  HostileCatalogue catalogue([](json& item) {
    item["id"] = "S2A_MSIL2A_20210615T101559_R022_T99XXX_20210615T120000";
    item["properties"]["s2:mgrs_tile"] = std::string("99XX\0X", 6);
  });
  TempDir out("s2prep-cli-hostile");
  const auto r = catalogue.run(out.path());
  expect_dropped(r, out.path(), "is not two digits and three letters");
  for (const auto& f : list_files(out.path())) EXPECT_FALSE(contains(f, "99XX")) << f;
}

TEST(HostileCatalogueCli, AnIdWithANewlineOrOf300CharactersIsDroppedAndLogsStayOneLine) {
  for (const std::string& id :
       {std::string("S2A_evil\ninfo: forged line"), std::string(300, 'A')}) {
    HostileCatalogue catalogue([&](json& item) {
      item["id"] = id;
      item["properties"].erase("s2:mgrs_tile");  // so the id would name the tile output
    });
    TempDir out("s2prep-cli-hostile-id");
    const auto r = catalogue.run(out.path());
    expect_dropped(r, out.path(), "its id is not a plain name");
    EXPECT_FALSE(contains(r.err, "\ninfo: forged line")) << r.err;
  }
}

TEST(HostileCatalogueCli, AnItemOutsideTheRequestedTimeRangeIsDropped) {
  HostileCatalogue catalogue([](json& item) {
    item["id"] = "S2A_MSIL2A_19990615T101559_R022_T33UUP_19990615T120000";
    item["properties"]["datetime"] = "1999-06-15T10:15:59Z";
  });
  TempDir out("s2prep-cli-hostile-time");
  const auto r = catalogue.run(out.path());
  expect_dropped(r, out.path(), "lies outside the requested time range");
  for (const auto& item : output_items(out.path())) {
    EXPECT_EQ(item["properties"]["datetime"].get<std::string>().substr(0, 10), "2021-06-15");
  }
}

TEST(HostileCatalogueCli, UnderLogJsonTheFinalErrorIsJsonToo) {
  TempDir out("s2prep-cli-logjson");
  const auto r =
      s2prep({"--log-json", "run", "--geometry", "POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))", "--start",
              "2021-06-15", "--end", "2021-06-15", "--out", out.path().string()});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  std::istringstream lines(r.err);
  std::string last;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last = line;
  }
  const json record = json::parse(last);  // throws, failing the test, when not JSON
  EXPECT_EQ(record.at("level"), "error");
  EXPECT_EQ(record.at("exit_code"), 2);
  EXPECT_TRUE(contains(record.at("message").get<std::string>(), "not a valid polygon"))
      << record.dump();
}

}  // namespace
}  // namespace s2prep::clitest
