#include "stac/signing.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <s2prep/errors.hpp>
#include "scripted_server.hpp"
#include "test_server.hpp"

namespace s2prep::stac {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using std::chrono::system_clock;
using testing::Fault;
using testing::TestServer;
namespace fs = std::filesystem;

constexpr const char* kKey = "KEY-9f8e7d6c5b4a-SECRET";

struct Recorder {
  std::vector<std::chrono::milliseconds> waits;
  net::HttpOptions options(int attempts = 6) {
    net::HttpOptions o;
    o.sleep = [this](std::chrono::milliseconds d) { waits.push_back(d); };
    o.connect_timeout = 2s;
    o.retry.max_attempts = attempts;
    return o;
  }
};

// Captures everything logged while it lives, at every level.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream stream_;
};

std::string header_value(const testing::RequestRecord& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

TEST(TokenCache, SignsAppendingToTheQueryAndCachesPerCollection) {
  TestServer server;
  Recorder rec;
  net::HttpClient http(rec.options());
  TokenCache cache(http, server.token_url() + "/");
  ASSERT_TRUE(cache.enabled());
  const std::string a = cache.sign("https://acct.blob/c/B04.tif", "sentinel-2-l2a");
  const std::string token = cache.token("sentinel-2-l2a");
  EXPECT_EQ(a, "https://acct.blob/c/B04.tif?" + token);
  EXPECT_EQ(cache.sign("https://acct.blob/c/B03.tif?x=1", "sentinel-2-l2a"),
            "https://acct.blob/c/B03.tif?x=1&" + token);
  EXPECT_NE(token.find("sig="), std::string::npos);
  EXPECT_EQ(cache.fetch_count(), 1);
  cache.sign("https://acct.blob/c/B02.tif", "landsat-c2-l2");
  EXPECT_EQ(cache.fetch_count(), 2);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].path, "/token/sentinel-2-l2a");
  EXPECT_EQ(requests[1].path, "/token/landsat-c2-l2");
  EXPECT_EQ(header_value(requests[0], "Ocp-Apim-Subscription-Key"), "");
}

TEST(TokenCache, NoneDisablesSigning) {
  Recorder rec;
  net::HttpClient http(rec.options());
  TokenCache cache(http, "none");
  EXPECT_FALSE(cache.enabled());
  EXPECT_EQ(cache.sign("http://h/a.tif", "c"), "http://h/a.tif");
  EXPECT_EQ(cache.fetch_count(), 0);
}

TEST(TokenCache, SignedBlobWorksAndInvalidateRecoversFrom403) {
  TestServer server;
  const fs::path dir = fs::temp_directory_path() / ("s2prep-signing-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "B04.tif") << "pixels";
  server.serve_directory(dir);
  server.set_require_signing(true);
  Recorder rec;
  net::HttpClient http(rec.options());
  TokenCache cache(http, server.token_url());
  const std::string href = server.blob_url("B04.tif");
  EXPECT_EQ(http.get(href).status, 403);  // unsigned
  EXPECT_EQ(http.get(cache.sign(href, "sentinel-2-l2a")).body, "pixels");
  server.expire_all_tokens();
  EXPECT_EQ(http.get(cache.sign(href, "sentinel-2-l2a")).status, 403);  // cached, now dead
  cache.invalidate("sentinel-2-l2a");
  EXPECT_EQ(http.get(cache.sign(href, "sentinel-2-l2a")).status, 200);
  EXPECT_EQ(cache.fetch_count(), 2);
  EXPECT_EQ(server.tokens_issued(), 2);
  fs::remove_all(dir);
}

TEST(TokenCache, RefreshesWithinTheMarginOfExpiry) {
  TestServer server;
  server.set_token_lifetime(3600s);
  Recorder rec;
  net::HttpClient http(rec.options());
  system_clock::time_point now = system_clock::now();
  TokenCacheOptions options;
  options.refresh_margin = 300s;
  options.now = [&now] { return now; };
  TokenCache cache(http, server.token_url(), std::nullopt, options);
  const std::string first = cache.token("sentinel-2-l2a");
  now += 50min;  // 10 min left: still outside the 5 min margin
  EXPECT_EQ(cache.token("sentinel-2-l2a"), first);
  EXPECT_EQ(cache.fetch_count(), 1);
  now += 6min;  // 4 min left: inside the margin
  const std::string second = cache.token("sentinel-2-l2a");
  EXPECT_NE(second, first);
  EXPECT_EQ(cache.fetch_count(), 2);
}

TEST(TokenCache, ShortLivedTokensAreStillReused) {
  TestServer server;
  server.set_token_lifetime(120s);  // shorter than the 5 min margin
  Recorder rec;
  net::HttpClient http(rec.options());
  TokenCache cache(http, server.token_url());
  for (int i = 0; i < 5; ++i) cache.sign("http://h/x.tif", "c");
  EXPECT_EQ(cache.fetch_count(), 1);
}

TEST(TokenCache, TooManyRequestsIsRetriedUsingItsHint) {
  TestServer server;
  Fault f;
  f.status = 429;
  f.retry_after = 7;
  f.count = 2;
  server.inject("/token", f);
  Recorder rec;
  net::HttpClient http(rec.options());
  TokenCache cache(http, server.token_url());
  EXPECT_FALSE(cache.token("sentinel-2-l2a").empty());
  EXPECT_EQ(rec.waits, (std::vector<std::chrono::milliseconds>{7000ms, 7000ms}));
  EXPECT_EQ(server.request_count("/token"), 3);
}

TEST(TokenCache, ConcurrentSignersShareOneFetch) {
  TestServer server;
  Recorder rec;
  net::HttpClient http(rec.options());
  TokenCache cache(http, server.token_url());
  std::vector<std::thread> threads;
  std::atomic<int> signed_count{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        signed_count +=
            cache.sign("http://h/x.tif", "sentinel-2-l2a").find("sig=") != std::string::npos;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(signed_count.load(), 120);
  EXPECT_EQ(cache.fetch_count(), 1);
}

TEST(TokenCache, KeyIsSentInTheHeader) {
  TestServer server;
  server.set_required_key(std::string(kKey));
  Recorder rec;
  net::HttpClient http(rec.options());
  TokenCache cache(http, server.token_url(), std::string(kKey));
  EXPECT_FALSE(cache.token("sentinel-2-l2a").empty());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(header_value(requests[0], "Ocp-Apim-Subscription-Key"), kKey);
}

// Forces every error path of signing and checks neither the key nor any token text reaches an
// exception message or the log.
TEST(TokenCache, SecretsNeverAppearInMessagesOrLogs) {
  LogCapture capture;
  std::vector<std::string> messages;
  const auto expect_error = [&](const std::function<void()>& f) {
    try {
      f();
      ADD_FAILURE() << "no exception";
    } catch (const Error& e) {
      messages.push_back(e.what());
    }
  };
  std::vector<std::string> tokens;

  {  // wrong key (401), and a missing key
    TestServer server;
    server.set_required_key(std::string("the-right-key"));
    Recorder rec;
    net::HttpClient http(rec.options());
    TokenCache wrong(http, server.token_url(), std::string(kKey));
    expect_error([&] { wrong.sign("http://h/x.tif", "sentinel-2-l2a"); });
    TokenCache missing(http, server.token_url());
    expect_error([&] { missing.sign("http://h/x.tif", "sentinel-2-l2a"); });
  }
  {  // the token service keeps failing (503), then a 404
    TestServer server;
    Fault f;
    f.status = 503;
    f.count = 3;
    server.inject("/token", f);
    Recorder rec;
    net::HttpClient http(rec.options(3));
    TokenCache cache(http, server.token_url(), std::string(kKey));
    expect_error([&] { cache.token("sentinel-2-l2a"); });
    f.status = 404;
    f.count = 1;
    server.inject("/token", f);
    expect_error([&] { cache.token("sentinel-2-l2a"); });
  }
  {  // the token service is unreachable
    int port = 0;
    {
      TestServer gone;
      port = gone.port();
    }
    Recorder rec;
    net::HttpClient http(rec.options(2));
    TokenCache cache(http, "http://127.0.0.1:" + std::to_string(port) + "/token",
                     std::string(kKey));
    expect_error([&] { cache.token("sentinel-2-l2a"); });
  }
  {  // malformed answers, some of which carry token text
    const std::string token_text = "st=2030&sig=TOKEN-TEXT-4d3c2b1a";
    tokens.push_back(token_text);
    std::vector<std::string> answers = {"not json " + token_text, json{{"token", 5}}.dump(),
                                        json{{"expiry", token_text}}.dump(),
                                        "[\"" + token_text + "\"]"};
    std::size_t next = 0;
    ScriptedServer server([&](const std::string&, const std::string&, const std::string&) {
      return ScriptedServer::Answer{200, answers[std::min(next++, answers.size() - 1)]};
    });
    Recorder rec;
    net::HttpClient http(rec.options());
    TokenCache cache(http, server.url() + "/token", std::string(kKey));
    for (std::size_t i = 0; i < answers.size(); ++i) {
      expect_error([&] { cache.token("sentinel-2-l2a"); });
    }
    // A good token with an unreadable expiry only warns.
    answers = {json{{"msft:expiry", "soon"}, {"token", token_text}}.dump()};
    next = 0;
    EXPECT_EQ(cache.token("sentinel-2-l2a"), token_text);
  }
  {  // a signed blob that keeps failing: the message names the blob without the token
    TestServer server;
    Fault f;
    f.status = 503;
    f.count = 10;
    server.inject("/blob", f);
    Recorder rec;
    net::HttpClient http(rec.options(2));
    TokenCache cache(http, server.token_url(), std::string(kKey));
    const std::string signed_href = cache.sign(server.blob_url("a/B04.tif"), "sentinel-2-l2a");
    tokens.push_back(cache.token("sentinel-2-l2a"));
    expect_error([&] { http.get(signed_href); });
    EXPECT_NE(messages.back().find(server.blob_url("a/B04.tif")), std::string::npos);
  }

  EXPECT_EQ(messages.size(), 10u);
  const std::string log = capture.text();
  EXPECT_FALSE(log.empty());
  for (const auto& m : messages) {
    EXPECT_EQ(m.find(kKey), std::string::npos) << m;
    for (const auto& t : tokens) {
      EXPECT_EQ(m.find(t), std::string::npos) << m;
      EXPECT_EQ(m.find("sig="), std::string::npos) << m;
    }
  }
  EXPECT_EQ(log.find(kKey), std::string::npos) << log;
  for (const auto& t : tokens) EXPECT_EQ(log.find(t), std::string::npos) << log;
  EXPECT_EQ(log.find("sig="), std::string::npos) << log;
  // The 401 message tells the user what to do about the key.
  EXPECT_NE(messages[0].find("--pc-key"), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("401"), std::string::npos) << messages[0];
}

}  // namespace
}  // namespace s2prep::stac

namespace s2prep::stac {
namespace {

TEST(HrefNeedsSigning, AzureBlobsAndTheTokenServicesOwnHostOnly) {
  const std::string pc_token = "https://planetarycomputer.microsoft.com/api/sas/v1/token";
  const std::string pc =
      "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/33/U/UP/2023/B04_10m.tif";
  EXPECT_TRUE(href_needs_signing(pc, pc_token));
  EXPECT_TRUE(href_needs_signing("https://X.Blob.Core.Windows.Net:443/c/b.tif", pc_token));
  EXPECT_FALSE(href_needs_signing(
      "https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/B04.tif", pc_token));
  EXPECT_FALSE(href_needs_signing("https://evil.example/x.blob.core.windows.net/b.tif", pc_token));
  EXPECT_FALSE(href_needs_signing("https://x.blob.core.windows.net@evil.example/b.tif", pc_token));
  EXPECT_FALSE(href_needs_signing("/data/B04.tif", pc_token));
  EXPECT_FALSE(href_needs_signing("file:///data/B04.tif", pc_token));

  // A custom token service signs its own host's hrefs (the local demo: token and blobs on
  // 127.0.0.1) and Azure's, but not every host a catalogue happens to name.
  const std::string custom = "http://127.0.0.1:8080/token";
  EXPECT_TRUE(href_needs_signing("http://127.0.0.1:8080/blob/B04.tif", custom));
  EXPECT_TRUE(href_needs_signing(pc, custom));
  EXPECT_FALSE(href_needs_signing("http://localhost:8080/blob/B04.tif", custom));
  EXPECT_FALSE(href_needs_signing("https://attacker.example/B04.tif", custom));
  EXPECT_FALSE(href_needs_signing("/data/B04.tif", custom));

  // Hosts the user named: exact, or a domain and its subdomains with a leading dot.
  const std::vector<std::string> hosts{"data.example.org", ".cdn.example.net"};
  EXPECT_TRUE(href_needs_signing("https://DATA.example.org/B04.tif", custom, hosts));
  EXPECT_FALSE(href_needs_signing("https://more.data.example.org/B04.tif", custom, hosts));
  EXPECT_TRUE(href_needs_signing("https://eu.cdn.example.net/B04.tif", custom, hosts));
  EXPECT_TRUE(href_needs_signing("https://cdn.example.net/B04.tif", custom, hosts));
  EXPECT_FALSE(href_needs_signing("https://evilcdn.example.net/B04.tif", custom, hosts));
}

TEST(UrlHost, LowerCaseWithoutPortOrCredentials) {
  EXPECT_EQ(url_host("https://User:Pw@Acct.Blob.Core.Windows.Net:443/c?x"),
            "acct.blob.core.windows.net");
  EXPECT_EQ(url_host("http://[::1]:8080/x"), "[::1]");
  EXPECT_EQ(url_host("http://127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(url_host("/local/path.tif"), "");
}

// One token expiry, many readers refused at once: one refresh, shared by all of them.
TEST(TokenCache, OneRefreshPerExpiryWhateverTheNumberOfRefusedReaders) {
  TestServer server;
  Recorder rec;
  net::HttpClient http(rec.options());
  TokenCache cache(http, server.token_url());
  const std::string collection = "sentinel-2-l2a";
  std::vector<std::string> refused;
  for (int i = 0; i < 12; ++i) {
    refused.push_back(cache.sign("http://h/B" + std::to_string(i) + ".tif", collection));
  }
  ASSERT_EQ(cache.fetch_count(), 1);
  const std::string stale = cache.token(collection);

  std::vector<std::thread> threads;
  std::vector<std::string> fresh(refused.size());
  for (std::size_t i = 0; i < refused.size(); ++i) {
    threads.emplace_back([&, i] {
      cache.invalidate(collection, refused[i]);
      fresh[i] = cache.sign("http://h/again.tif", collection);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(cache.fetch_count(), 2);
  EXPECT_EQ(server.tokens_issued(), 2);
  for (const auto& href : fresh) {
    EXPECT_EQ(href, "http://h/again.tif?" + cache.token(collection));
    EXPECT_EQ(href.find(stale), std::string::npos);
  }
  // A href refused with the new token does refresh again.
  cache.invalidate(collection, fresh[0]);
  cache.token(collection);
  EXPECT_EQ(cache.fetch_count(), 3);
}

// The key goes to the token service only: not to another origin it redirects to.
TEST(TokenCache, KeyIsNotSentToAnotherOriginOnRedirect) {
  TestServer service;
  TestServer elsewhere;
  service.inject("/token/", Fault::redirected(elsewhere.token_url() + "/sentinel-2-l2a"));
  Recorder rec;
  net::HttpClient http(rec.options());
  TokenCache cache(http, service.token_url(), std::string(kKey));
  EXPECT_FALSE(cache.token("sentinel-2-l2a").empty());
  const auto there = elsewhere.requests();
  ASSERT_EQ(there.size(), 1u);
  EXPECT_EQ(header_value(there[0], "Ocp-Apim-Subscription-Key"), "");
  const auto here = service.requests();
  ASSERT_EQ(here.size(), 1u);
  EXPECT_EQ(header_value(here[0], "Ocp-Apim-Subscription-Key"), kKey);
}

TEST(TokenResponse, ParsesTokenAndExpiry) {
  const auto r =
      parse_token_response(R"({"token": "?st=1&sig=abc", "msft:expiry": "2030-01-01T00:00:00Z"})");
  EXPECT_EQ(r.token, "st=1&sig=abc");
  ASSERT_TRUE(r.expiry);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(r.expiry->time_since_epoch()).count(),
            1893456000);  // date -d 2030-01-01T00:00:00Z +%s
  EXPECT_TRUE(parse_token_response(R"({"token": "t", "msft:expiry": "soon"})").expiry_unreadable);
}

// 1e400 escaped as nlohmann's out_of_range (only parse_error was caught); a token of only "?"
// became an empty token.
TEST(TokenResponse, HostileBodiesAreRefusedWithoutQuotingThem) {
  const auto refusal = [](const std::string& body) -> std::string {
    try {
      parse_token_response(body);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_EQ(refusal(R"({"token": "SECRET", "n": 1e400})"), "something that is not JSON");
  EXPECT_EQ(refusal(R"({"token": "??"})"), "without a token");
  EXPECT_EQ(refusal(R"({"token": 5})"), "without a token");
  EXPECT_EQ(refusal("[" + std::string(100000, '[')), "something that is not JSON");
}

// Found by fuzz_token_response: an expiry in year 4046 overflowed the nanosecond clock (signed
// overflow, undefined; in practice an expiry in the past, so every sign() fetched anew).
TEST(TokenResponse, ExpiryBeyondTheClockIsUnreadable) {
  const auto r = parse_token_response(R"({"token": "t", "msft:expiry": "4046-06-01T12:00:00Z"})");
  EXPECT_FALSE(r.expiry);
  EXPECT_TRUE(r.expiry_unreadable);
  const auto past =
      parse_token_response(R"({"token": "t", "msft:expiry": "1000-01-01T00:00:00Z"})");
  EXPECT_FALSE(past.expiry);
}

}  // namespace
}  // namespace s2prep::stac
