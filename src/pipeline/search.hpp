#pragma once
// Step one of the workflow: find the Sentinel-2 items for the region and time range, and select
// per acquisition the tiles to use (SPEC §2 s2.list and s2.filter, §3).

#include "core/time.hpp"
#include "geo/region.hpp"
#include "pipeline/request.hpp"
#include "select/selection.hpp"

namespace s2prep::net {
class HttpClient;
}

namespace s2prep::pipeline {

struct SearchOutcome {
  geo::Region region;
  TimeRange range;
  std::size_t items_found = 0;
  select::Selection selection;
};

// Throws InputError for a bad geometry, dates or parameters, NothingFoundError when the
// catalogue has no items or no acquisition can cover the region, RemoteError when the STAC API
// fails.
SearchOutcome search(const Request& request, net::HttpClient& http);

// The INTERFACE.md JSON of `s2prep search --json`.
nlohmann::json selection_to_json(const select::Selection& selection);

}  // namespace s2prep::pipeline
