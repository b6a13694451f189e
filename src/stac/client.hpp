#pragma once
// STAC API item search (POST /search): paging over `next` links, and where a service gives no
// link or caps its pages silently, continuing by other means until the search is provably
// complete or reported as possibly incomplete.

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "net/http_client.hpp"
#include "stac/item.hpp"

namespace s2prep::stac {

struct SearchRequest {
  std::vector<std::string> collections;
  std::optional<std::array<double, 4>> bbox;  // lon/lat: west, south, east, north
  std::optional<nlohmann::json> intersects;   // GeoJSON geometry
  std::string datetime;                       // "start/end" (TimeRange::stac_interval())
  int limit = 100;                            // page size; Planetary Computer allows up to 1000
  std::optional<int> max_items;               // stop once this many items are collected
  // Sent as the query extension's {"eo:cloud_cover": {"lte": P}}; services that ignore it
  // return cloudier items too, so callers filter again themselves.
  std::optional<double> max_cloud_cover;
  // Ask for pages sorted by id (sortby extension): what lets the search continue by id when the
  // service gives no `next` link.
  bool sort_by_id = true;

  // The POST /search body.
  nlohmann::json to_json() const;
};

struct SearchResult {
  std::vector<Item> items;  // each (collection, id) once, in the order received
  // False when the search may have missed items; `warnings` then says why, in one sentence each.
  bool complete = true;
  std::vector<std::string> warnings;
  // How many items the service said match (numberMatched or context.matched), when it said.
  std::optional<long long> matched;
};

class StacClient {
 public:
  // root_url: the STAC API root (".../api/stac/v1"); search goes to <root>/search.
  // secret_headers (e.g. Authorization for a private catalogue) go to the root's origin only.
  StacClient(std::string root_url, net::HttpClient& http, net::Headers secret_headers = {});

  // Runs the search. It follows `next` links: a POST link's `body` is merged key by key into the
  // previous body (Planetary Computer sends the full body, Earth Search only the token; merging
  // serves both); a GET link is fetched as is. A page without a `next` link is not taken as the
  // last one unless the service's count (numberMatched / context.matched) is reached or the
  // page is smaller than the largest page seen (services cap pages below `limit` without
  // saying so). Otherwise the search continues with the items after the last one received:
  // by id (`query` {"id": {"gte": last}}) when the pages come sorted by id, else by narrowing
  // the datetime range when they come in time order; it ends when a continuation brings
  // nothing new. When completeness cannot be established (the page cap, a repeated link,
  // max_items, pages in no usable order, fewer items than the service counted) the result
  // says so in `complete` and `warnings`.
  //
  // Items repeated across pages are kept once. Throws RemoteError naming the (redacted) URL
  // when a response is not a FeatureCollection or an item cannot be parsed.
  SearchResult search(const SearchRequest& request);

  // A stop request ends a search between two pages (Cancelled).
  void set_stop(std::stop_token stop) { stop_ = std::move(stop); }

  // A safety net against servers that page forever with fresh tokens (counts every request).
  void set_max_pages(int pages) { max_pages_ = pages; }
  // Requests made by the last search().
  int last_page_count() const { return last_page_count_; }

  const std::string& root_url() const { return root_url_; }

 private:
  std::string root_url_;
  net::HttpClient& http_;
  net::Headers secret_headers_;
  std::stop_token stop_;
  int max_pages_ = 1000;
  int last_page_count_ = 0;
};

}  // namespace s2prep::stac
