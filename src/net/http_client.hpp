#pragma once
// A small HTTP client over libcurl with the retry behaviour remote catalogues and object stores
// need: 429/5xx and transport failures are retried with exponential backoff and full jitter,
// Retry-After is honoured, every attempt is bounded by a connection timeout, a total time and a
// low-speed (stalled or dripping transfer) limit, and the whole exchange, retries and waits
// included, by RetryPolicy::max_total. Only http and https are ever spoken: a catalogue's `next`
// link or a server's redirect to file://, gopher:// or any other scheme is refused. Redirects are
// followed here rather than by libcurl, so that secret headers stay on the origin they were
// meant for. URLs are only ever logged or reported through redact_url(), because signed blob URLs
// carry SAS tokens in their query string.

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
  // Credentials (e.g. a subscription key): sent to the origin (scheme, host, port) of `url` only,
  // never to another origin a redirect points at.
  Headers secret_headers;
};

// True when `url` is an absolute http:// or https:// URL (the only schemes the client speaks).
bool is_http_url(std::string_view url);

// True when the two URLs have the same scheme, host and port (default ports made explicit).
bool same_origin(const std::string& a, const std::string& b);

struct RetryPolicy {
  int max_attempts = 6;
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{20'000};
  // The whole exchange, attempts plus waits, never takes longer: each attempt's own time limit
  // is cut to what is left, and a wait that would cross it ends the retries.
  std::chrono::milliseconds max_total{120'000};
};

// How the client waits between attempts; tests inject one that records instead of sleeping.
using SleepFunction = std::function<void(std::chrono::milliseconds)>;

struct HttpOptions {
  RetryPolicy retry;
  std::chrono::milliseconds connect_timeout{10'000};
  // A transfer averaging less than low_speed_limit bytes/s over low_speed_time is abandoned (and
  // retried): a stalled or dripping server must not hang a run. Catalogue pages, tokens and
  // metadata documents arrive far faster than 1 KB/s from any working service.
  std::chrono::seconds low_speed_time{30};
  long low_speed_limit = 1024;
  // Cap on one attempt (connection, redirects and transfer); zero means none, which leaves only
  // the low-speed rule and max_total.
  std::chrono::milliseconds transfer_timeout{60'000};
  int max_redirects = 5;
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
  // retryable failures outlast the policy, and at once for a URL or redirect that is not
  // http(s) or for too many redirects.
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
