// Output folders never lose or mix results: a folder belongs to one request; the same request
// with another time range adds to it and items.json lists every complete output; a concurrent
// run into the same folder is refused without touching the first one's files; Ctrl-C and
// SIGTERM remove this process's temporary files and exit 130 / 143; a region too large for
// memory fails before any request.
#include <gtest/gtest.h>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

using namespace std::chrono_literals;

// Two dates on the demo region each: 2021-06-15 and 2021-07-10, then 2022-06-20.
const std::array<std::string, 2> kFirstRange{"2021-06-01", "2021-07-31"};
const std::array<std::string, 2> kSecondRange{"2022-06-01", "2022-06-30"};

class OutputFolderCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_scene();
    served_ = std::make_unique<ServedScene>();
  }
  static void TearDownTestSuite() { served_.reset(); }
  void SetUp() override {
    served_->server.set_latency(0ms);
    served_->server.clear_faults();
  }

  static std::vector<std::string> ids(const fs::path& out) {
    std::vector<std::string> out_ids;
    for (const auto& item : output_items(out)) out_ids.push_back(item.at("id"));
    return out_ids;
  }
  static std::vector<std::string> temporaries(const fs::path& out) {
    std::vector<std::string> found;
    for (const auto& f : list_files(out)) {
      if (contains(f, ".tmp-")) found.push_back(f);
    }
    return found;
  }

  static std::unique_ptr<ServedScene> served_;
  TempDir out_{"s2prep-cli-folder"};
};
std::unique_ptr<ServedScene> OutputFolderCli::served_;

TEST_F(OutputFolderCli, AnotherRegionIntoTheFolderIsRefusedAndNothingIsLost) {
  const auto first = served_->run(demo_region(), kFirstRange, out_.path());
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  const auto before = ids(out_.path());
  ASSERT_EQ(before.size(), 2u);
  const std::string raster_before =
      read_text(asset_path(out_.path(), output_items(out_.path())[0], "raster"));

  // Field B: another part of the same tiles, same dates, so the output names would collide.
  const std::string other = scene_region(shared_scene(), 0.2, 0.2, 0.3, 0.3);
  const auto second = served_->run(other, kFirstRange, out_.path());
  EXPECT_EQ(second.exit_code, 2) << describe(second);
  const auto errors = error_lines(second.err);
  ASSERT_EQ(errors.size(), 1u) << second.err;
  EXPECT_TRUE(contains(errors[0], out_.path().string())) << errors[0];
  EXPECT_TRUE(contains(errors[0], "another request")) << errors[0];
  EXPECT_TRUE(contains(errors[0], "--replace-request")) << errors[0];
  EXPECT_EQ(ids(out_.path()), before);
  EXPECT_EQ(read_text(asset_path(out_.path(), output_items(out_.path())[0], "raster")),
            raster_before);

  // Said explicitly: the earlier request's outputs go, the new request's come.
  const auto replaced = served_->run(other, kFirstRange, out_.path(), {"--replace-request"});
  ASSERT_EQ(replaced.exit_code, 0) << describe(replaced);
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), 2u);
  const auto grid = raster_info(asset_path(out_.path(), items[0], "raster"));
  const auto first_grid = raster_info(asset_path(out_.path(), items[1], "raster"));
  EXPECT_EQ(grid.transform, first_grid.transform);  // both outputs of the new request's grid
  EXPECT_NE(read_text(asset_path(out_.path(), items[0], "raster")), raster_before);
}

TEST_F(OutputFolderCli, ALongerTimeRangeAddsToTheFolderAndTheCatalogueListsEveryOutput) {
  ASSERT_EQ(served_->run(demo_region(), kFirstRange, out_.path()).exit_code, 0);
  const auto second = served_->run(demo_region(), kSecondRange, out_.path());
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_EQ(ids(out_.path()), (std::vector<std::string>{"S2_20210615T101559", "S2_20210710T100559",
                                                        "S2_20220620T101559"}));
  // Every listed output is there, and every output on disk is listed.
  std::size_t sidecars = 0;
  for (const auto& f : list_files(out_.path())) {
    if (f.rfind("S2_", 0) == 0 && f.ends_with(".json")) ++sidecars;
  }
  EXPECT_EQ(sidecars, 3u);
  EXPECT_EQ(read_json(out_.path() / "run.json").at("status"), "complete");
}

TEST_F(OutputFolderCli, AConcurrentRunIsRefusedAndTheFirstCompletes) {
  TempDir logs("s2prep-cli-folder-logs");
  served_->server.clear_requests();
  served_->server.set_latency(150ms);  // the first run lasts seconds: the second meets it
  Background first(served_->args(demo_region(), kFirstRange, out_.path()), {}, logs.path());
  ASSERT_TRUE(first.wait_for([&] { return served_->server.request_count("/blob") > 5; }, 120s))
      << first.err();
  const auto second = served_->run(demo_region(), kFirstRange, out_.path());
  ASSERT_TRUE(first.running()) << "the first run ended before the second started";
  EXPECT_EQ(second.exit_code, 1) << describe(second);
  const auto errors = error_lines(second.err);
  ASSERT_EQ(errors.size(), 1u) << second.err;
  EXPECT_TRUE(contains(errors[0], "Another s2prep run is writing")) << errors[0];
  EXPECT_EQ(first.wait(), 0) << first.err();
  EXPECT_EQ(ids(out_.path()).size(), 2u);
  EXPECT_EQ(temporaries(out_.path()), std::vector<std::string>{});
  // The second run removed none of the first one's work: it resumes to nothing left to do.
  served_->server.set_latency(0ms);
  const auto again = served_->run(demo_region(), kFirstRange, out_.path());
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_TRUE(contains(again.err, "outputs complete, kept")) << again.err;
}

TEST_F(OutputFolderCli, InterruptedRunsRemoveTheirTemporaryFilesAndSaySo) {
  for (const auto& [sig, status] :
       std::vector<std::pair<int, int>>{{SIGINT, 130}, {SIGTERM, 143}}) {
    SCOPED_TRACE(sig);
    TempDir out("s2prep-cli-interrupted");
    TempDir logs("s2prep-cli-interrupted-logs");
    served_->server.clear_requests();
    served_->server.set_latency(20ms);
    Background bg(served_->args(demo_region(), kFirstRange, out.path()), {}, logs.path());
    // Interrupted while the first output's files are being written or read.
    ASSERT_TRUE(bg.wait_for([&] { return served_->server.request_count("/blob") > 20; }, 120s))
        << bg.err();
    ASSERT_TRUE(bg.running()) << bg.err();
    bg.signal(sig);
    EXPECT_EQ(bg.wait(), status) << bg.err();
    EXPECT_TRUE(contains(bg.err(), "interrupted; run the same command again to resume"))
        << bg.err();
    EXPECT_EQ(temporaries(out.path()), std::vector<std::string>{});
    // Every output the catalogue lists is complete; the rerun finishes the rest.
    if (fs::exists(out.path() / "items.json")) {
      for (const auto& item : output_items(out.path())) {
        EXPECT_TRUE(fs::exists(out.path() / (item.at("id").get<std::string>() + ".json")));
      }
    }
    served_->server.set_latency(0ms);
    const auto resumed = served_->run(demo_region(), kFirstRange, out.path());
    ASSERT_EQ(resumed.exit_code, 0) << describe(resumed);
    EXPECT_EQ(ids(out.path()).size(), 2u);
  }
}

TEST_F(OutputFolderCli, ARegionTooLargeForMemoryFailsBeforeAnyRequest) {
  served_->server.clear_requests();
  // About 1000 km x 1000 km: 10^10 pixels of 10 m.
  const auto r =
      served_->run("POLYGON((5 45, 18 45, 18 54, 5 54, 5 45))", kFirstRange, out_.path());
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], "pixels of 10 m")) << errors[0];
  EXPECT_TRUE(contains(errors[0], "GB of memory")) << errors[0];
  EXPECT_TRUE(contains(errors[0], "--per-feature")) << errors[0];
  EXPECT_EQ(served_->server.request_count("/"), 0);
}

}  // namespace
}  // namespace s2prep::clitest
