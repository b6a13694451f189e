#include "net/http_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "core/errors.hpp"
#include "test_server.hpp"

namespace s2prep::net {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using testing::Fault;
using testing::TestServer;

// Records the waits the client asks for instead of sleeping, so retry tests take no time.
struct RecordingSleeper {
  std::mutex mutex;
  std::vector<milliseconds> waits;
  SleepFunction function() {
    return [this](milliseconds d) {
      std::lock_guard lock(mutex);
      waits.push_back(d);
    };
  }
};

Fault status_fault(int status, int count = 1, std::optional<int> retry_after = std::nullopt) {
  Fault f;
  f.status = status;
  f.count = count;
  f.retry_after = retry_after;
  return f;
}
Fault drop_fault() {
  Fault f;
  f.drop_connection = true;
  return f;
}
Fault truncate_fault() {
  Fault f;
  f.truncate_body = true;
  return f;
}
Fault delay_fault(milliseconds delay) {
  Fault f;
  f.delay = delay;
  return f;
}

HttpOptions fast_options(RecordingSleeper& sleeper) {
  HttpOptions options;
  options.sleep = sleeper.function();
  options.connect_timeout = 2s;
  options.low_speed_time = 5s;
  options.jitter_seed = 42;
  return options;
}

TEST(RedactUrl, StripsQueryFragmentAndCredentials) {
  EXPECT_EQ(redact_url("https://a.blob.core.windows.net/c/B04.tif?st=1&sig=abc%3D"),
            "https://a.blob.core.windows.net/c/B04.tif");
  EXPECT_EQ(redact_url("http://h/p#frag"), "http://h/p");
  EXPECT_EQ(redact_url("https://user:secret@h:8080/p?x"), "https://h:8080/p");
  EXPECT_EQ(redact_url("http://h/a@b"), "http://h/a@b");  // '@' in the path is not a login
  EXPECT_EQ(redact_url("http://h/p"), "http://h/p");
  EXPECT_EQ(redact_url(""), "");
}

TEST(RetryAfter, SecondsAndHttpDate) {
  EXPECT_EQ(parse_retry_after("3"), milliseconds(3000));
  EXPECT_EQ(parse_retry_after(" 1.5 "), milliseconds(1500));
  EXPECT_EQ(parse_retry_after("0"), milliseconds(0));
  EXPECT_FALSE(parse_retry_after("soon"));
  EXPECT_FALSE(parse_retry_after(""));
  // 1445412480 is 2015-10-21T07:28:00Z (date -u -d @1445412480).
  const auto now = std::chrono::system_clock::from_time_t(1445412480 - 7);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), milliseconds(7000));
  // A date in the past means "now".
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
                              std::chrono::system_clock::from_time_t(1445412480 + 60)),
            milliseconds(0));
}

TEST(RetryableStatus, Set) {
  for (int s : {429, 500, 502, 503, 504}) EXPECT_TRUE(is_retryable_status(s)) << s;
  for (int s : {200, 400, 401, 403, 404, 501}) EXPECT_FALSE(is_retryable_status(s)) << s;
}

TEST(HttpClient, GetHeadPostAndCustomHeaders) {
  TestServer server;
  RecordingSleeper sleeper;
  HttpClient http(fast_options(sleeper));
  const auto landing = http.get(server.stac_url(), {{"X-Probe", "hello"}});
  EXPECT_EQ(landing.status, 200);
  EXPECT_FALSE(landing.body.empty());
  EXPECT_NE(landing.header("Content-Type").find("json"), std::string::npos);
  EXPECT_EQ(landing.header("content-type"), landing.headers.at("content-type"));

  const auto head = http.head(server.stac_url());
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());

  const auto post = http.post_json(server.stac_url() + "/search", {{"limit", 1}});
  EXPECT_EQ(post.status, 200);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  bool probe = false;
  for (const auto& [k, v] : requests[0].headers) probe = probe || (k == "X-Probe" && v == "hello");
  EXPECT_TRUE(probe);
  EXPECT_EQ(requests[1].method, "HEAD");
  EXPECT_EQ(requests[2].method, "POST");
  EXPECT_EQ(nlohmann::json::parse(requests[2].body), (nlohmann::json{{"limit", 1}}));
  bool json_type = false;
  for (const auto& [k, v] : requests[2].headers) {
    json_type = json_type || (k == "Content-Type" && v == "application/json");
  }
  EXPECT_TRUE(json_type);
  EXPECT_TRUE(sleeper.waits.empty());
}

TEST(HttpClient, BurstOf429WithRetryAfterEndsInSuccess) {
  TestServer server;
  server.inject("/stac", status_fault(429, 4, 2));
  RecordingSleeper sleeper;
  HttpClient http(fast_options(sleeper));
  const auto r = http.get(server.stac_url());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(server.request_count("/stac"), 5);
  // The server's hint, not the (smaller) backoff, decides each wait.
  EXPECT_EQ(sleeper.waits, std::vector<milliseconds>(4, milliseconds(2000)));
}

TEST(HttpClient, RetryAfterIsCappedByMaxDelay) {
  TestServer server;
  server.inject("/stac", status_fault(503, 1, 3600));
  RecordingSleeper sleeper;
  auto options = fast_options(sleeper);
  options.retry.max_delay = 1500ms;
  HttpClient http(options);
  EXPECT_EQ(http.get(server.stac_url()).status, 200);
  EXPECT_EQ(sleeper.waits, std::vector<milliseconds>{milliseconds(1500)});
}

TEST(HttpClient, ServiceUnavailableThenSuccessUsesJitteredBackoff) {
  TestServer server;
  server.inject("/stac", status_fault(503, 3));
  RecordingSleeper sleeper;
  auto options = fast_options(sleeper);
  options.retry.base_delay = 100ms;
  HttpClient http(options);
  EXPECT_EQ(http.get(server.stac_url()).status, 200);
  ASSERT_EQ(sleeper.waits.size(), 3u);
  // Full jitter: attempt i waits uniformly in [0, base * 2^i].
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_GE(sleeper.waits[i].count(), 0);
    EXPECT_LE(sleeper.waits[i].count(), 100 << i) << i;
  }
}

TEST(HttpClient, DroppedConnectionThenSuccess) {
  TestServer server;
  server.inject("/stac", drop_fault());
  RecordingSleeper sleeper;
  HttpClient http(fast_options(sleeper));
  const auto r = http.get(server.stac_url());
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(nlohmann::json::accept(r.body));
  EXPECT_EQ(server.request_count("/stac"), 2);
  EXPECT_EQ(sleeper.waits.size(), 1u);
}

TEST(HttpClient, TruncatedBodyThenSuccess) {
  TestServer server;
  server.inject("/stac", truncate_fault());
  RecordingSleeper sleeper;
  HttpClient http(fast_options(sleeper));
  const auto r = http.get(server.stac_url());
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(nlohmann::json::accept(r.body));
  EXPECT_EQ(sleeper.waits.size(), 1u);
}

TEST(HttpClient, StalledTransferTimesOutAndIsRetried) {
  TestServer server;
  server.inject("/stac", delay_fault(800ms));
  RecordingSleeper sleeper;
  auto options = fast_options(sleeper);
  options.transfer_timeout = 200ms;
  HttpClient http(options);
  EXPECT_EQ(http.get(server.stac_url()).status, 200);
  EXPECT_EQ(sleeper.waits.size(), 1u);
}

TEST(HttpClient, RetriesExhaustedNamesUrlWithoutQuery) {
  TestServer server;
  server.inject("/stac", status_fault(503, 100));
  RecordingSleeper sleeper;
  auto options = fast_options(sleeper);
  options.retry.max_attempts = 3;
  HttpClient http(options);
  const std::string url = server.stac_url() + "?sig=TOPSECRET&se=2030";
  try {
    http.get(url);
    FAIL() << "no exception";
  } catch (const RemoteError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(server.stac_url()), std::string::npos) << msg;
    EXPECT_EQ(msg.find("TOPSECRET"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('?'), std::string::npos) << msg;
    EXPECT_NE(msg.find("503"), std::string::npos) << msg;
    EXPECT_NE(msg.find("3 attempts"), std::string::npos) << msg;
    EXPECT_EQ(e.url(), server.stac_url());
    EXPECT_EQ(e.http_status(), 503);
    EXPECT_EQ(e.exit_code(), 1);
  }
  EXPECT_EQ(server.request_count("/stac"), 3);
  EXPECT_EQ(sleeper.waits.size(), 2u);
}

TEST(HttpClient, TotalBudgetStopsLongWaits) {
  TestServer server;
  server.inject("/stac", status_fault(429, 100, 10));
  RecordingSleeper sleeper;
  auto options = fast_options(sleeper);
  options.retry.max_total = 25s;
  HttpClient http(options);
  try {
    http.get(server.stac_url());
    FAIL() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("budget"), std::string::npos) << e.what();
    EXPECT_EQ(e.http_status(), 429);
  }
  // 10 s + 10 s fit in 25 s; a third wait would not.
  EXPECT_EQ(sleeper.waits.size(), 2u);
  EXPECT_EQ(server.request_count("/stac"), 3);
}

TEST(HttpClient, ConnectionRefusedIsATransportError) {
  int port = 0;
  {
    TestServer server;
    port = server.port();
  }  // the port is now closed
  RecordingSleeper sleeper;
  auto options = fast_options(sleeper);
  options.retry.max_attempts = 2;
  HttpClient http(options);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x?token=abc";
  try {
    http.get(url);
    FAIL() << "no exception";
  } catch (const RemoteError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.http_status(), 0);
    EXPECT_EQ(msg.find("token=abc"), std::string::npos) << msg;
    EXPECT_NE(msg.find("/x"), std::string::npos) << msg;
  }
  EXPECT_EQ(sleeper.waits.size(), 1u);
}

TEST(HttpClient, ClientErrorsAreReturnedNotRetried) {
  TestServer server;
  server.inject("/stac", status_fault(404));
  RecordingSleeper sleeper;
  HttpClient http(fast_options(sleeper));
  const auto r = http.get(server.stac_url() + "?k=v");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(sleeper.waits.empty());
  try {
    require_success(r, server.stac_url() + "?k=v", "The catalogue", "check the URL");
    FAIL() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_EQ(std::string(e.what()),
              "The catalogue at " + server.stac_url() + " answered HTTP 404; check the URL.");
  }
}

TEST(HttpClient, SeveralThreadsShareOneClient) {
  TestServer server;
  server.inject("/stac", status_fault(503, 5));
  RecordingSleeper sleeper;
  HttpClient http(fast_options(sleeper));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) ok += http.get(server.stac_url()).status == 200;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 40);
  EXPECT_EQ(server.request_count("/stac"), 45);
}

}  // namespace
}  // namespace s2prep::net
