// Outputs do not depend on how the work is spread: the same request run with one acquisition
// at a time, with two or three in flight, and with one or many parallel band reads gives the
// same files byte for byte (COGs, sidecars, items.json, run.json, quicklooks), with the
// built-in detector and with ONNX models on each engine.
#include <gtest/gtest.h>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

using namespace std::chrono_literals;

// Five acquisitions over the demo region (2021-06-15 .. 2023-09-01; 2023-04-03 is skipped).
const std::array<std::string, 2> kDates{"2021-01-01", "2023-12-31"};
const fs::path kSharedModels = fs::path(S2PREP_SHARED_DIR) / "models";

class DeterminismCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_scene();
    served_ = std::make_unique<ServedScene>();
  }
  static void TearDownTestSuite() { served_.reset(); }
  void SetUp() override {
    // Reads that take a while make the acquisitions in flight overlap: one reads while another
    // is in inference or being written.
    served_->server.set_latency(5ms);
  }

  // Runs the request once per way of spreading the work and expects every folder to equal the
  // first (one acquisition at a time) file for file, byte for byte.
  void expect_same_files(const std::vector<std::string>& request) const {
    const std::vector<std::vector<std::string>> spreads{
        {"--parallel-acquisitions", "1"},
        {"--parallel-acquisitions", "2"},
        {"--parallel-acquisitions", "2", "-j", "1"},
        {"--parallel-acquisitions", "3", "-j", "2"}};
    std::vector<TempDir> outs;
    for (const auto& spread : spreads) {
      outs.emplace_back("s2prep-cli-determinism");
      auto extra = request;
      extra.insert(extra.end(), spread.begin(), spread.end());
      const auto r = served_->run(demo_region(), kDates, outs.back().path(), extra);
      ASSERT_EQ(r.exit_code, 0) << describe(r);
    }
    ASSERT_GE(output_items(outs.front().path()).size(), 5u);
    for (std::size_t i = 1; i < spreads.size(); ++i) {
      std::string flags;
      for (const auto& f : spreads[i]) flags += " " + f;
      EXPECT_EQ(differing_files(outs.front().path(), outs[i].path()), std::vector<std::string>{})
          << "with" << flags;
    }
  }

  static std::unique_ptr<ServedScene> served_;
};

std::unique_ptr<ServedScene> DeterminismCli::served_;

TEST_F(DeterminismCli, BuiltinDetectorGridLayout) {
  expect_same_files({"--keep-probabilities", "--quicklook"});
}

// The units of one acquisition (its tiles) may be in flight at the same time.
TEST_F(DeterminismCli, BuiltinDetectorTileLayout) {
  expect_same_files({"--layout", "tile", "--keep-probabilities"});
}

// Both models are networks: one acquisition's shadow model may run while the next one's cloud
// model runs, each network taken by one acquisition at a time.
class DeterminismModelsCli : public DeterminismCli,
                             public ::testing::WithParamInterface<std::string> {};

TEST_P(DeterminismModelsCli, StandInModels) {
  if (!fs::exists(kSharedModels / "standin_cloud_cheaplab_ps2.onnx") ||
      !fs::exists(kSharedModels / "standin_shadow_fpn.onnx")) {
    GTEST_SKIP() << "the stand-in models are not in " << kSharedModels;
  }
  expect_same_files({"--keep-probabilities", "--model-dir", kSharedModels.string(), "--cloud-model",
                     "standin_cloud_cheaplab_ps2.onnx", "--shadow-model", "standin_shadow_fpn.onnx",
                     "--engine", GetParam()});
}

INSTANTIATE_TEST_SUITE_P(Engines, DeterminismModelsCli, ::testing::Values("onednn", "opencv"));

}  // namespace
}  // namespace s2prep::clitest
