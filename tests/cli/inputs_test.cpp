// Bad inputs to `search` and `run`: exit status 2 and exactly one sentence on stderr that names
// the input at fault, before anything is fetched or written.
#include <gtest/gtest.h>

#include <cctype>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct BadInput {
  std::string name;
  std::string geometry = "POLYGON((12.4 48.4, 12.6 48.4, 12.6 48.6, 12.4 48.6, 12.4 48.4))";
  std::string start = "2023-06-01";
  std::string end = "2023-06-30";
  std::vector<std::string> mentions;  // lower-case words the error sentence must contain
};

class BadInputs : public ::testing::TestWithParam<BadInput> {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>("s2prep-cli-inputs");
    write_text(dir_->path() / "garbage.geojson", "this is { not json");
    write_text(dir_->path() / "line.geojson",
               R"({"type": "LineString", "coordinates": [[12.4, 48.4], [12.6, 48.6]]})");
  }
  static void TearDownTestSuite() { dir_.reset(); }

  static std::unique_ptr<TempDir> dir_;
  TestServer server_;
};
std::unique_ptr<TempDir> BadInputs::dir_;

// What the user sees must point at what to fix.
void expect_one_sentence(const RunResult& r, const BadInput& in) {
  EXPECT_EQ(r.exit_code, 2) << in.name << "\n" << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << in.name << "\n" << r.err;
  const std::string e = lower(errors[0]);
  for (const auto& m : in.mentions) EXPECT_TRUE(contains(e, m)) << in.name << ": " << errors[0];
  // One sentence: a single line, no stack of nested messages.
  EXPECT_LT(errors[0].size(), 400u) << errors[0];
}

std::string resolve(std::string s, const fs::path& dir) {
  const std::string marker = "@DIR@";
  if (auto p = s.find(marker); p != std::string::npos) s.replace(p, marker.size(), dir.string());
  return s;
}

TEST_P(BadInputs, SearchExitsWith2) {
  BadInput in = GetParam();
  in.geometry = resolve(in.geometry, dir_->path());
  for (auto& m : in.mentions) m = lower(resolve(m, dir_->path()));
  const auto r = s2prep({"search", "--geometry", in.geometry, "--start", in.start, "--end", in.end,
                         "--stac-url", server_.stac_url(), "--token-url", "none"});
  expect_one_sentence(r, in);
  EXPECT_EQ(server_.request_count("/"), 0) << "bad input must be caught before any request";
}

TEST_P(BadInputs, RunExitsWith2AndWritesNothing) {
  BadInput in = GetParam();
  in.geometry = resolve(in.geometry, dir_->path());
  for (auto& m : in.mentions) m = lower(resolve(m, dir_->path()));
  TempDir out("s2prep-cli-bad-run");
  const auto r =
      s2prep({"run", "--geometry", in.geometry, "--start", in.start, "--end", in.end, "--stac-url",
              server_.stac_url(), "--token-url", "none", "--out", (out.path() / "o").string()});
  expect_one_sentence(r, in);
  EXPECT_EQ(server_.request_count("/"), 0);
  EXPECT_TRUE(list_files(out.path()).empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cli, BadInputs,
    ::testing::Values(
        BadInput{"SelfIntersectingPolygon",
                 "POLYGON((12.4 48.4, 12.6 48.6, 12.6 48.4, 12.4 48.6, 12.4 48.4))",
                 "2023-06-01",
                 "2023-06-30",
                 {"self-intersection", "geometry"}},
        BadInput{"Point", "POINT(12.5 48.5)", "2023-06-01", "2023-06-30", {"point", "polygon"}},
        BadInput{"SwappedLatLon",
                 // A field near Beijing given as lat, lon: "latitudes" of 116 are impossible.
                 "POLYGON((39.9 116.3, 39.9 116.4, 40.0 116.4, 40.0 116.3, 39.9 116.3))",
                 "2023-06-01",
                 "2023-06-30",
                 {"swapped"}},
        BadInput{"MissingFile",
                 "@DIR@/nowhere/field.geojson",
                 "2023-06-01",
                 "2023-06-30",
                 {"@DIR@/nowhere/field.geojson", "does not exist"}},
        BadInput{"UnparsableFile",
                 "@DIR@/garbage.geojson",
                 "2023-06-01",
                 "2023-06-30",
                 {"garbage.geojson"}},
        BadInput{"Directory", "@DIR@", "2023-06-01", "2023-06-30", {"directory"}},
        BadInput{"LineStringFile",
                 "@DIR@/line.geojson",
                 "2023-06-01",
                 "2023-06-30",
                 {"line.geojson", "polygon"}},
        BadInput{"EmptyPolygon", "POLYGON EMPTY", "2023-06-01", "2023-06-30", {"empty"}},
        BadInput{"ProjectedMetres",
                 "POLYGON((300000 5400000, 301000 5400000, 301000 5399000, 300000 5399000, "
                 "300000 5400000))",
                 "2023-06-01",
                 "2023-06-30",
                 {"degrees"}},
        BadInput{"EndBeforeStart",
                 "POLYGON((12.4 48.4, 12.6 48.4, 12.6 48.6, 12.4 48.6, 12.4 48.4))",
                 "2023-06-30",
                 "2023-06-01",
                 {"--end", "before"}},
        BadInput{"BadStartDate",
                 "POLYGON((12.4 48.4, 12.6 48.4, 12.6 48.6, 12.4 48.6, 12.4 48.4))",
                 "2023-13-45",
                 "2023-06-30",
                 {"--start", "2023-13-45"}},
        BadInput{"BadEndDate",
                 "POLYGON((12.4 48.4, 12.6 48.4, 12.6 48.6, 12.4 48.6, 12.4 48.4))",
                 "2023-06-01",
                 "June 30th",
                 {"--end", "june 30th"}}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

TEST(BadArguments, UnknownFlagAndMissingRequiredAreExit2) {
  EXPECT_EQ(s2prep({"search", "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(s2prep({"search", "--start", "2023-06-01", "--end", "2023-06-02"}).exit_code, 2);
  EXPECT_EQ(
      s2prep({"run", "--geometry", "POINT(1 1)", "--start", "2023-06-01", "--end", "2023-06-02"})
          .exit_code,
      2);                              // --out missing
  EXPECT_EQ(s2prep({}).exit_code, 2);  // no command
}

TEST(BadArguments, OutOfRangeParametersNameTheParameter) {
  TestServer server;
  const std::string region = "POLYGON((12.4 48.4, 12.6 48.4, 12.6 48.6, 12.4 48.6, 12.4 48.4))";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--min-tile-cover", "0"}, "min_tile_cover"},
      {{"--min-tile-cover", "1.5"}, "min_tile_cover"},
      {{"--max-tiles-per-time", "0"}, "max_tiles_per_time"},
  };
  for (const auto& [flags, name] : cases) {
    std::vector<std::string> args{"search",     "--geometry", region,
                                  "--start",    "2023-06-01", "--end",
                                  "2023-06-02", "--stac-url", server.stac_url()};
    args.insert(args.end(), flags.begin(), flags.end());
    const auto r = s2prep(args);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    const auto errors = error_lines(r.err);
    ASSERT_EQ(errors.size(), 1u) << r.err;
    EXPECT_TRUE(contains(errors[0], name)) << errors[0];
  }
  EXPECT_EQ(server.request_count("/"), 0);
}

}  // namespace
}  // namespace s2prep::clitest
