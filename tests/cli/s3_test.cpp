// Outputs in object storage (--out s3://bucket/prefix) against a local S3-compatible server,
// s3rver (npm, installed into the build tree by scripts/install-test-tools.sh; the suite skips
// without it). The objects are read back from s3rver's own directory, not through s2prep, and
// must equal a local run's files byte for byte.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The s3rver executable: S2PREP_S3RVER, else the build tree's node_modules.
fs::path s3rver_executable() {
  if (const char* given = std::getenv("S2PREP_S3RVER"); given && *given) return given;
  return fs::path(kBin).parent_path() / "node" / "node_modules" / ".bin" / "s3rver";
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// s3rver on 127.0.0.1 with one bucket, stopped (SIGTERM, then waited for) when destroyed; its
// data directory is a TempDir.
class S3Server {
 public:
  static constexpr const char* kBucket = "outputs";

  S3Server() {
    const fs::path exe = s3rver_executable();
    if (!fs::exists(exe)) {
      skip_reason_ = "s3rver is not installed at " + exe.string() +
                     " (run scripts/install-test-tools.sh, or set S2PREP_S3RVER)";
      return;
    }
    port_ = free_port();
    std::vector<std::string> args{
        exe.string(),          "--directory", data_.path().string(), "--port",
        std::to_string(port_), "--address",   "127.0.0.1",           "--silent",
        "--configure-bucket",  kBucket};
    std::vector<char*> argp;
    for (auto& a : args) argp.push_back(a.data());
    argp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, argp[0], &actions, nullptr, argp.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      skip_reason_ = "cannot start " + exe.string() + " (is node installed?)";
      return;
    }
    // The deadline only stops a hang: s3rver listens within a second or two.
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!accepts_connections(port_)) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        skip_reason_ = exe.string() + " exited at start (is node installed?)";
        return;
      }
      if (std::chrono::steady_clock::now() > end) {
        skip_reason_ = exe.string() + " does not listen on port " + std::to_string(port_);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~S3Server() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  const std::string& skip_reason() const { return skip_reason_; }

  // The variables GDAL reads for /vsis3/, pointing at this server; scratch files go to `tmp`.
  std::map<std::string, std::string> env(const fs::path& tmp, const std::string& key_id = "S3RVER",
                                         const std::string& secret = "S3RVER") const {
    return {{"AWS_S3_ENDPOINT", "127.0.0.1:" + std::to_string(port_)},
            {"AWS_HTTPS", "NO"},
            {"AWS_VIRTUAL_HOSTING", "FALSE"},
            {"AWS_ACCESS_KEY_ID", key_id},
            {"AWS_SECRET_ACCESS_KEY", secret},
            {"AWS_REGION", "us-east-1"},
            {"NO_PROXY", "127.0.0.1"},
            {"no_proxy", "127.0.0.1"},
            {"CPL_TMPDIR", tmp.string()}};
  }

  // Deletes an object behind the server's back, as another client of the bucket could.
  void remove(const std::string& key) const {
    const fs::path object = data_.path() / kBucket / key;
    for (const char* suffix :
         {"._S3rver_object", "._S3rver_object.md5", "._S3rver_metadata.json"}) {
      fs::remove(object.string() + suffix);
    }
  }

  // The objects under `prefix` of the bucket as s3rver stores them ("<key>._S3rver_object"),
  // copied into `into` under their keys, so that they compare as files.
  void download(const std::string& prefix, const fs::path& into) const {
    const fs::path root = data_.path() / kBucket / prefix;
    if (!fs::exists(root)) return;  // nothing was written there
    const std::string suffix = "._S3rver_object";
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      const std::string name = e.path().filename().string();
      if (!e.is_regular_file() || !name.ends_with(suffix)) continue;
      const fs::path relative =
          fs::relative(e.path().parent_path(), root) / name.substr(0, name.size() - suffix.size());
      fs::create_directories((into / relative).parent_path());
      fs::copy_file(e.path(), into / relative, fs::copy_options::overwrite_existing);
    }
  }

 private:
  TempDir data_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string skip_reason_;
};

class S3Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s3_ = new S3Server();
    served_ = new ServedScene();
  }
  static void TearDownTestSuite() {
    delete served_;
    delete s3_;
    served_ = nullptr;
    s3_ = nullptr;
  }
  void SetUp() override {
    if (!s3_->skip_reason().empty()) GTEST_SKIP() << s3_->skip_reason();
  }
  static std::vector<std::string> request(const std::string& command, const std::string& out,
                                          std::vector<std::string> extra = {}) {
    auto args = served_->args(demo_region(), {"2023-08-01", "2023-09-30"}, out, std::move(extra));
    args.front() = command;
    return args;
  }
  std::map<std::string, std::string> env() const { return s3_->env(scratch_.path()); }

  static S3Server* s3_;
  static ServedScene* served_;
  TempDir local_, downloaded_, scratch_;
};

S3Server* S3Cli::s3_ = nullptr;
ServedScene* S3Cli::served_ = nullptr;

TEST_F(S3Cli, RunIntoABucketEqualsALocalRunAndResumes) {
  const std::vector<std::string> extra{"--layout", "tile", "--keep-probabilities", "--quicklook"};
  const auto local = s2prep(request("run", local_.path().string(), extra));
  ASSERT_EQ(local.exit_code, 0) << describe(local);

  const std::string out = std::string("s3://") + S3Server::kBucket + "/run";
  const auto remote = s2prep(request("run", out, extra), env());
  ASSERT_EQ(remote.exit_code, 0) << describe(remote);
  s3_->download("run", downloaded_.path());
  EXPECT_EQ(differing_files(local_.path(), downloaded_.path(),
                            {"run.json", "folder.json", ".s2prep.lock"}),
            std::vector<std::string>{});
  EXPECT_TRUE(fs::exists(downloaded_.path() / "run.json"));
  EXPECT_EQ(read_json(downloaded_.path() / "run.json").at("status"), "complete");
  // GDAL's upload files and the COG driver's scratch files are gone from the local temp folder.
  EXPECT_EQ(list_files(scratch_.path()), std::vector<std::string>{});

  // Resuming reads every asset back through /vsis3/ and keeps them.
  const auto again = s2prep(request("run", out, extra), env());
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_THAT(again.err + again.out, HasSubstr("outputs complete, kept"));
  EXPECT_THAT(again.err + again.out, Not(HasSubstr("written (")));
  TempDir after;
  s3_->download("run", after.path());
  EXPECT_EQ(
      differing_files(local_.path(), after.path(), {"run.json", "folder.json", ".s2prep.lock"}),
      std::vector<std::string>{});

  // An asset that disappeared from the bucket: that output is made again, the others kept.
  const json first = output_items(local_.path()).front();
  const std::string mask = first.at("assets").at("mask").at("href").get<std::string>();
  s3_->remove("run/" + mask);
  const auto repaired = s2prep(request("run", out, extra), env());
  ASSERT_EQ(repaired.exit_code, 0) << describe(repaired);
  EXPECT_THAT(repaired.err + repaired.out, HasSubstr(mask + " is incomplete or damaged"));
  EXPECT_THAT(repaired.err + repaired.out,
              HasSubstr(first.at("id").get<std::string>() + ": written ("));
  TempDir repaired_files;
  s3_->download("run", repaired_files.path());
  EXPECT_EQ(differing_files(local_.path(), repaired_files.path(),
                            {"run.json", "folder.json", ".s2prep.lock"}),
            std::vector<std::string>{});
}

TEST_F(S3Cli, PlanShardsAndCollectInABucketEqualASingleRun) {
  const std::vector<std::string> extra{"--layout", "tile"};
  const auto local = s2prep(request("run", local_.path().string(), extra));
  ASSERT_EQ(local.exit_code, 0) << describe(local);

  const std::string out = std::string("s3://") + S3Server::kBucket + "/p";
  const auto plan = s2prep(request("plan", out, extra), env());
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  const auto before = s2prep({"collect", "--out", out}, env());
  EXPECT_EQ(before.exit_code, 1) << describe(before);

  // The output folder defaults to the plan's; GDAL's own name of the prefix works as well.
  const std::string vsi = std::string("/vsis3/") + S3Server::kBucket + "/p";
  const auto first = s2prep({"run", "--plan", out + "/plan.json", "--shard", "0/2"}, env());
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  const auto second = s2prep({"run", "--plan", vsi + "/plan.json", "--shard", "1/2"}, env());
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  const auto after = s2prep({"collect", "--out", vsi}, env());
  EXPECT_EQ(after.exit_code, 0) << describe(after);
  const std::string units = std::to_string(output_items(local_.path()).size());
  EXPECT_THAT(after.out, HasSubstr(units + " of " + units + " units complete"));

  s3_->download("p", downloaded_.path());
  EXPECT_EQ(differing_files(local_.path(), downloaded_.path(),
                            {"run.json", "folder.json", "plan.json", ".s2prep.lock"}),
            std::vector<std::string>{});
}

TEST_F(S3Cli, AKilledRunLeavesNothingThatLooksComplete) {
  const std::vector<std::string> extra{"--layout", "tile"};
  const auto local = s2prep(request("run", local_.path().string(), extra));
  ASSERT_EQ(local.exit_code, 0) << describe(local);

  // Killed (SIGKILL, no clean-up) as soon as its first raster is in the bucket.
  const std::string out = std::string("s3://") + S3Server::kBucket + "/killed";
  TempDir logs;
  {
    Background run(request("run", out, extra), env(), logs.path());
    run.wait_for(
        [&] {
          TempDir now;
          s3_->download("killed", now.path());
          const auto files = list_files(now.path());
          return std::any_of(files.begin(), files.end(),
                             [](const std::string& f) { return f.ends_with(".tif"); });
        },
        std::chrono::seconds(300));
    run.kill_now();
  }
  // Every sidecar in the bucket names assets that are there whole.
  s3_->download("killed", downloaded_.path());
  for (const auto& file : list_files(downloaded_.path())) {
    if (!file.ends_with(".json") || file == "run.json" || file == "folder.json" ||
        file == "items.json") {
      continue;
    }
    const json item = read_json(downloaded_.path() / file);
    for (const auto& [key, asset] : item.at("assets").items()) {
      const fs::path path = downloaded_.path() / asset.at("href").get<std::string>();
      EXPECT_EQ(read_text(path), read_text(local_.path() / asset.at("href").get<std::string>()))
          << file << " names " << path.filename() << ", which is not whole";
    }
  }
  // Running again completes the folder: the same files as the local run.
  const auto again = s2prep(request("run", out, extra), env());
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  TempDir completed;
  s3_->download("killed", completed.path());
  EXPECT_EQ(
      differing_files(local_.path(), completed.path(), {"run.json", "folder.json", ".s2prep.lock"}),
      std::vector<std::string>{});
}

TEST_F(S3Cli, UnreachableBucketsAreNamedWithoutSecrets) {
  // s3rver knows one key id (S3RVER) and refuses the others.
  const std::string secret = "secret-never-printed";
  const auto bad_key = s2prep(request("run", std::string("s3://") + S3Server::kBucket + "/x"),
                              s3_->env(scratch_.path(), "NOBODY", secret));
  EXPECT_EQ(bad_key.exit_code, 2) << describe(bad_key);
  EXPECT_THAT(bad_key.err, HasSubstr("AWS_SECRET_ACCESS_KEY"));
  EXPECT_THAT(bad_key.err, HasSubstr("s3://outputs/x"));
  EXPECT_THAT(bad_key.err + bad_key.out, Not(HasSubstr(secret)));

  const auto no_bucket = s2prep(request("run", "s3://no-such-bucket/x"), env());
  EXPECT_EQ(no_bucket.exit_code, 2) << describe(no_bucket);
  EXPECT_THAT(no_bucket.err, HasSubstr("s3://no-such-bucket/x"));
  EXPECT_THAT(no_bucket.err, HasSubstr("AWS_S3_ENDPOINT"));

  const auto no_plan =
      s2prep({"run", "--plan", std::string("s3://") + S3Server::kBucket + "/none/plan.json",
              "--shard", "0/1"},
             env());
  EXPECT_EQ(no_plan.exit_code, 2) << describe(no_plan);
  EXPECT_THAT(no_plan.err, HasSubstr("/none/plan.json"));
}

}  // namespace
}  // namespace s2prep::clitest
