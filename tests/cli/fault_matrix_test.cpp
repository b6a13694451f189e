// The fault matrix: every fault kind a hostile or failing service can produce, on every route a
// run talks to (catalogue search, token service, blobs), against a fault-free run of the same
// catalogue. A run either ends with outputs byte-identical to the fault-free
// run, or fails with exit 1 and one sentence naming what failed, after a bounded number of
// attempts, with nothing half-written. Plus the hostile-catalogue cases: a local path as an asset
// href, a token that must not travel to another host, a token expiring under many readers.
#include <gtest/gtest.h>

#include <regex>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

using namespace std::chrono_literals;

// One cloudy acquisition over the demo region (two tiles, 26 band reads).
const std::array<std::string, 2> kDate{"2023-08-12", "2023-08-12"};
const std::string kName = "S2_20230812T101559";
// Short enough that a stall or a drip is cut quickly, long enough for a retry on a loaded machine.
const std::string kTimeout = "4";

// The standard scene behind a signing server. With `elsewhere`, the acquisition's second item
// names its assets on that server under another host name; with `local_asset`, one asset href of
// its first item is the local path of the file.
struct MatrixServer {
  MatrixServer(TestServer* elsewhere = nullptr, std::optional<std::string> local_asset = {}) {
    server.set_require_signing(true);
    const Scene& scene = shared_scene();
    server.serve_directory(scene.root);
    bool first = true;
    for (const auto& g : scene.items) {
      json item = g.item;
      const bool on_date =
          item["properties"]["datetime"].get<std::string>().rfind(kDate[0], 0) == 0;
      for (auto& [key, asset] : item["assets"].items()) {
        const std::string rel = asset["href"];
        if (on_date && first && local_asset && key == *local_asset) {
          asset["href"] = (scene.root / rel).string();
        } else if (elsewhere != nullptr && on_date && !first) {
          // localhost, not 127.0.0.1: another host name than the token service's.
          asset["href"] = "http://localhost:" + std::to_string(elsewhere->port()) + "/blob/" + rel;
        } else {
          asset["href"] = server.blob_url(rel);
        }
      }
      if (on_date) first = false;
      server.add_item(std::move(item));
    }
  }
  std::vector<std::string> args(const fs::path& out, std::vector<std::string> extra = {}) const {
    std::vector<std::string> a{
        "run",        "--geometry",   demo_region(),     "--start",     kDate[0],           "--end",
        kDate[1],     "--stac-url",   server.stac_url(), "--token-url", server.token_url(), "--out",
        out.string(), "--dl-timeout", kTimeout};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  RunResult run(const fs::path& out, std::vector<std::string> extra = {}) const {
    return s2prep(args(out, std::move(extra)));
  }
  int requests_with_status(int status, const std::string& prefix) const {
    int n = 0;
    for (const auto& r : server.requests()) {
      if (r.path.rfind(prefix, 0) == 0 && r.status == status) ++n;
    }
    return n;
  }

  TestServer server;
};

// Nothing of the acquisition claims to be complete after a failed run, and no catalogue lists it.
void expect_nothing_half_written(const fs::path& out) {
  EXPECT_FALSE(fs::exists(out / (kName + ".json")));
  EXPECT_FALSE(fs::exists(out / (kName + "_raster.tif")));
  EXPECT_FALSE(fs::exists(out / (kName + "_mask.tif")));
  EXPECT_FALSE(fs::exists(out / "items.json"));
}

// A run's output folder, fresh for every case.
class MatrixRun : public ::testing::Test {
 protected:
  TempDir out_{"s2prep-cli-matrix"};
};

// Cases compared with the fault-free run of the same request, made once per suite.
class FaultMatrix : public MatrixRun {
 protected:
  static void SetUpTestSuite() {
    shared_scene();
    clean_ = std::make_unique<TempDir>("s2prep-cli-matrix-clean");
    MatrixServer served;
    clean_result_ = served.run(clean_->path());
  }
  static void TearDownTestSuite() { clean_.reset(); }
  void SetUp() override { ASSERT_EQ(clean_result_.exit_code, 0) << describe(clean_result_); }

  void expect_same_as_clean(const fs::path& out) const {
    EXPECT_EQ(differing_files(clean_->path(), out, {"run.json", "folder.json"}),
              std::vector<std::string>{});
  }

  static std::unique_ptr<TempDir> clean_;
  static RunResult clean_result_;
};
std::unique_ptr<TempDir> FaultMatrix::clean_;
RunResult FaultMatrix::clean_result_;

// --- Transient faults: every kind on every route at once, outputs identical ---------------

struct TransientCase {
  std::string name;
  Fault fault;
};

std::vector<TransientCase> transient_cases() {
  const auto slow = [](std::chrono::milliseconds delay) { return Fault::delayed(delay, 2); };
  return {
      {"Status503", Fault::http_status(503, std::nullopt, 2)},
      {"Status500", Fault::http_status(500, std::nullopt, 2)},
      {"Status502", Fault::http_status(502, std::nullopt, 2)},
      {"Status429WithRetryAfter", Fault::http_status(429, 1, 2)},
      {"Status503WithRetryAfterZero", Fault::http_status(503, 0, 2)},
      {"ConnectionReset", Fault::dropped(2)},
      {"TruncatedBody", Fault::truncated(2)},
      // Longer than --dl-timeout: cut, then retried.
      {"Stall", slow(5s)},
      // 20 bytes/s: never silent, never done.
      {"SlowDrip", Fault::dripping(50ms, 1, 2)},
  };
}

// ctest names the cases by their parameter: the name, not the bytes.
void PrintTo(const TransientCase& c, std::ostream* os) { *os << c.name; }

class TransientFaults : public FaultMatrix, public ::testing::WithParamInterface<TransientCase> {};

TEST_P(TransientFaults, OnEveryRouteGiveTheSameOutputs) {
  MatrixServer served;
  Fault fault = GetParam().fault;
  for (const std::string route : {"/stac/search", "/token", "/blob/"}) {
    served.server.inject(route, fault);
  }
  const auto r = served.run(out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  expect_same_as_clean(out_.path());
  // Every route saw its faults.
  if (fault.status != 0) {
    EXPECT_GE(served.requests_with_status(fault.status, "/stac/search"), 1);
    EXPECT_GE(served.requests_with_status(fault.status, "/token"), 1);
    EXPECT_GE(served.requests_with_status(fault.status, "/blob/"), 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, TransientFaults, ::testing::ValuesIn(transient_cases()),
                         [](const auto& info) { return info.param.name; });

// --- Persistent faults: a clean named failure after a bounded number of attempts ----------

struct PersistentCase {
  std::string name;
  std::string route;
  Fault fault;
  std::string named;    // the error sentence names this
  bool retried = true;  // a transient failure, retried up to a budget (a redirect is not)
};

std::vector<PersistentCase> persistent_cases() {
  return {
      {"SearchUnavailable", "/stac/search", Fault::http_status(503, 0, 100000), "/stac/search"},
      {"SearchRedirectsToAFile", "/stac/search", Fault::redirected("file:///etc/passwd", 302, 100),
       "redirected", false},
      {"TokenServiceFailing", "/token", Fault::http_status(500, 0, 100000), "/token"},
      {"TokenServiceRedirectsToGopher", "/token",
       Fault::redirected("gopher://127.0.0.1:1/_x", 302, 100), "redirected", false},
      {"BlobsUnavailable", "/blob/", Fault::http_status(503, std::nullopt, 100000),
       "Reading asset"},
      {"BlobsResetEveryConnection", "/blob/", Fault::dropped(100000), "Reading asset"},
      {"BlobsStalled", "/blob/", Fault::delayed(5s, 100000), "Reading asset"},
  };
}

void PrintTo(const PersistentCase& c, std::ostream* os) { *os << c.name; }

// A failed run has nothing to compare with: these cases need no fault-free run.
class PersistentFaults : public MatrixRun, public ::testing::WithParamInterface<PersistentCase> {};

TEST_P(PersistentFaults, AreACleanNamedFailureWithNothingHalfWritten) {
  MatrixServer served;
  served.server.inject(GetParam().route, GetParam().fault);
  const auto r = served.run(out_.path(), {"--jobs", "4"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], GetParam().named)) << errors[0];
  EXPECT_FALSE(contains(errors[0], "sig=")) << errors[0];
  expect_nothing_half_written(out_.path());

  // How the retries ended rather than how long the run took (a bound on that fails on a loaded
  // machine): a transient failure ends after the attempts the sentence states, each one request
  // (before, GDAL's own four retries per request multiplied the reader's attempts, 30 s to
  // 100 s here), and a redirect to another scheme is not retried. A stalled blob request that
  // was not cut would be answered after its delay, and the run would not fail this way. Only a
  // hang is bounded: by the process timeout of s2prep() (120 s, where these runs fail within
  // 1.5 x --dl-timeout = 6 s).
  std::map<std::string, int> requests_per_url;
  for (const auto& q : served.server.requests()) {
    if (q.path.rfind(GetParam().route, 0) == 0) ++requests_per_url[q.path];
  }
  int most_requests = 0;
  for (const auto& [path, n] : requests_per_url) most_requests = std::max(most_requests, n);
  std::smatch attempts;
  const std::regex after_attempts("after ([0-9]+) attempts");
  if (GetParam().retried) {
    ASSERT_TRUE(std::regex_search(errors[0], attempts, after_attempts)) << errors[0];
    EXPECT_GE(std::stoi(attempts[1]), 2) << errors[0];
    EXPECT_LE(most_requests, std::stoi(attempts[1])) << errors[0];
  } else {
    EXPECT_FALSE(std::regex_search(errors[0], attempts, after_attempts)) << errors[0];
    EXPECT_EQ(most_requests, 1) << errors[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, PersistentFaults, ::testing::ValuesIn(persistent_cases()),
                         [](const auto& info) { return info.param.name; });

// --- Hostile catalogues ------------------------------------------------------------------

// A remote catalogue naming a local GeoTIFF: refused, naming the item and the asset, instead of
// reading the machine's own file into the outputs.
TEST_F(FaultMatrix, LocalPathHrefInARemoteCatalogueIsRefused) {
  MatrixServer served(nullptr, std::string("B04"));
  const auto r = served.run(out_.path());
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], "B04")) << errors[0];
  EXPECT_TRUE(contains(errors[0], "local file")) << errors[0];
  expect_nothing_half_written(out_.path());
}

// A custom token service's token goes to its own host (and Azure's), not to every host the
// catalogue names: the items of the second tile live on "localhost", which needs no token.
TEST_F(FaultMatrix, TokenIsNotSentToAnotherHostTheCatalogueNames) {
  TestServer elsewhere;
  elsewhere.serve_directory(shared_scene().root);
  MatrixServer served(&elsewhere);
  const auto r = served.run(out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  expect_same_as_clean(out_.path());
  ASSERT_GE(elsewhere.request_count("/blob/"), 1);
  for (const auto& req : elsewhere.requests()) {
    EXPECT_FALSE(contains(req.query, "sig=")) << req.path;
    EXPECT_FALSE(contains(req.query, "skoid=")) << req.path;
  }
}

// A token expiring under many concurrent readers is refreshed once, shared by all of them
// (before: one fetch per refused reader, each invalidating the others' fresh token).
TEST_F(FaultMatrix, OneTokenRefreshPerExpiry) {
  MatrixServer served;
  served.server.set_latency(20ms);
  TempDir logs("s2prep-cli-matrix-logs");
  Background bg(served.args(out_.path(), {"--jobs", "8"}), {}, logs.path());
  ASSERT_TRUE(bg.wait_for([&] { return served.server.request_count("/blob") >= 12; }, 60s))
      << bg.err();
  ASSERT_TRUE(bg.running()) << "the run ended before its token could expire:\n" << bg.err();
  served.server.expire_all_tokens();
  ASSERT_EQ(bg.wait(), 0) << bg.err();
  served.server.set_latency(0ms);
  EXPECT_GE(served.requests_with_status(403, "/blob"), 1);
  EXPECT_EQ(served.server.tokens_issued(), 2);
  expect_same_as_clean(out_.path());
}

}  // namespace
}  // namespace s2prep::clitest
