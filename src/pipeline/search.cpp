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

SearchOutcome search_all(const Request& request, net::HttpClient& http) {
  request.params.validate();
  if (request.max_cloud_cover &&
      !(*request.max_cloud_cover >= 0.0 && *request.max_cloud_cover <= 100.0)) {
    throw InputError(fmt::format(
        "--max-cloud-cover must be a percentage in [0, 100], not {}; e.g. 30 keeps acquisitions "
        "with at most 30 % cloud cover.",
        *request.max_cloud_cover));
  }
  auto region = geo::Region::parse(request.geometry);
  const auto range = parse_time_range(request.start, request.end);

  stac::SearchRequest query;
  query.collections = {request.services.collection};
  query.intersects = region.lonlat().to_geojson();
  query.datetime = range.stac_interval();
  query.limit = 1000;
  query.max_cloud_cover = request.max_cloud_cover;
  stac::StacClient client(request.services.stac_url, http);
  spdlog::info("Searching {} for {} items from {} to {}",
               net::redact_url(request.services.stac_url), request.services.collection,
               format_time(range.start), format_time(range.end));
  auto found = client.search(query);
  // Catalogue values go into file names and log lines: an item that cannot be named safely, or
  // that lies outside the requested time range, is dropped, never trusted.
  std::erase_if(found.items, [&](const stac::Item& item) {
    const auto reason = stac::unusable_reason(item, range);
    if (reason) spdlog::warn("Ignoring STAC item {}: {}", printable(item.id), *reason);
    return reason.has_value();
  });
  SearchOutcome outcome{std::move(region),         range, found.items.size(), {}, found.complete,
                        std::move(found.warnings), {}};
  if (found.items.empty()) {
    outcome.nothing_found = fmt::format(
        "No {} items intersect the region between {} and {}{}; widen the time range{} or check "
        "the geometry.",
        request.services.collection, format_date(range.start), format_date(range.end),
        request.max_cloud_cover
            ? fmt::format(" with at most {} % cloud cover", *request.max_cloud_cover)
            : "",
        request.max_cloud_cover ? ", raise --max-cloud-cover" : "");
    return outcome;
  }
  spdlog::info("{} items found", outcome.items_found);

  select::SelectionOptions options;
  options.min_tile_cover = request.params.min_tile_cover;
  options.max_tiles_per_time = request.params.max_tiles_per_time;
  options.max_cloud_cover = request.max_cloud_cover;
  outcome.selection = select::select_acquisitions(outcome.region, std::move(found.items), options);
  for (const auto& id : outcome.selection.superseded_item_ids) {
    spdlog::debug("Item {} is superseded by a newer processing of the same product", id);
  }
  for (const auto& s : outcome.selection.skipped) {
    spdlog::info("Skipping acquisition {}: {}", format_time(s.datetime), s.reason);
  }
  if (outcome.selection.acquisitions.empty() && request.max_cloud_cover) {
    outcome.nothing_found = fmt::format(
        "None of the {} acquisitions found has items with at most {} % cloud cover that cover "
        "{:.0f} % of the region (min_tile_cover {}); raise --max-cloud-cover, lower "
        "--min-tile-cover or check the region.",
        outcome.selection.skipped.size(), *request.max_cloud_cover, 100.0 * options.min_tile_cover,
        options.min_tile_cover);
  } else if (outcome.selection.acquisitions.empty()) {
    outcome.nothing_found = fmt::format(
        "None of the {} acquisitions found can cover {:.0f} % of the region (min_tile_cover {}); "
        "lower --min-tile-cover or check the region.",
        outcome.selection.skipped.size(), 100.0 * options.min_tile_cover, options.min_tile_cover);
  }
  return outcome;
}

SearchOutcome search(const Request& request, net::HttpClient& http) {
  auto outcome = search_all(request, http);
  if (!outcome.nothing_found.empty()) {
    if (!outcome.complete) {
      throw Error(fmt::format("{} The search may also be incomplete: narrow the time range.",
                              outcome.nothing_found));
    }
    throw NothingFoundError(outcome.nothing_found);
  }
  return outcome;
}

void require_complete(const SearchOutcome& outcome, bool allow_incomplete) {
  if (outcome.complete) return;
  if (!allow_incomplete) {
    throw Error(
        "The catalogue search may be incomplete (see the warning above), so s2prep will not "
        "start on a possibly partial list of acquisitions: narrow the time range or region, or "
        "pass --allow-incomplete to proceed with the acquisitions found.");
  }
  spdlog::warn(
      "Proceeding with a catalogue search that may be incomplete (--allow-incomplete): "
      "acquisitions may be missing from the outputs.");
}

std::optional<double> acquisition_cloud_cover(const select::Acquisition& acquisition) {
  std::optional<double> worst;
  for (const auto& item : acquisition.items) {
    if (item.cloud_cover) worst = std::max(worst.value_or(*item.cloud_cover), *item.cloud_cover);
  }
  return worst;
}

nlohmann::json outcome_to_json(const SearchOutcome& outcome) {
  // Coverage is floored to 4 decimals so the printed figure never overstates what was covered.
  auto floor4 = [](double v) { return std::floor(v * 1e4) / 1e4; };
  nlohmann::json acquisitions = nlohmann::json::array();
  for (const auto& a : outcome.selection.acquisitions) {
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& item : a.items) ids.push_back(item.id);
    const auto cloud = acquisition_cloud_cover(a);
    acquisitions.push_back({{"datetime", format_time(a.datetime)},
                            {"items", ids},
                            {"tiles", a.tiles},
                            {"coverage", floor4(a.coverage)},
                            {"cloud_cover", cloud ? nlohmann::json(*cloud) : nlohmann::json()}});
  }
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : outcome.selection.skipped) {
    skipped.push_back(
        {{"datetime", format_time(s.datetime)}, {"items", s.item_ids}, {"reason", s.reason}});
  }
  return nlohmann::json{{"acquisitions", acquisitions},
                        {"skipped", skipped},
                        {"complete", outcome.complete},
                        {"warnings", outcome.warnings}};
}

}  // namespace s2prep::pipeline
