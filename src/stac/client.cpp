#include "stac/client.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>
#include <utility>

#include "core/errors.hpp"
#include "core/json_limits.hpp"

namespace s2prep::stac {
namespace {

using nlohmann::json;

[[noreturn]] void malformed(const std::string& url, std::string_view what, int status) {
  const std::string safe = net::redact_url(url);
  throw RemoteError(fmt::format("The STAC search at {} returned {}; check that --stac-url names a "
                                "STAC API root and try again later.",
                                safe, what),
                    safe, status);
}

// Resolves a link href against the URL of the page it came from (absolute hrefs are the norm,
// but "/api/stac/v1/search" and "search?x" occur).
std::string resolve(const std::string& href, const std::string& base) {
  if (href.find("://") != std::string::npos) return href;
  const auto scheme = base.find("://");
  const auto host_end =
      scheme == std::string::npos ? std::string::npos : base.find('/', scheme + 3);
  const std::string origin = host_end == std::string::npos ? base : base.substr(0, host_end);
  if (!href.empty() && href[0] == '/') return origin + href;
  const std::string path = net::redact_url(base);  // drop the query before taking the folder
  const auto slash = path.rfind('/');
  return (slash == std::string::npos || slash < origin.size() ? origin + "/"
                                                              : path.substr(0, slash + 1)) +
         href;
}

struct Page {
  std::string method;
  std::string url;
  json body;  // POST only

  std::string key() const {
    return method + ' ' + url + ' ' + (method == "POST" ? body.dump() : "");
  }
};

}  // namespace

json SearchRequest::to_json() const {
  json body = json::object();
  if (!collections.empty()) body["collections"] = collections;
  if (bbox) body["bbox"] = *bbox;
  if (intersects) body["intersects"] = *intersects;
  if (!datetime.empty()) body["datetime"] = datetime;
  body["limit"] = limit;
  return body;
}

StacClient::StacClient(std::string root_url, net::HttpClient& http)
    : root_url_(std::move(root_url)), http_(http) {
  while (!root_url_.empty() && root_url_.back() == '/') root_url_.pop_back();
}

std::vector<Item> StacClient::search(const SearchRequest& request) {
  std::vector<Item> items;
  std::set<std::pair<std::string, std::string>> seen_items;  // (collection, id)
  std::set<std::string> seen_pages;
  Page page{"POST", root_url_ + "/search", request.to_json()};
  seen_pages.insert(page.key());
  last_page_count_ = 0;

  while (true) {
    if (last_page_count_ >= max_pages_) {
      spdlog::warn(
          "STAC search at {} stopped after {} pages (the page cap); results may be "
          "incomplete: narrow the region or time range.",
          net::redact_url(page.url), max_pages_);
      break;
    }
    const net::HttpResponse response =
        page.method == "POST" ? http_.post_json(page.url, page.body) : http_.get(page.url);
    ++last_page_count_;
    net::require_success(response, page.url, "The STAC search",
                         "check --stac-url and the search parameters (collection, region, dates)");

    json doc;
    try {
      doc = parse_outside_json(response.body, kUnboundedDepth);  // items checked one by one
    } catch (const JsonProblem& e) {
      malformed(page.url, fmt::format("a response that is {}", e.what()), response.status);
    }
    if (!doc.is_object()) malformed(page.url, "JSON that is not an object", response.status);
    if (doc.contains("type") && doc["type"] != "FeatureCollection") {
      malformed(page.url, "a document that is not a FeatureCollection", response.status);
    }
    const auto features = doc.find("features");
    if (features == doc.end() || !features->is_array()) {
      malformed(page.url, "a FeatureCollection without a \"features\" array", response.status);
    }
    if (features->empty()) break;

    bool full = false;
    for (std::size_t i = 0; i < features->size(); ++i) {
      Item item;
      try {
        item = Item::from_json((*features)[i], i);
      } catch (const RemoteError&) {
        throw;
      } catch (const Error& e) {
        // Keep the item's own diagnosis (before its advice) inside this one sentence.
        std::string what = e.what();
        what = what.substr(0, what.find("; "));
        malformed(page.url, fmt::format("an unusable item ({})", what), response.status);
      }
      if (!seen_items.emplace(item.collection, item.id).second) continue;
      items.push_back(std::move(item));
      if (request.max_items && static_cast<int>(items.size()) >= *request.max_items) {
        full = true;
        break;
      }
    }
    if (full) break;

    // The next page.
    const json* next = nullptr;
    if (const auto links = doc.find("links"); links != doc.end() && links->is_array()) {
      for (const auto& link : *links) {
        if (link.is_object() && link.value("rel", "") == "next") {
          next = &link;
          break;
        }
      }
    }
    if (!next) break;
    const auto href = next->find("href");
    if (href == next->end() || !href->is_string()) {
      malformed(page.url, "a \"next\" link without an href", response.status);
    }
    Page following;
    following.method = next->value("method", "GET");
    following.url = resolve(href->get<std::string>(), page.url);
    if (following.method == "POST") {
      following.body = page.method == "POST" ? page.body : request.to_json();
      if (const auto b = next->find("body"); b != next->end()) {
        if (!b->is_object()) malformed(page.url, "a \"next\" link whose body is not an object", 0);
        following.body.update(*b);  // top-level keys of the link replace the previous ones
      }
    } else if (following.method != "GET") {
      malformed(page.url, fmt::format("a \"next\" link with method {}", following.method), 0);
    }
    if (!seen_pages.insert(following.key()).second) {
      spdlog::warn("STAC search at {} returned the same next page again; stopping with {} items.",
                   net::redact_url(following.url), items.size());
      break;
    }
    page = std::move(following);
  }
  return items;
}

}  // namespace s2prep::stac
