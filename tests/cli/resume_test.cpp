// Resumable, atomic outputs: a run killed with SIGKILL at any moment leaves nothing that looks
// complete and resumes to the same bytes as an uninterrupted run; a second run keeps complete
// outputs; --force, changed parameters, a missing sidecar or a damaged file recompute.
#include <gtest/gtest.h>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

using namespace std::chrono_literals;

// Three acquisitions over the demo region: 2021-06-15, 2021-07-10, 2022-06-20.
const std::array<std::string, 2> kDates{"2021-06-01", "2022-12-31"};
const std::vector<std::string> kNames{"S2_20210615T101559", "S2_20210710T100559",
                                      "S2_20220620T101559"};

class ResumeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_scene();
    served_ = std::make_unique<ServedScene>();
    clean_ = std::make_unique<TempDir>("s2prep-cli-clean");
    clean_result_ = served_->run(demo_region(), kDates, clean_->path());
  }
  static void TearDownTestSuite() {
    served_.reset();
    clean_.reset();
  }
  void SetUp() override {
    ASSERT_EQ(clean_result_.exit_code, 0) << describe(clean_result_);
    served_->server.set_latency(0ms);
    served_->server.clear_faults();
  }

  RunResult run(const fs::path& out, std::vector<std::string> extra = {}) const {
    return served_->run(demo_region(), kDates, out, std::move(extra));
  }

  // Every output whose sidecar exists is complete: its files equal the clean run's.
  static void expect_sidecars_mean_complete(const fs::path& out) {
    for (const auto& name : kNames) {
      if (!fs::exists(out / (name + ".json"))) continue;
      const json item = read_json(out / (name + ".json"));
      EXPECT_EQ(item, read_json(clean_->path() / (name + ".json")));
      for (const auto& [key, asset] : item["assets"].items()) {
        const std::string href = asset["href"];
        EXPECT_EQ(read_text(out / href), read_text(clean_->path() / href)) << href;
      }
    }
  }

  static std::unique_ptr<ServedScene> served_;
  static std::unique_ptr<TempDir> clean_;
  static RunResult clean_result_;
  TempDir out_{"s2prep-cli-resume"};
};
std::unique_ptr<ServedScene> ResumeCli::served_;
std::unique_ptr<TempDir> ResumeCli::clean_;
RunResult ResumeCli::clean_result_;

TEST_F(ResumeCli, CleanRunWritesThreeOutputs) {
  EXPECT_EQ(output_items(clean_->path()).size(), kNames.size());
  for (const auto& n : kNames) EXPECT_TRUE(fs::exists(clean_->path() / (n + ".json"))) << n;
}

// Killed while reading the first acquisition, and again after the first output was complete:
// each time the resumed run ends with exactly the clean run's files.
TEST_F(ResumeCli, KilledRunResumesToIdenticalOutputs) {
  struct KillPoint {
    std::string name;
    std::function<bool(const fs::path&)> reached;
  };
  const std::vector<KillPoint> points{
      {"while reading",
       [&](const fs::path&) { return served_->server.request_count("/blob") >= 40; }},
      {"after the first output",
       [&](const fs::path& out) { return fs::exists(out / (kNames[0] + ".json")); }},
  };
  for (const auto& point : points) {
    SCOPED_TRACE(point.name);
    TempDir out("s2prep-cli-killed");
    TempDir logs("s2prep-cli-logs");
    served_->server.clear_requests();
    served_->server.set_latency(15ms);  // slow enough to be caught in the middle
    {
      Background bg(served_->args(demo_region(), kDates, out.path()), {}, logs.path());
      ASSERT_TRUE(bg.wait_for([&] { return point.reached(out.path()); }, 120s)) << bg.err();
      ASSERT_TRUE(bg.running()) << "the run ended before it could be killed:\n" << bg.err();
      EXPECT_EQ(bg.kill_now(), 128 + SIGKILL);
    }
    served_->server.set_latency(0ms);
    // The catalogue (once anything is complete) lists only outputs whose sidecars exist.
    if (fs::exists(out.path() / "items.json")) {
      for (const auto& item : output_items(out.path())) {
        EXPECT_TRUE(fs::exists(out.path() / (item.at("id").get<std::string>() + ".json")));
      }
    }
    EXPECT_FALSE(fs::exists(out.path() / (kNames[2] + ".json")));
    expect_sidecars_mean_complete(out.path());

    const auto resumed = run(out.path());
    ASSERT_EQ(resumed.exit_code, 0) << describe(resumed);
    EXPECT_EQ(differing_files(clean_->path(), out.path()), std::vector<std::string>{});
    for (const auto& f : list_files(out.path())) EXPECT_FALSE(contains(f, ".tmp-")) << f;
  }
}

TEST_F(ResumeCli, SecondRunKeepsCompleteOutputsAndForceRecomputes) {
  ASSERT_EQ(run(out_.path()).exit_code, 0);
  const auto again = run(out_.path());
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  for (const auto& n : kNames) {
    EXPECT_TRUE(contains(again.err, n + ": outputs complete, kept")) << again.err;
  }
  std::size_t resumed_lines = 0;
  for (std::size_t p = 0; (p = again.out.find("(resumed)", p)) != std::string::npos; ++p) {
    ++resumed_lines;
  }
  EXPECT_EQ(resumed_lines, kNames.size()) << again.out;
  EXPECT_EQ(differing_files(clean_->path(), out_.path()), std::vector<std::string>{});

  const auto forced = run(out_.path(), {"--force"});
  ASSERT_EQ(forced.exit_code, 0) << describe(forced);
  EXPECT_FALSE(contains(forced.out, "(resumed)")) << forced.out;
  EXPECT_FALSE(contains(forced.err, "kept")) << forced.err;
  for (const auto& n : kNames) EXPECT_TRUE(contains(forced.err, n + ": written")) << forced.err;
  EXPECT_EQ(differing_files(clean_->path(), out_.path()), std::vector<std::string>{});
}

TEST_F(ResumeCli, MissingSidecarOrDamagedFileIsRecomputed) {
  ASSERT_EQ(run(out_.path()).exit_code, 0);
  // No sidecar: the output is not known to be complete, whatever files are there.
  fs::remove(out_.path() / (kNames[1] + ".json"));
  // A damaged raster under a valid sidecar: names prove nothing, the file is checked.
  const fs::path raster = out_.path() / (kNames[2] + "_raster.tif");
  fs::resize_file(raster, fs::file_size(raster) / 2);

  const auto r = run(out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, kNames[0] + ": outputs complete, kept")) << r.err;
  EXPECT_TRUE(contains(r.err, kNames[1] + ": written")) << r.err;
  EXPECT_TRUE(contains(r.err, kNames[2] + ": written")) << r.err;
  EXPECT_EQ(differing_files(clean_->path(), out_.path()), std::vector<std::string>{});
}

TEST_F(ResumeCli, ChangedParametersRecompute) {
  ASSERT_EQ(run(out_.path()).exit_code, 0);
  const auto r = run(out_.path(), {"--cloud-thr", "0.6"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(contains(r.err, "kept")) << r.err;
  for (const auto& item : output_items(out_.path())) {
    EXPECT_EQ(item["properties"]["s2prep:cloud_thr"], 0.6);
  }
}

TEST_F(ResumeCli, LeftoverTemporaryFilesAreRemoved) {
  ASSERT_EQ(run(out_.path()).exit_code, 0);
  // What a killed writer leaves behind.
  write_text(out_.path() / ".S2_20210615T101559_raster.tif.tmp-4242", "partial");
  write_text(out_.path() / ".items.json.tmp-4242", "{");
  const auto r = run(out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  for (const auto& f : list_files(out_.path())) EXPECT_FALSE(contains(f, ".tmp-")) << f;
  EXPECT_EQ(differing_files(clean_->path(), out_.path()), std::vector<std::string>{});
}

}  // namespace
}  // namespace s2prep::clitest
