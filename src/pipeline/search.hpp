#pragma once
// Step one of the workflow: find the Sentinel-2 items for the region and time range, and select
// per acquisition the tiles to use (the reference's s2.list and s2.filter, with exact tile
// selection).

#include <stop_token>
#include <string>
#include <vector>

#include <s2prep/options.hpp>
#include <s2prep/results.hpp>
#include "core/time.hpp"
#include "geo/region.hpp"
#include "select/selection.hpp"

namespace s2prep::net {
class HttpClient;
}

namespace s2prep::pipeline {

struct SearchOutcome {
  geo::Region region;
  TimeRange range;
  std::size_t items_found = 0;
  std::vector<stac::Item> items;  // every usable item found, as received
  select::Selection selection;
  // False when the catalogue search may have missed items (see warnings): the selection may
  // then lack acquisitions.
  bool complete = true;
  std::vector<std::string> warnings;  // one sentence each
  // Empty when acquisitions were found, else the sentence of the NothingFoundError search()
  // throws.
  std::string nothing_found;
};

// Throws InputError for a bad geometry, dates or parameters, NothingFoundError when the
// catalogue has no items or no acquisition can cover the region (Error instead when the search
// may also be incomplete), RemoteError when the STAC API fails.
SearchOutcome search(const Request& request, net::HttpClient& http, std::stop_token stop = {});

// As search(), but an outcome without acquisitions is returned (with `nothing_found` set)
// rather than thrown, so that its skipped acquisitions can still be reported.
SearchOutcome search_all(const Request& request, net::HttpClient& http, std::stop_token stop = {});

// Throws Error (one sentence) when the outcome may be incomplete and `allow_incomplete` is
// false; with it, logs a warning.
void require_complete(const SearchOutcome& outcome, bool allow_incomplete);

// The skipped acquisitions of a selection as the library returns them.
std::vector<SkippedAcquisition> skipped_acquisitions(const select::Selection& selection);

// The outcome as the library returns it (with every item found as its STAC JSON).
SearchResult search_result(const SearchOutcome& outcome);

// The JSON object of `s2prep search --json`: acquisitions (with their cloud cover), skipped
// acquisitions, and whether the search is complete (with its warnings).
nlohmann::json search_json(const SearchResult& result);

// The largest eo:cloud_cover (percent) of an acquisition's selected items, when any is known:
// the cloudiest tile used, so the figure never understates the clouds.
std::optional<double> acquisition_cloud_cover(const select::Acquisition& acquisition);

}  // namespace s2prep::pipeline
