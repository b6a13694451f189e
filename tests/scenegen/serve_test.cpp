// `s2prep-scenegen serve`: the generated scene behind the local STAC API and blob store, as the
// demo and the benchmarks use it.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;

// A child process stopped with SIGTERM (then SIGKILL) when the test ends.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    // Its banner would only clutter the test log.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  bool started() const { return pid_ > 0; }
  // Sends SIGTERM and waits up to `limit`; the exit status, or -1 when still running.
  int terminate(std::chrono::seconds limit) {
    ::kill(pid_, SIGTERM);
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

// `limit`, here and in terminate(), only stops a hang: the server starts and stops in well under
// a second.
std::string wait_for_file(const fs::path& p, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    std::ifstream in(p);
    std::string line;
    if (in && std::getline(in, line) && !line.empty()) return line;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {};
}

TEST(Serve, ItemsAndBlobsOnTheLocalServer) {
  if (!fs::exists(S2PREP_SCENEGEN_BIN)) GTEST_SKIP() << "s2prep-scenegen not built";
  s2prep::testing::TempDir dir("scenegen-serve");
  const fs::path data = dir / "data";
  const std::string gen = std::string(S2PREP_SCENEGEN_BIN) + " generate --size 120 --out " +
                          data.string() + " --tile 33UUP --date 2023 > /dev/null";
  ASSERT_EQ(std::system(gen.c_str()), 0);

  const fs::path port_file = dir / "port";
  Child server({S2PREP_SCENEGEN_BIN, "serve", "--data", data.string(), "--port-file",
                port_file.string(), "--require-signing"});
  ASSERT_TRUE(server.started());
  const std::string base = wait_for_file(port_file, std::chrono::seconds(20));
  ASSERT_EQ(base.rfind("http://127.0.0.1:", 0), 0u) << base;

  httplib::Client client(base);
  const nlohmann::json query = {{"collections", {"sentinel-2-l2a"}}, {"limit", 100}};
  auto search = client.Post("/stac/search", query.dump(), "application/json");
  ASSERT_TRUE(search);
  ASSERT_EQ(search->status, 200);
  const auto page = nlohmann::json::parse(search->body);
  ASSERT_EQ(page.at("features").size(), 3u);  // three 2023 dates of 33UUP
  const std::string href = page["features"][0]["assets"]["B04"]["href"];
  ASSERT_EQ(href.rfind(base + "/blob/", 0), 0u) << href;
  const std::string path = href.substr(base.size());

  // Signing is required: no token, 403; with a token from the token service, the bytes.
  auto unsigned_get = client.Get(path);
  ASSERT_TRUE(unsigned_get);
  EXPECT_EQ(unsigned_get->status, 403);
  auto token = client.Get("/token/sentinel-2-l2a");
  ASSERT_TRUE(token);
  ASSERT_EQ(token->status, 200);
  const std::string sas = nlohmann::json::parse(token->body).at("token");
  auto range = client.Get(path + "?" + sas, {{"Range", "bytes=0-3"}});
  ASSERT_TRUE(range);
  EXPECT_EQ(range->status, 206);
  EXPECT_EQ(range->body, std::string("II*\0", 4));  // a little-endian TIFF

  EXPECT_EQ(server.terminate(std::chrono::seconds(20)), 0);
}

}  // namespace
