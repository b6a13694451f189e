// A misbehaving object store and token service during `s2prep run`: 503s, timeouts, dropped
// and truncated responses and expiring tokens are retried and give the same outputs as a clean
// run; a persistent failure is exit 1 with one sentence naming the asset and nothing
// half-written that looks complete.
#include <gtest/gtest.h>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

using namespace std::chrono_literals;

// One cloudy acquisition over the demo region (two tiles, 26 band reads).
const std::array<std::string, 2> kDate{"2023-08-12", "2023-08-12"};
const std::string kName = "S2_20230812T101559";

class FaultsCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_scene();
    clean_ = std::make_unique<TempDir>("s2prep-cli-faults-clean");
    ServedScene served;
    clean_result_ = served.run(demo_region(), kDate, clean_->path());
  }
  static void TearDownTestSuite() { clean_.reset(); }
  void SetUp() override { ASSERT_EQ(clean_result_.exit_code, 0) << describe(clean_result_); }

  int requests_with_status(int status, const std::string& prefix = "/blob") const {
    int n = 0;
    for (const auto& r : served_.server.requests()) {
      if (r.path.rfind(prefix, 0) == 0 && r.status == status) ++n;
    }
    return n;
  }
  void expect_same_as_clean() const {
    EXPECT_EQ(differing_files(clean_->path(), out_.path(), {"run.json", "folder.json"}),
              std::vector<std::string>{});
  }

  static std::unique_ptr<TempDir> clean_;
  static RunResult clean_result_;
  ServedScene served_;
  TempDir out_{"s2prep-cli-faults"};
};
std::unique_ptr<TempDir> FaultsCli::clean_;
RunResult FaultsCli::clean_result_;

TEST_F(FaultsCli, ServiceUnavailableDuringReadsIsRetried) {
  served_.server.inject("/blob/", Fault::http_status(503, std::nullopt, 8));
  const auto r = served_.run(demo_region(), kDate, out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(requests_with_status(503), 8);
  expect_same_as_clean();
}

TEST_F(FaultsCli, TimedOutReadsAreRetried) {
  // Two requests hang for longer than --dl-timeout allows. The limit bounds a whole band read,
  // retries included (a request is cut at half the time left): 3 s leaves a loaded machine time
  // for the retry.
  served_.server.inject("/blob/", Fault::delayed(4s, 2));
  const auto r = served_.run(demo_region(), kDate, out_.path(), {"--dl-timeout", "3"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  expect_same_as_clean();
}

TEST_F(FaultsCli, DroppedAndTruncatedResponsesAreRetried) {
  served_.server.inject("/blob/", Fault::dropped(3));
  served_.server.inject("/blob/", Fault::truncated(3));
  const auto r = served_.run(demo_region(), kDate, out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  expect_same_as_clean();
}

TEST_F(FaultsCli, RateLimitedTokenServiceIsRetried) {
  served_.server.inject("/token", Fault::http_status(429, 0, 3));
  const auto r = served_.run(demo_region(), kDate, out_.path());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(requests_with_status(429, "/token"), 3);
  expect_same_as_clean();
}

TEST_F(FaultsCli, TokenExpiringMidRunIsRefreshed) {
  // The key comes from the environment; the token service insists on it.
  const std::string key = "env-secret-key-c0ffee";
  served_.server.set_required_key(key);
  served_.server.set_latency(10ms);
  TempDir logs("s2prep-cli-logs");
  Background bg(served_.args(demo_region(), kDate, out_.path()), {{"PC_SDK_SUBSCRIPTION_KEY", key}},
                logs.path());
  ASSERT_TRUE(bg.wait_for([&] { return served_.server.request_count("/blob") >= 30; }, 60s))
      << bg.err();
  ASSERT_TRUE(bg.running()) << "the run ended before its token could expire:\n" << bg.err();
  served_.server.expire_all_tokens();  // every read from now on answers 403 with the old token
  ASSERT_EQ(bg.wait(), 0) << bg.err();
  served_.server.set_latency(0ms);
  EXPECT_GE(served_.server.tokens_issued(), 2);
  EXPECT_GE(requests_with_status(403), 1);
  expect_same_as_clean();
  // The key reached the token service and nothing else.
  for (const auto& r : served_.server.requests()) {
    bool has_key = false;
    for (const auto& [name, value] : r.headers) {
      has_key = has_key || (name == "Ocp-Apim-Subscription-Key" && value == key);
    }
    EXPECT_EQ(has_key, r.path.rfind("/token", 0) == 0) << r.path;
    EXPECT_FALSE(contains(r.query, key));
  }
  EXPECT_FALSE(contains(bg.out() + bg.err(), key));
  for (const auto& f : list_files(out_.path())) {
    EXPECT_FALSE(contains(read_text(out_.path() / f), key)) << f;
  }
}

TEST_F(FaultsCli, ShortLivedTokensAreRenewed) {
  // One read at a time, each request slowed: the run outlasts several token lifetimes.
  served_.server.set_token_lifetime(1s);
  served_.server.set_latency(25ms);
  const auto r = served_.run(demo_region(), kDate, out_.path(), {"--jobs", "1"});
  served_.server.set_latency(0ms);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_GE(served_.server.tokens_issued(), 2) << "a 1 s token cannot last a whole run";
  expect_same_as_clean();
}

TEST_F(FaultsCli, WrongKeyIsExit1NamingTheTokenServiceNotTheKey) {
  served_.server.set_required_key("the-right-key");
  const std::string wrong = "the-wrong-key-123";
  const auto r = served_.run(demo_region(), kDate, out_.path(), {"--pc-key", wrong});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], "token")) << errors[0];
  EXPECT_FALSE(contains(r.out + r.err, wrong));
  EXPECT_FALSE(fs::exists(out_.path() / (kName + ".json")));
}

TEST_F(FaultsCli, UnsignedReadsOfASigningStoreAreExit1NamingTheAsset) {
  // --token-url none against a store that wants SAS tokens: every read answers 403.
  auto args = served_.args(demo_region(), kDate, out_.path());
  *(std::find(args.begin(), args.end(), "--token-url") + 1) = "none";
  const auto r = s2prep(args);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], "Reading asset")) << errors[0];
  EXPECT_TRUE(contains(errors[0], "403")) << errors[0];
  EXPECT_EQ(served_.server.tokens_issued(), 0);
  EXPECT_FALSE(fs::exists(out_.path() / (kName + ".json")));
}

TEST_F(FaultsCli, PersistentFailureIsExit1NamingTheAssetWithNothingHalfWritten) {
  // Two acquisitions; every read of one band file of the later one fails for good.
  const std::array<std::string, 2> dates{"2023-08-12", "2023-09-01"};
  const auto later = items_on(shared_scene(), "2023-09-01");
  ASSERT_FALSE(later.empty());
  const json& broken = later[0]->item;
  const std::string href = broken["assets"]["B11"]["href"];
  served_.server.inject("/blob/" + href, Fault::http_status(404, std::nullopt, 1000));
  const auto r = served_.run(demo_region(), dates, out_.path());
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], "B11")) << errors[0];
  EXPECT_TRUE(contains(errors[0], broken["id"].get<std::string>())) << errors[0];
  EXPECT_FALSE(contains(errors[0], "?")) << "no signed URL in the message: " << errors[0];
  // Nothing of the failed acquisition claims to be complete, and no catalogue lists it.
  const std::string failed = "S2_20230901T101031";
  EXPECT_FALSE(fs::exists(out_.path() / (failed + ".json")));
  EXPECT_FALSE(fs::exists(out_.path() / (failed + "_raster.tif")));
  if (fs::exists(out_.path() / "items.json")) {
    for (const auto& item : output_items(out_.path())) EXPECT_NE(item.at("id"), failed);
  }
  // Whatever did complete is whole: rerunning without the fault keeps it and finishes.
  if (fs::exists(out_.path() / (kName + ".json"))) {
    EXPECT_EQ(read_text(out_.path() / (kName + "_raster.tif")),
              read_text(clean_->path() / (kName + "_raster.tif")));
  }
  served_.server.clear_faults();
  const auto again = served_.run(demo_region(), dates, out_.path());
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_EQ(output_items(out_.path()).size(), 2u);
  for (const auto& f : list_files(out_.path())) EXPECT_FALSE(contains(f, ".tmp-")) << f;
}

}  // namespace
}  // namespace s2prep::clitest
