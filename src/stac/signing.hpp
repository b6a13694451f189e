#pragma once
// Planetary Computer SAS signing: one token per collection from the token service, cached and
// refreshed before it expires. The subscription key and the tokens are secrets: they never
// appear in logs or exception messages (URLs are reported through net::redact_url, and the
// token service URL itself carries neither).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_client.hpp"

namespace s2prep::stac {

struct TokenCacheOptions {
  // Refresh a token this long before its msft:expiry, so a download that starts with it finishes
  // before it lapses.
  std::chrono::seconds refresh_margin{300};
  // Used when the service gives no readable msft:expiry.
  std::chrono::seconds default_lifetime{600};
  // The clock (tests move it).
  std::function<std::chrono::system_clock::time_point()> now;
};

// A token service's answer: {"token": "st=...&sig=...", "msft:expiry": "2024-..."}.
struct TokenResponse {
  std::string token;  // without a leading '?' or '&'
  std::optional<std::chrono::system_clock::time_point> expiry;
  bool expiry_unreadable = false;  // msft:expiry present but not a time
};

// Reads a token service's response body. Throws std::invalid_argument whose what() says what the
// body was instead ("something that is not JSON", "without a token"), never quoting the body:
// it holds the secret.
TokenResponse parse_token_response(std::string_view body);

// Thread-safe: reader threads sign concurrently; one fetch per collection at a time.
class TokenCache {
 public:
  // token_base_url: e.g. ".../api/sas/v1/token"; the collection is appended as a path segment.
  // "none" (or empty) disables signing: sign() returns hrefs unchanged.
  TokenCache(net::HttpClient& http, std::string token_base_url,
             std::optional<std::string> subscription_key = std::nullopt,
             TokenCacheOptions options = {});
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  bool enabled() const { return enabled_; }

  // The href with the collection's token appended ("?" + token, or "&" + token when the href
  // already has a query). Throws RemoteError (without any secret) when no token can be had.
  std::string sign(const std::string& href, const std::string& collection);

  // The current token of a collection (fetching one when needed); empty when disabled.
  std::string token(const std::string& collection);

  // Drops the collection's token, e.g. after a blob answered 403; the next sign() fetches anew.
  void invalidate(const std::string& collection);
  // The same after the storage refused `refused_href` (a signed href), but only while that href
  // still carries the collection's current token: when a token expires, every reader holding it
  // is refused at about the same time, and the first to ask gets the one refresh all the others
  // then share, rather than each fetching its own and invalidating the others'.
  void invalidate(const std::string& collection, const std::string& refused_href);

  // Tokens fetched from the service so far (for tests and progress reports).
  int fetch_count() const;

 private:
  struct Entry;
  std::shared_ptr<Entry> entry(const std::string& collection);
  std::string fetch(const std::string& collection, std::chrono::system_clock::time_point& expiry);

  net::HttpClient& http_;
  std::string base_url_;
  std::optional<std::string> key_;
  TokenCacheOptions options_;
  bool enabled_;
  mutable std::mutex mutex_;  // guards entries_ and fetches_
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  int fetches_ = 0;
};

// Whether an asset href gets a SAS token: an http(s) href on
//   - Azure Blob Storage (a host ending in .blob.core.windows.net), where Planetary Computer's
//     data sits, as its own client signs;
//   - the token service's own host (`token_url`): a self-hosted service serving its own storage,
//     as the local test server and demo do (token and blobs on 127.0.0.1);
//   - one of `storage_hosts` (a host, or ".example.com" for it and its subdomains) the user named.
// Anything else (Earth Search's public S3 buckets, any other host a catalogue names, local paths)
// is read as it is: a token must never travel to a host it was not issued for.
bool href_needs_signing(const std::string& href, const std::string& token_url,
                        const std::vector<std::string>& storage_hosts = {});

// The lower-case host of an http(s) URL ("" for anything else, e.g. a local path).
std::string url_host(const std::string& url);

}  // namespace s2prep::stac
