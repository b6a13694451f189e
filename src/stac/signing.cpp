#include "stac/signing.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <s2prep/errors.hpp>
#include "core/json_limits.hpp"
#include "core/time.hpp"

namespace s2prep::stac {
namespace {

using nlohmann::json;
using std::chrono::system_clock;

// Collection ids are plain ([a-z0-9-]); anything else would change the URL's meaning.
std::string path_segment(const std::string& collection) {
  std::string out;
  for (unsigned char c : collection) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace

struct TokenCache::Entry {
  std::mutex mutex;  // held while fetching, so concurrent signers wait for one fetch
  std::string token;
  system_clock::time_point refresh_at{};  // expiry less the safety margin
};

TokenCache::TokenCache(net::HttpClient& http, std::string token_base_url,
                       std::optional<std::string> subscription_key, TokenCacheOptions options)
    : http_(http),
      base_url_(std::move(token_base_url)),
      key_(std::move(subscription_key)),
      options_(std::move(options)),
      enabled_(!base_url_.empty() && base_url_ != "none") {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  if (key_ && key_->empty()) key_.reset();
  if (!options_.now) options_.now = [] { return system_clock::now(); };
}

TokenCache::~TokenCache() = default;

std::shared_ptr<TokenCache::Entry> TokenCache::entry(const std::string& collection) {
  std::lock_guard lock(mutex_);
  auto& e = entries_[collection];
  if (!e) e = std::make_shared<Entry>();
  return e;
}

int TokenCache::fetch_count() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

void TokenCache::invalidate(const std::string& collection) {
  const auto e = entry(collection);
  std::lock_guard lock(e->mutex);
  e->token.clear();
  e->refresh_at = {};
}

void TokenCache::invalidate(const std::string& collection, const std::string& refused_href) {
  const auto e = entry(collection);
  std::lock_guard lock(e->mutex);
  // The token ends the signed href (sign() appends it); one that is no longer current was
  // already replaced by another reader's refresh.
  if (e->token.empty() || !refused_href.ends_with(e->token)) return;
  e->token.clear();
  e->refresh_at = {};
}

std::string TokenCache::token(const std::string& collection) {
  if (!enabled_) return {};
  const auto e = entry(collection);
  std::lock_guard lock(e->mutex);
  const auto now = options_.now();
  if (e->token.empty() || now >= e->refresh_at) {
    system_clock::time_point expiry;
    std::string fresh = fetch(collection, expiry);
    // A token that lives less than twice the margin is refreshed at half its life instead, so
    // a short-lived token is still reused rather than fetched for every href.
    const auto life = std::max(system_clock::duration::zero(), expiry - options_.now());
    const auto margin = std::min<system_clock::duration>(options_.refresh_margin, life / 2);
    e->token = std::move(fresh);
    e->refresh_at = expiry - margin;
  }
  return e->token;
}

std::string url_host(const std::string& url) {
  if (!net::is_http_url(url)) return {};
  const auto host_start = url.find("://") + 3;
  auto authority_end = url.find_first_of("/?#", host_start);
  if (authority_end == std::string::npos) authority_end = url.size();
  std::string host = url.substr(host_start, authority_end - host_start);
  if (const auto at = host.rfind('@'); at != std::string::npos) host.erase(0, at + 1);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);  // an IPv6 literal keeps its colons
  } else if (const auto colon = host.find(':'); colon != std::string::npos) {
    host.erase(colon);
  }
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

bool href_needs_signing(const std::string& href, const std::string& token_url,
                        const std::vector<std::string>& storage_hosts) {
  const std::string host = url_host(href);
  if (host.empty()) return false;
  if (host.ends_with(".blob.core.windows.net")) return true;
  if (host == url_host(token_url)) return true;
  for (std::string allowed : storage_hosts) {
    std::transform(allowed.begin(), allowed.end(), allowed.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (allowed.empty()) continue;
    if (allowed.front() == '.' ? (host.ends_with(allowed) || host == allowed.substr(1))
                               : host == allowed) {
      return true;
    }
  }
  return false;
}

std::string TokenCache::sign(const std::string& href, const std::string& collection) {
  if (!enabled_) return href;
  const std::string t = token(collection);
  return href + (href.find('?') == std::string::npos ? "?" : "&") + t;
}

TokenResponse parse_token_response(std::string_view body) {
  json doc;
  try {
    doc = parse_outside_json(body);
  } catch (const JsonProblem&) {
    throw std::invalid_argument("something that is not JSON");
  }
  const auto token = doc.is_object() ? doc.find("token") : doc.end();
  if (token == doc.end() || !token->is_string() || token->get_ref<const std::string&>().empty()) {
    throw std::invalid_argument("without a token");
  }
  TokenResponse out;
  out.token = token->get<std::string>();
  const auto first = out.token.find_first_not_of("?&");
  out.token.erase(0, first == std::string::npos ? out.token.size() : first);
  if (out.token.empty()) throw std::invalid_argument("without a token");
  const auto expiry = doc.find("msft:expiry");
  if (expiry != doc.end() && expiry->is_string()) {
    // system_clock counts nanoseconds: beyond about +-292 years of 1970 the conversion would
    // overflow, and such an expiry is no more readable than a malformed one.
    using std::chrono::duration_cast;
    constexpr auto kMax = duration_cast<std::chrono::microseconds>(system_clock::duration::max());
    constexpr auto kMin = duration_cast<std::chrono::microseconds>(system_clock::duration::min());
    const auto t = parse_time(expiry->get_ref<const std::string&>());
    if (t && t->time_since_epoch() < kMax && t->time_since_epoch() > kMin) {
      out.expiry =
          system_clock::time_point(duration_cast<system_clock::duration>(t->time_since_epoch()));
    } else {
      out.expiry_unreadable = true;
    }
  }
  return out;
}

std::string TokenCache::fetch(const std::string& collection, system_clock::time_point& expiry) {
  const std::string url = base_url_ + "/" + path_segment(collection);
  net::HttpRequest request;
  request.url = url;
  // A secret header: the client never sends it to another origin, should the service redirect.
  if (key_) request.secret_headers.emplace_back("Ocp-Apim-Subscription-Key", *key_);
  // 429 (the service's answer under load) is retried by the client, honouring Retry-After.
  const net::HttpResponse response = http_.send(request);
  {
    std::lock_guard lock(mutex_);
    ++fetches_;
  }
  if (response.status == 401 || response.status == 403) {
    throw RemoteError(
        fmt::format("The token service at {} refused to sign collection {} (HTTP {}); {}.",
                    net::redact_url(url), collection, response.status,
                    key_ ? "check the subscription key given by --pc-key or PC_SDK_SUBSCRIPTION_KEY"
                         : "give a subscription key with --pc-key or PC_SDK_SUBSCRIPTION_KEY"),
        net::redact_url(url), response.status);
  }
  net::require_success(response, url,
                       fmt::format("The token service for collection {}", collection),
                       "check --token-url, or pass --token-url none when blobs need no signing");

  // The body holds the token: never quote it in a message.
  const auto bad = [&](std::string_view what) {
    return RemoteError(fmt::format("The token service at {} answered {} for collection {}; check "
                                   "--token-url.",
                                   net::redact_url(url), what, collection),
                       net::redact_url(url), response.status);
  };
  TokenResponse parsed;
  try {
    parsed = parse_token_response(response.body);
  } catch (const std::invalid_argument& e) {
    throw bad(e.what());
  }
  const auto now = options_.now();
  expiry = parsed.expiry.value_or(now + options_.default_lifetime);
  if (parsed.expiry_unreadable) {
    spdlog::warn("The token service at {} gave an unreadable msft:expiry; assuming {} s.",
                 net::redact_url(url), options_.default_lifetime.count());
  }
  std::string token = std::move(parsed.token);
  spdlog::debug("Fetched a SAS token for collection {}, valid until {}", collection,
                format_time(std::chrono::time_point_cast<std::chrono::microseconds>(expiry)));
  return token;
}

}  // namespace s2prep::stac
