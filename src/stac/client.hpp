#pragma once
// STAC API item search (POST /search) with paging over `next` links.

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
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

  // The POST /search body.
  nlohmann::json to_json() const;
};

class StacClient {
 public:
  // root_url: the STAC API root (".../api/stac/v1"); search goes to <root>/search.
  StacClient(std::string root_url, net::HttpClient& http);

  // Runs the search and follows `next` links until the last page. A POST link's `body` is
  // merged key by key into the previous body (Planetary Computer sends the full body, Earth
  // Search only the token; merging serves both); a GET link is fetched as is. Paging stops on a
  // missing link, an empty page, a link seen before (a server repeating its token), max_items,
  // or the page cap. Items repeated across pages are kept once. Throws RemoteError naming the
  // (redacted) URL when a response is not a FeatureCollection or an item cannot be parsed.
  std::vector<Item> search(const SearchRequest& request);

  // A safety net against servers that page forever with fresh tokens.
  void set_max_pages(int pages) { max_pages_ = pages; }
  // Pages fetched by the last search().
  int last_page_count() const { return last_page_count_; }

  const std::string& root_url() const { return root_url_; }

 private:
  std::string root_url_;
  net::HttpClient& http_;
  int max_pages_ = 1000;
  int last_page_count_ = 0;
};

}  // namespace s2prep::stac
