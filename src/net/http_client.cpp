#include "net/http_client.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <random>
#include <thread>

#include <s2prep/errors.hpp>
#include "core/redact.hpp"

namespace s2prep::net {
namespace {

using namespace std::chrono;

// libcurl wants curl_global_init before any other call and exactly once; a function-local static
// gives that without a global object. It is never cleaned up: the process ends first.
void ensure_curl_initialised() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    throw Error(fmt::format("libcurl could not be initialised ({}); the network is unusable.",
                            curl_easy_strerror(code)));
  }
}

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

void append(CurlSlist& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (!next) throw Error("Out of memory while building HTTP headers.");
  list.release();  // curl_slist_append returned the (same or new) head, which now owns it
  list.reset(next);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

size_t write_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t write_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  const std::string_view line(data, size * count);
  // A new status line starts a new header block (redirects, 100 Continue): keep the last one.
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.clear();
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    response->headers[lower(trim(line.substr(0, colon)))] =
        std::string(trim(line.substr(colon + 1)));
  }
  return size * count;
}

struct Attempt {
  HttpResponse response;
  CURLcode code = CURLE_OK;
  std::string redirect_url;  // absolute, resolved by libcurl; empty when none
};

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

// (scheme, host, port) of a URL as libcurl's own parser sees it; nullopt when unparsable.
std::optional<std::string> origin_of(const std::string& url) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  std::string out;
  for (const CURLUPart part : {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT}) {
    char* value = nullptr;
    if (curl_url_get(u.get(), part, &value, CURLU_DEFAULT_PORT) != CURLUE_OK) return std::nullopt;
    out += lower(value);
    out += '|';
    curl_free(value);
  }
  return out;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

bool is_http_url(std::string_view url) {
  const std::string head = lower(url.substr(0, 8));
  return head.rfind("http://", 0) == 0 || head.rfind("https://", 0) == 0;
}

bool same_origin(const std::string& a, const std::string& b) {
  const auto oa = origin_of(a);
  return oa && oa == origin_of(b);
}

std::string redact_url(std::string_view url) { return s2prep::redact_url(url); }

std::string HttpResponse::header(std::string_view name) const {
  const auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool is_retryable_status(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  double seconds = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size()) {
    if (!(seconds >= 0)) return milliseconds(0);
    return milliseconds(static_cast<long long>(std::min(seconds, 1e9) * 1000.0));
  }
  ensure_curl_initialised();
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const auto delta = system_clock::from_time_t(when) - now;
  return std::max(milliseconds(0), duration_cast<milliseconds>(delta));
}

void require_success(const HttpResponse& response, std::string_view url, std::string_view what,
                     std::string_view advice) {
  if (response.ok()) return;
  const std::string safe = redact_url(url);
  throw RemoteError(
      fmt::format("{} at {} answered HTTP {}; {}.", what, safe, response.status, advice), safe,
      response.status);
}

struct HttpClient::Impl {
  std::mutex mutex;
  std::vector<CurlEasy> idle;  // handles kept for connection reuse
  std::mt19937_64 rng;

  CurlEasy acquire() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        CurlEasy h = std::move(idle.back());
        idle.pop_back();
        return h;
      }
    }
    CurlEasy h(curl_easy_init());
    if (!h) throw Error("libcurl could not create a handle (out of memory?).");
    return h;
  }

  void release(CurlEasy h) {
    constexpr std::size_t kMaxIdle = 8;
    std::lock_guard lock(mutex);
    if (idle.size() < kMaxIdle) idle.push_back(std::move(h));
  }

  Attempt exchange(const HttpRequest& request, const HttpOptions& options, milliseconds time_left);

  milliseconds jitter(milliseconds cap) {
    if (cap.count() <= 0) return milliseconds(0);
    std::lock_guard lock(mutex);
    std::uniform_int_distribution<long long> dist(0, cap.count());
    return milliseconds(dist(rng));
  }
};

HttpClient::HttpClient(HttpOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  ensure_curl_initialised();
  impl_->rng.seed(options_.jitter_seed != 0 ? options_.jitter_seed : std::random_device{}());
  if (!options_.sleep) {
    options_.sleep = [](milliseconds d) { std::this_thread::sleep_for(d); };
  }
  options_.retry.max_attempts = std::max(1, options_.retry.max_attempts);
  if (options_.retry.max_total.count() <= 0) options_.retry.max_total = milliseconds(120'000);
}

HttpClient::~HttpClient() = default;

namespace {

// One request to one URL (no redirects followed), bounded by `timeout`.
Attempt perform(CURL* h, const HttpRequest& request, const HttpOptions& options,
                milliseconds timeout) {
  curl_easy_reset(h);
  Attempt attempt;
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // required when several threads use libcurl
  // Redirects are followed by HttpClient::exchange (secret headers must not travel to another
  // origin, which libcurl only guarantees for Authorization and Cookie). The protocol lists are a
  // second fence should anything ever turn following back on.
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_limit);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.low_speed_time.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<long long>(1, timeout.count())));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &attempt.response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &attempt.response);

  CurlSlist headers;
  for (const auto& [name, value] : request.headers) append(headers, name + ": " + value);
  for (const auto& [name, value] : request.secret_headers) append(headers, name + ": " + value);
  if (request.method == "POST") {
    // Without this curl waits for "100 Continue" on larger bodies, which some servers never send.
    append(headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    throw Error(
        fmt::format("Unsupported HTTP method {} for {}.", request.method, redact_url(request.url)));
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  attempt.code = curl_easy_perform(h);
  if (attempt.code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    attempt.response.status = static_cast<int>(status);
    char* location = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location) {
      attempt.redirect_url = location;
    }
  }
  return attempt;
}

// A refusal that no retry can change: thrown at once.
[[noreturn]] void refuse(const HttpRequest& request, const std::string& what) {
  const std::string safe = redact_url(request.url);
  throw RemoteError(fmt::format("{} {} {}; s2prep only follows http and https URLs and at most a "
                                "few redirects, so check the service's URL.",
                                request.method, safe, what),
                    safe, 0);
}

std::string advice_for(int status, CURLcode code) {
  if (status == 429) return "the service is rate-limiting, wait a few minutes and try again";
  if (status >= 500) return "the service is unavailable or overloaded, try again later";
  if (code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_CONNECT) {
    return "check the URL and the network connection";
  }
  return "check the network connection and try again later";
}

}  // namespace

// One attempt: the request and the redirects it leads to, within `time_left`.
Attempt HttpClient::Impl::exchange(const HttpRequest& request, const HttpOptions& options,
                                   milliseconds time_left) {
  const auto started = steady_clock::now();
  HttpRequest hop = request;
  for (int redirects = 0;; ++redirects) {
    milliseconds timeout = time_left - duration_cast<milliseconds>(steady_clock::now() - started);
    if (options.transfer_timeout.count() > 0) timeout = std::min(timeout, options.transfer_timeout);
    if (timeout.count() <= 0) {
      Attempt out_of_time;
      out_of_time.code = CURLE_OPERATION_TIMEDOUT;
      return out_of_time;
    }
    CurlEasy handle = acquire();
    Attempt attempt = perform(handle.get(), hop, options, timeout);
    // A handle whose transfer failed may hold a broken connection: do not reuse it.
    if (attempt.code == CURLE_OK) release(std::move(handle));
    if (attempt.code != CURLE_OK || !is_redirect(attempt.response.status) ||
        attempt.redirect_url.empty()) {
      return attempt;
    }
    if (redirects >= options.max_redirects) {
      refuse(request, fmt::format("was redirected more than {} times", options.max_redirects));
    }
    if (!is_http_url(attempt.redirect_url)) {
      const auto colon = attempt.redirect_url.find(':');
      refuse(request, fmt::format("was redirected to a URL of scheme {}, not http or https",
                                  colon == std::string::npos
                                      ? std::string("(none)")
                                      : lower(attempt.redirect_url.substr(0, colon))));
    }
    const int status = attempt.response.status;
    // As browsers and libcurl do: 303, and 301/302 after a POST, continue as a GET.
    if (status == 303 || ((status == 301 || status == 302) && hop.method == "POST")) {
      hop.method = "GET";
      hop.body.clear();
      std::erase_if(hop.headers, [](const auto& h) { return lower(h.first) == "content-type"; });
    }
    if (!same_origin(attempt.redirect_url, request.url)) hop.secret_headers.clear();
    spdlog::debug("{} {} redirected ({}) to {}", request.method, redact_url(hop.url), status,
                  redact_url(attempt.redirect_url));
    hop.url = attempt.redirect_url;
  }
}

HttpResponse HttpClient::send(const HttpRequest& request) {
  const RetryPolicy& policy = options_.retry;
  const std::string safe_url = redact_url(request.url);
  if (!is_http_url(request.url)) refuse(request, "is not an http or https URL");
  milliseconds spent{0};  // time in attempts plus time waited: the budget of max_total
  Attempt last;
  int attempts = 0;
  bool budget_exhausted = false;
  for (int i = 0; i < policy.max_attempts; ++i) {
    const auto started = steady_clock::now();
    last = impl_->exchange(request, options_, policy.max_total - spent);
    spent += duration_cast<milliseconds>(steady_clock::now() - started);
    ++attempts;
    if (spent >= policy.max_total && last.code != CURLE_OK) budget_exhausted = true;

    const bool retryable = last.code != CURLE_OK || is_retryable_status(last.response.status);
    if (!retryable) return std::move(last.response);
    if (i + 1 == policy.max_attempts || budget_exhausted) break;

    // Exponential backoff with full jitter (uniform in [0, min(max, base * 2^i)]), unless the
    // server said how long to wait.
    const milliseconds ceiling =
        std::min(policy.max_delay, milliseconds(policy.base_delay.count() << std::min(i, 30)));
    milliseconds wait = impl_->jitter(ceiling);
    if (last.code == CURLE_OK) {
      if (auto hint = parse_retry_after(last.response.header("retry-after"))) {
        wait = std::min(*hint, policy.max_delay);
      }
    }
    if (spent + wait > policy.max_total) {
      budget_exhausted = true;
      break;
    }
    const std::string cause = last.code == CURLE_OK ? fmt::format("HTTP {}", last.response.status)
                                                    : std::string(curl_easy_strerror(last.code));
    spdlog::warn("{} {}: {}; retrying in {:.1f} s (attempt {} of {})", request.method, safe_url,
                 cause, wait.count() / 1000.0, i + 2, policy.max_attempts);
    options_.sleep(wait);
    spent += wait;
  }

  const int status = last.code == CURLE_OK ? last.response.status : 0;
  const std::string cause = last.code == CURLE_OK
                                ? fmt::format("HTTP {}", status)
                                : fmt::format("\"{}\"", curl_easy_strerror(last.code));
  const std::string limit = budget_exhausted
                                ? fmt::format("{} attempts within the {:.0f} s retry budget",
                                              attempts, policy.max_total.count() / 1000.0)
                                : fmt::format("{} attempts", attempts);
  throw RemoteError(fmt::format("{} {} failed with {} after {}; {}.", request.method, safe_url,
                                cause, limit, advice_for(status, last.code)),
                    safe_url, status);
}

HttpResponse HttpClient::get(const std::string& url, const Headers& headers) {
  return send({"GET", url, headers, {}, {}});
}

HttpResponse HttpClient::head(const std::string& url, const Headers& headers) {
  return send({"HEAD", url, headers, {}, {}});
}

HttpResponse HttpClient::post_json(const std::string& url, const nlohmann::json& body,
                                   const Headers& headers) {
  HttpRequest request{"POST", url, headers, body.dump(), {}};
  request.headers.emplace_back("Content-Type", "application/json");
  return send(request);
}

}  // namespace s2prep::net
