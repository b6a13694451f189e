// `s2prep plan`, `s2prep run --plan --shard` and `s2prep collect` as a cluster uses them: plan
// once, run the shards (at the same time, on one folder), collect; the files must equal a single
// run's byte for byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../mask/test_support.hpp"
#include "cli_support.hpp"
#include "geo/geometry.hpp"

namespace s2prep::clitest {
namespace {

using ::testing::HasSubstr;

class PlanCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { served_ = new ServedScene(); }
  static void TearDownTestSuite() {
    delete served_;
    served_ = nullptr;
  }
  // The demo region over two dates: two acquisitions, two tiles each in the tile layout.
  static std::vector<std::string> request(const std::string& command, const fs::path& out,
                                          std::vector<std::string> extra = {}) {
    auto args = served_->args(demo_region(), {"2023-08-01", "2023-09-30"}, out, std::move(extra));
    args.front() = command;
    return args;
  }
  static ServedScene* served_;
  TempDir single_, planned_;
  TempDir logs_[3];
};

ServedScene* PlanCli::served_ = nullptr;

TEST_F(PlanCli, ShardsAtOnceThenCollectEqualASingleRun) {
  const std::vector<std::string> layout{"--layout", "tile", "--keep-probabilities"};
  const auto single = s2prep(request("run", single_.path(), layout));
  ASSERT_EQ(single.exit_code, 0) << describe(single);

  const auto plan = s2prep(request("plan", planned_.path(), layout));
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  const json written = read_json(planned_.path() / "plan.json");
  const std::size_t units = written.at("units").size();
  ASSERT_EQ(units, output_items(single_.path()).size());
  EXPECT_THAT(plan.out, HasSubstr(std::to_string(units) + " units"));
  EXPECT_FALSE(written.at("items").empty());
  EXPECT_EQ(written.dump().find("pc_key\":\"("), std::string::npos) << "no key in a plan";

  const auto before = s2prep({"collect", "--out", planned_.path().string()});
  EXPECT_EQ(before.exit_code, 1) << describe(before);
  EXPECT_THAT(before.err, HasSubstr("missing: " + written["units"][0]["name"].get<std::string>()));

  // Three shards at once on the same folder, as a cluster's tasks would run.
  const std::string plan_file = (planned_.path() / "plan.json").string();
  std::vector<std::unique_ptr<Background>> shards;
  for (int i = 0; i < 3; ++i) {
    shards.push_back(std::make_unique<Background>(
        std::vector<std::string>{"run", "--plan", plan_file, "--shard", std::to_string(i) + "/3"},
        std::map<std::string, std::string>{}, logs_[i].path()));
  }
  for (auto& shard : shards) EXPECT_EQ(shard->wait(), 0) << shard->err();

  const auto after = s2prep({"collect", "--out", planned_.path().string()});
  EXPECT_EQ(after.exit_code, 0) << describe(after);
  EXPECT_THAT(after.out, HasSubstr(std::to_string(units) + " of " + std::to_string(units) +
                                   " units complete"));
  EXPECT_EQ(differing_files(single_.path(), planned_.path(),
                            {"run.json", "folder.json", "plan.json", ".s2prep.lock"}),
            std::vector<std::string>{});
}

// Each unit carries what a cluster's worker must provide: memory, local scratch disk and the
// size of its outputs; the summary printed gives the largest. With both models ONNX networks the
// bands stay on disk: scratch is the 12 bands of the context grid.
TEST_F(PlanCli, UnitsCarryMemoryScratchAndOutputEstimates) {
  const std::vector<std::string> tile{"--layout", "tile", "--keep-probabilities"};
  std::vector<std::string> networks = tile;
  for (const std::string& arg :
       {std::string("--cloud-model"), mask::testing::model_path("cloud_linear.onnx").string(),
        std::string("--shadow-model"), mask::testing::model_path("shadow_linear.onnx").string()}) {
    networks.push_back(arg);
  }
  TempDir builtin_dir, networks_dir;
  const auto builtin = s2prep(request("plan", builtin_dir.path(), tile));
  ASSERT_EQ(builtin.exit_code, 0) << describe(builtin);
  const auto on_disk = s2prep(request("plan", networks_dir.path(), networks));
  ASSERT_EQ(on_disk.exit_code, 0) << describe(on_disk);
  EXPECT_THAT(on_disk.out, HasSubstr("of local scratch disk"));
  EXPECT_THAT(on_disk.out, HasSubstr("of memory"));
  const json held = read_json(builtin_dir.path() / "plan.json");
  const json streamed = read_json(networks_dir.path() / "plan.json");
  ASSERT_EQ(held.at("units").size(), streamed.at("units").size());
  ASSERT_FALSE(held.at("units").empty());
  for (std::size_t i = 0; i < held.at("units").size(); ++i) {
    const json& h = held["units"][i];
    const json& s = streamed["units"][i];
    const std::uint64_t width = h["grid"]["width"], height = h["grid"]["height"];
    // Raster 24, masks 2, probabilities 8 bytes per pixel, a third more for overviews.
    EXPECT_EQ(h["output_bytes"].get<std::uint64_t>(), width * height * 34 * 4 / 3);
    EXPECT_EQ(s["output_bytes"], h["output_bytes"]);
    EXPECT_EQ(h["scratch_bytes"].get<std::uint64_t>(), 0u);
    // At least the output grid's 12 bands of 2 bytes (the context grid is larger).
    EXPECT_GE(s["scratch_bytes"].get<std::uint64_t>(), width * height * 24);
    // Both at least the fixed part (GDAL's block cache and the libraries); which is lower
    // depends on the grid's size (tests/pipeline/memory_budget_test.cpp).
    EXPECT_GE(s["memory_bytes"].get<std::uint64_t>(), 400u << 20);
    EXPECT_GE(h["memory_bytes"].get<std::uint64_t>(), 400u << 20);
  }
  // A memory limit below the estimate fails the plan at once, naming the grid.
  const auto tight = s2prep(request("plan", networks_dir.path(), [&] {
    auto a = networks;
    a.insert(a.end(), {"--max-memory", "100MB"});
    return a;
  }()));
  EXPECT_EQ(tight.exit_code, 2) << describe(tight);
  EXPECT_THAT(tight.err, HasSubstr("GB of memory"));
}

TEST_F(PlanCli, TheShardComesFromTheClusterEngine) {
  ASSERT_EQ(s2prep(request("plan", planned_.path())).exit_code, 0);
  const std::string plan_file = (planned_.path() / "plan.json").string();
  const std::size_t units = read_json(plan_file).at("units").size();
  ASSERT_EQ(units, 2u);
  // Slurm array task 8 of an array 7-8: the second shard of two, unit 1 only.
  const auto slurm = s2prep({"run", "--plan", plan_file}, {{"SLURM_ARRAY_TASK_ID", "8"},
                                                           {"SLURM_ARRAY_TASK_MIN", "7"},
                                                           {"SLURM_ARRAY_TASK_COUNT", "2"}});
  ASSERT_EQ(slurm.exit_code, 0) << describe(slurm);
  EXPECT_EQ(output_items(planned_.path()).size(), 1u);
  EXPECT_EQ(output_items(planned_.path())[0]["id"], read_json(plan_file)["units"][1]["name"]);
  // A Kubernetes Indexed Job gives the index only: the count comes from S2PREP_SHARD_COUNT.
  const auto no_count = s2prep({"run", "--plan", plan_file}, {{"JOB_COMPLETION_INDEX", "0"}});
  EXPECT_EQ(no_count.exit_code, 2) << describe(no_count);
  EXPECT_THAT(no_count.err, HasSubstr("S2PREP_SHARD_COUNT"));
  const auto k8s = s2prep({"run", "--plan", plan_file},
                          {{"JOB_COMPLETION_INDEX", "0"}, {"S2PREP_SHARD_COUNT", "2"}});
  ASSERT_EQ(k8s.exit_code, 0) << describe(k8s);
  EXPECT_EQ(output_items(planned_.path()).size(), 2u);
  // Everything is complete: a rerun of a shard keeps the outputs.
  const auto again = s2prep({"run", "--plan", plan_file, "--shard", "0/1"});
  EXPECT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_THAT(again.err + again.out, HasSubstr("resumed"));
}

TEST_F(PlanCli, PerFeaturePlansNumberTheUnitsAcrossTheFeatures) {
  const auto& scene = shared_scene();
  auto feature = [](const std::string& wkt, const std::string& id) {
    return json{{"type", "Feature"},
                {"id", id},
                {"geometry", geo::Geometry::from_wkt(wkt).to_geojson()},
                {"properties", json::object()}};
  };
  const json collection{{"type", "FeatureCollection"},
                        {"features",
                         {feature(scene_region(scene, 0.30, 0.20, 0.36, 0.25), "north"),
                          feature(scene_region(scene, 0.60, 0.70, 0.64, 0.76), "south"),
                          feature(scene_region(scene, 2.5, 0.4, 2.6, 0.5), "nowhere")}}};
  const fs::path geometry = logs_[0].path() / "fields.geojson";
  write_text(geometry, collection.dump());
  auto args = [&](const std::string& command, const fs::path& out) {
    auto a = served_->args(geometry.string(), {"2023-08-01", "2023-09-30"}, out, {"--per-feature"});
    a.front() = command;
    return a;
  };
  const auto single = s2prep(args("run", single_.path()));
  ASSERT_EQ(single.exit_code, 0) << describe(single);
  const auto plan = s2prep(args("plan", planned_.path()));
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  const json index = read_json(planned_.path() / "plan.json");
  ASSERT_EQ(index.at("features").size(), 2u) << index.dump();
  EXPECT_EQ(index["features_without_outputs"][0]["feature"], "nowhere");
  const std::string plan_file = (planned_.path() / "plan.json").string();
  for (const std::string shard : {"0/3", "1/3", "2/3"}) {
    const auto r = s2prep({"run", "--plan", plan_file, "--shard", shard});
    ASSERT_EQ(r.exit_code, 0) << shard << ": " << describe(r);
  }
  const auto collected = s2prep({"collect", "--out", planned_.path().string()});
  EXPECT_EQ(collected.exit_code, 0) << describe(collected);
  EXPECT_EQ(differing_files(
                single_.path(), planned_.path(),
                {"run.json", "folder.json", "plan.json", ".s2prep.lock", "north/run.json",
                 "north/folder.json", "north/plan.json", "north/.s2prep.lock", "south/run.json",
                 "south/folder.json", "south/plan.json", "south/.s2prep.lock"}),
            std::vector<std::string>{});
}

TEST_F(PlanCli, BadShardsAndRequestsAreRefused) {
  ASSERT_EQ(s2prep(request("plan", planned_.path())).exit_code, 0);
  const std::string plan_file = (planned_.path() / "plan.json").string();
  for (const std::string shard : {"2/2", "1", "-1/2", "a/b"}) {
    const auto r = s2prep({"run", "--plan", plan_file, "--shard", shard});
    EXPECT_EQ(r.exit_code, 2) << shard << ": " << describe(r);
    EXPECT_THAT(r.err, HasSubstr("--shard")) << shard;
  }
  const auto mixed =
      s2prep({"run", "--plan", plan_file, "--shard", "0/1", "--geometry", demo_region()});
  EXPECT_EQ(mixed.exit_code, 2) << describe(mixed);
  EXPECT_EQ(s2prep({"plan", "--geometry", demo_region(), "--start", "2020-01-01", "--end",
                    "2020-01-31", "--stac-url", served_->server.stac_url(), "--token-url",
                    served_->server.token_url(), "--out", (single_.path() / "none").string()})
                .exit_code,
            3);
  const auto not_a_plan = s2prep({"collect", "--out", single_.path().string()});
  EXPECT_EQ(not_a_plan.exit_code, 2) << describe(not_a_plan);
}

}  // namespace
}  // namespace s2prep::clitest
