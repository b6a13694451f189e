// s2prep on a Slurm cluster as a user runs it: plan once, an array job of shards submitted with
// examples/slurm/s2prep-array.sbatch, collect. A private one-node cluster (slurm_cluster.hpp) is
// started for the suite. Root only; skipped when Slurm or munge is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>

#include "../cli/cli_support.hpp"
#include "slurm_cluster.hpp"

namespace s2prep::scaleouttest {
namespace {

using namespace s2prep::clitest;

// The request: the demo region (two tiles) over every date of the scene.
const std::array<std::string, 2> kDates{"2021-01-01", "2023-12-31"};

const fs::path kArrayScript = fs::path(S2PREP_SOURCE_DIR) / "examples/slurm/s2prep-array.sbatch";

// Why the suite cannot run here, or "" when it can.
std::string skip_reason() {
  if (::geteuid() != 0) {
    return "the Slurm tests start slurmctld, slurmd and munged of their own and need root";
  }
  if (const auto missing = missing_slurm_programs(); !missing.empty()) {
    return "Slurm or munge is not installed (missing " + missing +
           "; Debian packages slurm-wlm and munge)";
  }
  return "";
}

class Slurm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!skip_reason().empty()) return;
    try {
      cluster_ = std::make_unique<SlurmCluster>();
    } catch (const std::exception& e) {
      start_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    cluster_.reset();
    single_.reset();
    served_.reset();
  }
  void SetUp() override {
    if (const auto reason = skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    ASSERT_TRUE(cluster_) << start_error_;
  }

  // `sbatch --wait` of `script` with `args`, its tasks' output in `logs`.
  static RunResult submit(const fs::path& script, const std::string& array, const fs::path& logs,
                          std::map<std::string, std::string> env = {},
                          std::vector<std::string> args = {},
                          std::vector<std::string> sbatch_options = {}) {
    std::vector<std::string> argv{"sbatch", "--wait", "--array=" + array,
                                  "--output=" + (logs / "%A_%a.out").string()};
    argv.insert(argv.end(), sbatch_options.begin(), sbatch_options.end());
    argv.push_back(script.string());
    argv.insert(argv.end(), args.begin(), args.end());
    return cluster_->command(argv, clean_env(std::move(env)), std::chrono::seconds(600));
  }

  // Every task's output, for a failed expectation to explain itself.
  static std::string task_logs(const fs::path& logs) {
    std::string out;
    for (const auto& f : list_files(logs)) out += "--- task " + f + " ---\n" + read_text(logs / f);
    return out;
  }

  // The scene's server and a single-process run of the request, made by the first test that
  // needs them.
  static const fs::path& single_run() {
    if (!served_) served_ = std::make_unique<ServedScene>();
    if (!single_) {
      TempDir dir("s2prep-slurm-single");
      const auto r = served_->run(demo_region(), kDates, dir.path());
      if (r.exit_code != 0) {
        throw std::runtime_error("the single-process run failed: " + describe(r));
      }
      single_ = std::make_unique<TempDir>(std::move(dir));
    }
    return single_->path();
  }

  // `s2prep plan` of the request into `dir`; the number of units it printed.
  static int plan(const fs::path& dir) {
    auto args = served_->args(demo_region(), kDates, dir);
    args.at(0) = "plan";
    const auto r = s2prep(args);
    if (r.exit_code != 0) throw std::runtime_error("s2prep plan failed: " + describe(r));
    return std::stoi(r.out);
  }

  static std::unique_ptr<SlurmCluster> cluster_;
  static std::string start_error_;
  static std::unique_ptr<ServedScene> served_;
  static std::unique_ptr<TempDir> single_;
};
std::unique_ptr<SlurmCluster> Slurm::cluster_;
std::string Slurm::start_error_;
std::unique_ptr<ServedScene> Slurm::served_;
std::unique_ptr<TempDir> Slurm::single_;

// What s2prep's shard selection relies on: every task of an array sees its own index, the
// array's lowest index and its task count, and the submitter's environment.
TEST_F(Slurm, ArrayTasksSeeTheirIndexCountAndTheSubmittersEnvironment) {
  TempDir work("s2prep-slurm-array");
  const fs::path script = work / "report.sbatch";
  write_text(script,
             "#!/bin/sh\n"
             "echo \"$SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_COUNT "
             "$S2PREP_TEST_MARK\" > \"$1/task-$SLURM_ARRAY_TASK_ID\"\n");
  fs::create_directory(work / "logs");
  fs::create_directory(work / "seen");
  const auto r = submit(script, "2-5", work / "logs", {{"S2PREP_TEST_MARK", "from-the-test"}},
                        {(work / "seen").string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r) << task_logs(work / "logs") << cluster_->logs();
  for (int i = 2; i <= 5; ++i) {
    EXPECT_EQ(read_text(work / "seen" / ("task-" + std::to_string(i))),
              std::to_string(i) + " 2 4 from-the-test\n");
  }
}

// The three steps of examples/slurm/s2prep-array.sbatch: plan, an array of four shards, collect;
// the folder then holds exactly the files of a single-process run of the same request.
TEST_F(Slurm, ArrayOfPlanShardsEqualsOneProcessRun) {
  const fs::path& single = single_run();
  TempDir out("s2prep-slurm-out"), logs("s2prep-slurm-logs");
  const int units = plan(out.path());
  // More units than tasks, so some task runs several.
  ASSERT_GT(units, 4);

  // With the CPUs per task given, the script sets s2prep's inference threads to match.
  const auto array = submit(kArrayScript, "0-3", logs.path(), {{"S2PREP_BIN", kBin}},
                            {(out / "plan.json").string()}, {"--cpus-per-task=1"});
  ASSERT_EQ(array.exit_code, 0) << describe(array) << task_logs(logs.path());
  // Each task made the shard of its own index, and the four shares add up to the plan.
  int shared = 0;
  for (int task = 0; task < 4; ++task) {
    const auto files = list_files(logs.path());
    const auto log = std::find_if(files.begin(), files.end(), [&](const std::string& f) {
      return f.ends_with("_" + std::to_string(task) + ".out");
    });
    ASSERT_NE(log, files.end()) << "no output of task " << task << task_logs(logs.path());
    std::smatch m;
    const std::string text = read_text(logs / *log);
    ASSERT_TRUE(
        std::regex_search(text, m, std::regex("Shard (\\d+)/4: (\\d+) of the plan's (\\d+) units")))
        << text;
    EXPECT_EQ(std::stoi(m[1]), task);
    EXPECT_EQ(std::stoi(m[3]), units);
    shared += std::stoi(m[2]);
  }
  EXPECT_EQ(shared, units);

  const auto collected = s2prep({"collect", "--out", out.path().string()});
  ASSERT_EQ(collected.exit_code, 0) << describe(collected) << task_logs(logs.path());

  EXPECT_EQ(differing_files(single, out.path(), {"run.json", "folder.json", "plan.json"}),
            std::vector<std::string>{});
  EXPECT_EQ(output_items(out.path()).size(), std::size_t(units));
  for (const auto& f : list_files(out.path())) EXPECT_FALSE(contains(f, ".tmp-")) << f;
}

// A unit whose source cannot be read fails its task, the array (sbatch --wait exits 1) and
// collect, which names it; submitting the array again makes only what is missing and the folder
// ends as a single-process run's.
TEST_F(Slurm, FailedUnitFailsTheArrayUntilItsShardIsRunAgain) {
  const fs::path& single = single_run();
  TempDir out("s2prep-slurm-out"), logs("s2prep-slurm-logs"), again_logs("s2prep-slurm-logs");
  plan(out.path());
  // Every read of one band file of one acquisition fails for good.
  const auto broken_items = items_on(shared_scene(), "2023-09-01");
  ASSERT_FALSE(broken_items.empty());
  const std::string broken = "S2_20230901T101031";
  served_->server.inject(
      "/blob/" + broken_items[0]->item["assets"]["B11"]["href"].get<std::string>(),
      Fault::http_status(404, std::nullopt, 1000000));
  const auto array = submit(kArrayScript, "0-3", logs.path(), {{"S2PREP_BIN", kBin}},
                            {(out / "plan.json").string()});
  served_->server.clear_faults();
  EXPECT_EQ(array.exit_code, 1) << describe(array) << task_logs(logs.path());

  const auto incomplete = s2prep({"collect", "--out", out.path().string()});
  EXPECT_EQ(incomplete.exit_code, 1) << describe(incomplete);
  EXPECT_TRUE(contains(incomplete.err, broken)) << incomplete.err;
  for (const auto& item : output_items(out.path())) EXPECT_NE(item.at("id"), broken);
  const auto kept = output_items(out.path());
  ASSERT_FALSE(kept.empty());
  const auto kept_written = fs::last_write_time(asset_path(out.path(), kept[0], "raster"));

  const auto again = submit(kArrayScript, "0-3", again_logs.path(), {{"S2PREP_BIN", kBin}},
                            {(out / "plan.json").string()});
  ASSERT_EQ(again.exit_code, 0) << describe(again) << task_logs(again_logs.path());
  const auto collected = s2prep({"collect", "--out", out.path().string()});
  ASSERT_EQ(collected.exit_code, 0) << describe(collected);
  EXPECT_EQ(differing_files(single, out.path(), {"run.json", "folder.json", "plan.json"}),
            std::vector<std::string>{});
  // Complete units were kept, not made again.
  EXPECT_EQ(fs::last_write_time(asset_path(out.path(), kept[0], "raster")), kept_written);
}

// The script says what is missing, rather than running s2prep without a plan or as shard 0 of
// a whole plan outside an array (no cluster needed).
TEST(SlurmArrayScript, RefusesToRunWithoutAPlanOrOutsideAnArray) {
  const std::map<std::string, std::string> outside{
      {"S2PREP_PLAN", ""}, {"S2PREP_BIN", "/bin/false"}, {"SLURM_ARRAY_TASK_ID", ""}};
  const auto no_plan = s2prep::testing::run_process({"/bin/sh", kArrayScript.string()}, outside);
  EXPECT_EQ(no_plan.exit_code, 2) << describe(no_plan);
  EXPECT_TRUE(contains(no_plan.err, "no plan given")) << no_plan.err;

  const auto no_array =
      s2prep::testing::run_process({"/bin/sh", kArrayScript.string(), "plan.json"}, outside);
  EXPECT_EQ(no_array.exit_code, 2) << describe(no_array);
  EXPECT_TRUE(contains(no_array.err, "not an array task")) << no_array.err;
}

}  // namespace
}  // namespace s2prep::scaleouttest
