#include "pipeline/search.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "net/http_client.hpp"
#include "stac/client.hpp"
#include "stac/item_checks.hpp"

namespace s2prep::pipeline {

SearchOutcome search(const Request& request, net::HttpClient& http) {
  request.params.validate();
  auto region = geo::Region::parse(request.geometry);
  const auto range = parse_time_range(request.start, request.end);

  stac::SearchRequest query;
  query.collections = {request.services.collection};
  query.intersects = region.lonlat().to_geojson();
  query.datetime = range.stac_interval();
  query.limit = 1000;
  stac::StacClient client(request.services.stac_url, http);
  spdlog::info("Searching {} for {} items from {} to {}",
               net::redact_url(request.services.stac_url), request.services.collection,
               format_time(range.start), format_time(range.end));
  auto items = client.search(query);
  // Catalogue values go into file names and log lines: an item that cannot be named safely, or
  // that lies outside the requested time range, is dropped, never trusted.
  std::erase_if(items, [&](const stac::Item& item) {
    const auto reason = stac::unusable_reason(item, range);
    if (reason) spdlog::warn("Ignoring STAC item {}: {}", printable(item.id), *reason);
    return reason.has_value();
  });
  const std::size_t found = items.size();
  if (items.empty()) {
    throw NothingFoundError(fmt::format(
        "No {} items intersect the region between {} and {}; widen the time range or check the "
        "geometry.",
        request.services.collection, format_date(range.start), format_date(range.end)));
  }
  spdlog::info("{} items found", found);

  select::SelectionOptions options;
  options.min_tile_cover = request.params.min_tile_cover;
  options.max_tiles_per_time = request.params.max_tiles_per_time;
  auto selection = select::select_acquisitions(region, std::move(items), options);
  for (const auto& id : selection.superseded_item_ids) {
    spdlog::debug("Item {} is superseded by a newer processing of the same product", id);
  }
  for (const auto& s : selection.skipped) {
    spdlog::info("Skipping acquisition {}: {}", format_time(s.datetime), s.reason);
  }
  if (selection.acquisitions.empty()) {
    throw NothingFoundError(fmt::format(
        "None of the {} acquisitions found can cover {:.0f} % of the region (min_tile_cover {}); "
        "lower --min-tile-cover or check the region.",
        selection.skipped.size(), 100.0 * options.min_tile_cover, options.min_tile_cover));
  }
  return SearchOutcome{std::move(region), range, found, std::move(selection)};
}

nlohmann::json selection_to_json(const select::Selection& selection) {
  // Coverage is floored to 4 decimals so the printed figure never overstates what was covered.
  auto floor4 = [](double v) { return std::floor(v * 1e4) / 1e4; };
  nlohmann::json acquisitions = nlohmann::json::array();
  for (const auto& a : selection.acquisitions) {
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& item : a.items) ids.push_back(item.id);
    acquisitions.push_back({{"datetime", format_time(a.datetime)},
                            {"items", ids},
                            {"tiles", a.tiles},
                            {"coverage", floor4(a.coverage)}});
  }
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : selection.skipped) {
    skipped.push_back(
        {{"datetime", format_time(s.datetime)}, {"items", s.item_ids}, {"reason", s.reason}});
  }
  return nlohmann::json{{"acquisitions", acquisitions}, {"skipped", skipped}};
}

}  // namespace s2prep::pipeline
