// s2prep on a Slurm cluster as a user runs it: plan once, an array job of shards submitted with
// examples/slurm/s2prep-array.sbatch, collect. A private one-node cluster (slurm_cluster.hpp) is
// started for the suite. Root only; skipped when Slurm or munge is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include "../cli/cli_support.hpp"
#include "slurm_cluster.hpp"

namespace s2prep::scaleouttest {
namespace {

using namespace s2prep::clitest;

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
  static void TearDownTestSuite() { cluster_.reset(); }
  void SetUp() override {
    if (const auto reason = skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    ASSERT_TRUE(cluster_) << start_error_;
  }

  // `sbatch --wait` of `script` with `args`, its tasks' output in `logs`.
  static RunResult submit(const fs::path& script, const std::string& array, const fs::path& logs,
                          std::map<std::string, std::string> env = {},
                          std::vector<std::string> args = {}) {
    std::vector<std::string> argv{"sbatch", "--wait", "--array=" + array,
                                  "--output=" + (logs / "%A_%a.out").string(), script.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return cluster_->command(argv, clean_env(std::move(env)), std::chrono::seconds(600));
  }

  // Every task's output, for a failed expectation to explain itself.
  static std::string task_logs(const fs::path& logs) {
    std::string out;
    for (const auto& f : list_files(logs)) out += "--- task " + f + " ---\n" + read_text(logs / f);
    return out;
  }

  static std::unique_ptr<SlurmCluster> cluster_;
  static std::string start_error_;
};
std::unique_ptr<SlurmCluster> Slurm::cluster_;
std::string Slurm::start_error_;

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

}  // namespace
}  // namespace s2prep::scaleouttest
