#pragma once
// A small HTTP client over libcurl with the retry behaviour remote catalogues and object stores
// need: 429/5xx and transport failures are retried with exponential backoff and full jitter,
// Retry-After is honoured, and every attempt is bounded by a connection timeout and a low-speed
// (stalled transfer) limit. URLs are only ever logged or reported through redact_url(), because
// signed blob URLs carry SAS tokens in their query string.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s2prep::net {

// The URL without query string, fragment or user:password@ part: safe to log and show.
std::string redact_url(std::string_view url);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case keys
  std::string body;

  // The header's value, or empty when absent (name in any case).
  std::string header(std::string_view name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

struct HttpRequest {
  std::string method = "GET";  // GET, POST or HEAD
  std::string url;
  Headers headers;
  std::string body;  // sent for POST
};

struct RetryPolicy {
  int max_attempts = 6;
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{20'000};
  // Attempts plus waits may not exceed this; a wait that would cross it ends the retries.
  std::chrono::milliseconds max_total{120'000};
};

// How the client waits between attempts; tests inject one that records instead of sleeping.
using SleepFunction = std::function<void(std::chrono::milliseconds)>;

struct HttpOptions {
  RetryPolicy retry;
  std::chrono::milliseconds connect_timeout{10'000};
  // A transfer slower than low_speed_limit bytes/s for low_speed_time is abandoned (and retried):
  // a stalled connection must not hang a run for hours.
  std::chrono::seconds low_speed_time{30};
  long low_speed_limit = 1;
  // Hard cap on one attempt; zero means none (large downloads are bounded by the low-speed rule).
  std::chrono::milliseconds transfer_timeout{0};
  std::string user_agent = "s2prep";
  SleepFunction sleep;  // empty: std::this_thread::sleep_for
  // Fixes the jitter sequence (tests); zero seeds from std::random_device.
  unsigned jitter_seed = 0;
};

// True for the statuses a client should retry: 429, 500, 502, 503, 504.
bool is_retryable_status(int status);

// Parses a Retry-After value: delta-seconds or an HTTP-date (relative to `now`). nullopt when
// unreadable; never negative.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Thread-safe: several threads may send requests at once (each uses its own curl handle from a
// small pool, so connections are reused).
class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Send with retries. Returns the final response for any status that is not retryable
  // (including 4xx: the caller knows what a 403 or 404 means for it). Throws RemoteError when
  // retryable failures outlast the policy.
  HttpResponse send(const HttpRequest& request);

  HttpResponse get(const std::string& url, const Headers& headers = {});
  HttpResponse head(const std::string& url, const Headers& headers = {});
  HttpResponse post_json(const std::string& url, const nlohmann::json& body,
                         const Headers& headers = {});

  const HttpOptions& options() const { return options_; }

 private:
  struct Impl;
  HttpOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Throws RemoteError for a non-2xx response: one sentence naming the redacted URL, the status
// and `advice` (what the user should do).
void require_success(const HttpResponse& response, std::string_view url, std::string_view what,
                     std::string_view advice);

}  // namespace s2prep::net
