#pragma once
// One page of a STAC item search: its items, its `next` link and the count the service says
// matched. Kept apart from the paging so that a single untrusted response can be checked alone.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stac/item.hpp"

namespace s2prep::stac {

// Where the service says the following page is.
struct NextLink {
  std::string method;                  // "GET" or "POST"
  std::string url;                     // resolved against the page's URL
  std::optional<nlohmann::json> body;  // POST only: keys to merge into the previous body
};

struct SearchPage {
  std::vector<Item> items;  // in the order of the response
  std::optional<NextLink> next;
  // `numberMatched`, else `context.matched`: how many items the whole search matches, when the
  // service counts them (Planetary Computer does not).
  std::optional<long long> matched;
};

// Parses one search response `doc` fetched from `url` (`status` is its HTTP status, reported in
// errors). Throws RemoteError naming the (redacted) URL when the document is not a
// FeatureCollection, an item cannot be parsed, or the `next` link is unusable.
SearchPage parse_search_page(const nlohmann::json& doc, const std::string& url, int status = 200);

// The RemoteError of a search response that cannot be used: one sentence naming the redacted
// URL and `what` was wrong.
[[noreturn]] void throw_malformed_search(const std::string& url, std::string_view what, int status);

// Resolves a link href against the URL of the page it came from (absolute hrefs are the norm,
// but "/api/stac/v1/search" and "search?x" occur).
std::string resolve_href(const std::string& href, const std::string& base);

}  // namespace s2prep::stac
