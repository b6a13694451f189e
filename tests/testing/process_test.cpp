#include "process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "temp_dir.hpp"

namespace {

using s2prep::testing::run_process;
using s2prep::testing::TempDir;
using namespace std::chrono_literals;

TEST(RunProcess, CapturesBothStreamsAndExitCode) {
  const auto r = run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);
}

TEST(RunProcess, SearchesPathAndPassesExtraEnvironment) {
  const auto r = run_process({"sh", "-c", "printf %s \"$S2PREP_TEST_VALUE\""},
                             {{"S2PREP_TEST_VALUE", "a b=c"}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "a b=c");
}

TEST(RunProcess, DrainsLargeOutputOnBothStreams) {
  // Far more than a pipe buffer on each stream: reading one stream at a time would deadlock.
  const auto r = run_process(
      {"/bin/sh", "-c", "head -c 1000000 /dev/zero; head -c 700000 /dev/zero >&2; echo done"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 1000005u);
  EXPECT_EQ(r.err.size(), 700000u);
}

// No bound on how long these take (none holds on a loaded machine): a child, or a grandchild
// holding its output open, that was not killed would sleep twice ctest's timeout, so that
// failure is a hang ctest reports. The exit status says SIGKILL, and it came no earlier than the
// timeout (a lower bound holds under any load).
TEST(RunProcess, KillsOnTimeout) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_process({"/bin/sh", "-c", "echo started; sleep 600"}, {}, 1s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + 9);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(RunProcess, TimeoutAlsoBoundsAChildThatClosedItsOutput) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_process({"/bin/sh", "-c", "exec >/dev/null 2>&1; sleep 600"}, {}, 1s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + 9);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(RunProcess, ReportsSignalsAndMissingCommands) {
  EXPECT_EQ(run_process({"/bin/sh", "-c", "kill -TERM $$"}).exit_code, 128 + 15);
  EXPECT_THROW(run_process({"/nonexistent/s2prep-no-such-command"}), std::runtime_error);
  EXPECT_THROW(run_process({}), std::runtime_error);
}

TEST(TempDir, CreatesAndRemovesADirectory) {
  std::filesystem::path kept;
  {
    TempDir dir("s2prep-tempdir-test");
    kept = dir.path();
    EXPECT_TRUE(std::filesystem::is_directory(kept));
    EXPECT_NE(kept.filename().string().find("s2prep-tempdir-test-"), std::string::npos);
    std::filesystem::create_directories(dir / "a" / "b");
    std::ofstream(dir / "a" / "b" / "f.txt") << "x";
    TempDir other;
    EXPECT_NE(other.path(), kept);
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

}  // namespace
