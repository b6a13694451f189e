#include "net/http_client.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <s2prep/errors.hpp>
#include "test_server.hpp"

namespace s2prep::net {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using testing::Fault;
using testing::RequestRecord;
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

// --- Only http(s), secrets stay on their origin, every exchange is bounded ---------------------

// A TCP listener on 127.0.0.1 that records whether anything ever connected to it: where a
// hostile link or redirect would send raw bytes.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 4) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd_); }
  int port() const { return port_; }
  // True when a connection is waiting (or was made) on the socket.
  bool contacted() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 200) > 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(HttpClient, OnlyHttpAndHttpsUrlsAreFetched) {
  Listener listener;
  RecordingSleeper sleeper;
  HttpClient http(fast_options(sleeper));
  // A catalogue's `next` link is fetched as given: a file:// link read the machine's files and a
  // gopher:// link wrote raw bytes to a local port.
  EXPECT_THROW(http.get("file:///etc/passwd"), RemoteError);
  EXPECT_THROW(http.get("gopher://127.0.0.1:" + std::to_string(listener.port()) + "/_HELLO"),
               RemoteError);
  EXPECT_THROW(http.post_json("FTP://127.0.0.1:" + std::to_string(listener.port()) + "/x",
                              nlohmann::json::object()),
               RemoteError);
  EXPECT_FALSE(listener.contacted());
  EXPECT_TRUE(sleeper.waits.empty());  // a refusal is not retried
}

TEST(HttpClient, RedirectsToOtherSchemesAreRefusedWithoutContact) {
  TestServer server;
  Listener listener;
  server.inject("/stac",
                Fault::redirected("ftp://127.0.0.1:" + std::to_string(listener.port()) + "/pub/x"));
  server.inject("/token", Fault::redirected("file:///etc/passwd", 301));
  RecordingSleeper sleeper;
  auto options = fast_options(sleeper);
  options.transfer_timeout = 2s;
  HttpClient http(options);
  try {
    http.get(server.stac_url());
    FAIL() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("redirected to a URL of scheme ftp"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(listener.contacted());
  EXPECT_THROW(http.get(server.token_url() + "/c"), RemoteError);
  EXPECT_TRUE(sleeper.waits.empty());
}

TEST(HttpClient, RedirectsWithinHttpAreFollowed) {
  TestServer server;
  server.inject("/token/a", Fault::redirected(server.token_url() + "/b", 307));
  // A POST answered 303 continues as a GET of the new location.
  server.inject("/stac/old-search", Fault::redirected("/stac", 303));
  RecordingSleeper sleeper;
  HttpClient http(fast_options(sleeper));
  const auto token = http.get(server.token_url() + "/a");
  EXPECT_EQ(token.status, 200);
  EXPECT_NE(token.body.find("\"token\""), std::string::npos);
  const auto landing = http.post_json(server.base_url() + "/stac/old-search", {{"x", 1}});
  EXPECT_EQ(landing.status, 200);
  const auto log = server.requests();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[3].method, "GET");
  EXPECT_EQ(log[3].path, "/stac");
}

TEST(HttpClient, SecretHeadersAreNeverSentToAnotherOrigin) {
  TestServer service;
  TestServer elsewhere;
  // Same host, another port: another origin.
  service.inject("/token/x", Fault::redirected(elsewhere.token_url() + "/x"));
  service.inject("/token/y", Fault::redirected(service.token_url() + "/z"));
  RecordingSleeper sleeper;
  HttpClient http(fast_options(sleeper));
  HttpRequest request;
  request.url = service.token_url() + "/x";
  request.headers = {{"X-Plain", "1"}};
  request.secret_headers = {{"Ocp-Apim-Subscription-Key", "very-secret"}};
  EXPECT_EQ(http.send(request).status, 200);
  request.url = service.token_url() + "/y";
  EXPECT_EQ(http.send(request).status, 200);

  const auto has = [](const RequestRecord& r, const std::string& name) {
    for (const auto& [key, value] : r.headers) {
      if (key == name) return true;
    }
    return false;
  };
  const auto there = elsewhere.requests();
  ASSERT_EQ(there.size(), 1u);
  EXPECT_FALSE(has(there[0], "Ocp-Apim-Subscription-Key"));
  EXPECT_TRUE(has(there[0], "X-Plain"));
  const auto here = service.requests();
  ASSERT_EQ(here.size(), 3u);  // /x, /y and the same-origin redirect target /z
  for (const auto& r : here) EXPECT_TRUE(has(r, "Ocp-Apim-Subscription-Key")) << r.path;
}

TEST(HttpClient, TooManyRedirectsIsACleanError) {
  TestServer server;
  server.inject("/stac", Fault::redirected("/stac", 302, 100));
  RecordingSleeper sleeper;
  HttpClient http(fast_options(sleeper));
  EXPECT_THROW(http.get(server.stac_url()), RemoteError);
  EXPECT_EQ(server.request_count("/stac"), 6);  // the request and 5 redirects
}

TEST(HttpClient, DefaultLowSpeedLimitAbandonsADrippingServer) {
  // 10 bytes/s: never a stall, yet a ~400-byte token answer would take 40 s, and a catalogue
  // page hours. The default limit (1 KB/s over low_speed_time) abandons it.
  TestServer server;
  server.inject("/token", Fault::dripping(100ms, 1, 100));
  RecordingSleeper sleeper;
  HttpOptions options;
  options.sleep = sleeper.function();
  options.low_speed_time = 1s;
  options.retry.max_attempts = 2;
  HttpClient http(options);
  EXPECT_THROW(http.get(server.token_url() + "/c"), RemoteError);
  EXPECT_EQ(server.request_count("/token"), 2);
}

TEST(HttpClient, TotalBudgetBoundsAnAttemptThatKeepsDripping) {
  // Fast enough for the low-speed rule, but the whole exchange may not outlast max_total.
  TestServer server;
  server.inject("/token", Fault::dripping(100ms, 16, 100));
  RecordingSleeper sleeper;
  auto options = fast_options(sleeper);
  options.low_speed_limit = 1;
  options.retry.max_total = 1s;
  HttpClient http(options);
  try {
    http.get(server.token_url() + "/c");
    FAIL() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("retry budget"), std::string::npos) << e.what();
  }
}

TEST(HttpOptions, EveryExchangeIsBoundedByDefault) {
  const HttpOptions defaults;
  EXPECT_GT(defaults.transfer_timeout.count(), 0);
  EXPECT_GE(defaults.low_speed_limit, 1024);
  EXPECT_GT(defaults.retry.max_total.count(), 0);
}

TEST(SameOrigin, SchemeHostAndPort) {
  EXPECT_TRUE(same_origin("https://a.example/x", "https://A.example:443/y?q"));
  EXPECT_FALSE(same_origin("https://a.example/x", "http://a.example/x"));
  EXPECT_FALSE(same_origin("http://127.0.0.1:1/x", "http://127.0.0.1:2/x"));
  EXPECT_FALSE(same_origin("https://a.example/x", "https://a.example.evil/x"));
  EXPECT_TRUE(is_http_url("HTTPS://a.example/"));
  EXPECT_FALSE(is_http_url("file:///etc/passwd"));
  EXPECT_FALSE(is_http_url("/etc/passwd"));
}

}  // namespace
}  // namespace s2prep::net
