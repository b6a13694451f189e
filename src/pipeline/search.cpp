#include "pipeline/search.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include <s2prep/errors.hpp>
#include <s2prep/s2prep.hpp>
#include "core/json_limits.hpp"
#include "core/text.hpp"
#include "net/http_client.hpp"
#include "pipeline/session.hpp"
#include "stac/client.hpp"
#include "stac/item_checks.hpp"

namespace s2prep::pipeline {
namespace {

stac::SearchResult catalogue_items(const Request& request, const geo::Region& region,
                                   const TimeRange& range, net::HttpClient& http,
                                   std::stop_token stop) {
  stac::SearchRequest query;
  query.collections = {request.services.collection};
  query.intersects = region.lonlat().to_geojson();
  query.datetime = range.stac_interval();
  query.limit = 1000;
  query.max_cloud_cover = request.max_cloud_cover;
  net::Headers secret_headers(request.http.stac_headers.begin(), request.http.stac_headers.end());
  stac::StacClient client(request.services.stac_url, http, std::move(secret_headers));
  client.set_stop(std::move(stop));
  spdlog::info("Searching {} for {} items from {} to {}",
               net::redact_url(request.services.stac_url), request.services.collection,
               format_time(range.start), format_time(range.end));
  return client.search(query);
}

// Items the caller already has: parsed and checked like a catalogue's; those whose bounding box
// misses the region's are dropped (the time range is checked with every item below).
stac::SearchResult given_items(const std::vector<std::string>& texts, const geo::Region& region) {
  stac::SearchResult found;
  const auto r = region.bbox();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    stac::Item item;
    try {
      item = stac::Item::from_json(parse_outside_json(texts[i]), i);
    } catch (const JsonProblem& e) {
      throw InputError(
          fmt::format("Given STAC item {} is {}; pass the Items as returned by a "
                      "search (GeoJSON Features).",
                      i, e.what()));
    } catch (const Error& e) {
      throw InputError(fmt::format("Given STAC item {} cannot be used: {}", i, e.what()));
    }
    const auto& b = item.bbox;
    if (b[0] > r[2] || b[2] < r[0] || b[1] > r[3] || b[3] < r[1]) continue;
    found.items.push_back(std::move(item));
  }
  spdlog::info("Selecting from {} given items ({} near the region)", texts.size(),
               found.items.size());
  return found;
}

}  // namespace

SearchOutcome search_all(const Request& request, net::HttpClient& http, std::stop_token stop) {
  request.validate();
  auto region = geo::Region::parse(request.geometry);
  const auto range = parse_time_range(request.start, request.end);

  auto found = request.items ? given_items(*request.items, region)
                             : catalogue_items(request, region, range, http, std::move(stop));
  // Catalogue values go into file names and log lines: an item that cannot be named safely, or
  // that lies outside the requested time range, is dropped, never trusted.
  std::erase_if(found.items, [&](const stac::Item& item) {
    const auto reason = stac::unusable_reason(item, range);
    if (reason) spdlog::warn("Ignoring STAC item {}: {}", printable(item.id), *reason);
    return reason.has_value();
  });
  SearchOutcome outcome{.region = std::move(region),
                        .range = range,
                        .items_found = found.items.size(),
                        .items = {},
                        .selection = {},
                        .complete = found.complete,
                        .warnings = std::move(found.warnings),
                        .nothing_found = {}};
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
  outcome.items = found.items;
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

SearchOutcome search(const Request& request, net::HttpClient& http, std::stop_token stop) {
  auto outcome = search_all(request, http, std::move(stop));
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

std::vector<SkippedAcquisition> skipped_acquisitions(const select::Selection& selection) {
  std::vector<SkippedAcquisition> skipped;
  for (const auto& s : selection.skipped) {
    skipped.push_back({format_time(s.datetime), s.item_ids, s.reason, {}});
  }
  return skipped;
}

SearchResult search_result(const SearchOutcome& outcome) {
  SearchResult result;
  for (const auto& a : outcome.selection.acquisitions) {
    Acquisition acquisition;
    acquisition.datetime = format_time(a.datetime);
    for (const auto& item : a.items) acquisition.item_ids.push_back(item.id);
    acquisition.tiles = a.tiles;
    acquisition.coverage = a.coverage;
    acquisition.cloud_cover = acquisition_cloud_cover(a);
    result.acquisitions.push_back(std::move(acquisition));
  }
  result.skipped = skipped_acquisitions(outcome.selection);
  result.items_found = outcome.items_found;
  result.complete = outcome.complete;
  result.warnings = outcome.warnings;
  result.nothing_found = outcome.nothing_found;
  for (const auto& item : outcome.items) result.items.push_back(item.raw.dump());
  result.region_wkt = outcome.region.lonlat().to_wkt();
  result.start = format_time(outcome.range.start);
  result.end = format_time(outcome.range.end);
  return result;
}

nlohmann::json search_json(const SearchResult& result) {
  // Coverage is floored to 4 decimals so the printed figure never overstates what was covered.
  auto floor4 = [](double v) { return std::floor(v * 1e4) / 1e4; };
  nlohmann::json acquisitions = nlohmann::json::array();
  for (const auto& a : result.acquisitions) {
    acquisitions.push_back(
        {{"datetime", a.datetime},
         {"items", a.item_ids},
         {"tiles", a.tiles},
         {"coverage", floor4(a.coverage)},
         {"cloud_cover", a.cloud_cover ? nlohmann::json(*a.cloud_cover) : nlohmann::json()}});
  }
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : result.skipped) {
    skipped.push_back({{"datetime", s.datetime}, {"items", s.item_ids}, {"reason", s.reason}});
  }
  return nlohmann::json{{"acquisitions", acquisitions},
                        {"skipped", skipped},
                        {"complete", result.complete},
                        {"warnings", result.warnings}};
}

}  // namespace s2prep::pipeline

namespace s2prep {

std::string SearchResult::to_json() const { return pipeline::search_json(*this).dump(); }

SearchResult search(const Request& request, std::stop_token stop) {
  initialize();
  request.validate();
  const Request resolved = pipeline::with_environment_defaults(request);
  net::HttpClient http(pipeline::http_options(resolved));
  return pipeline::search_result(pipeline::search_all(resolved, http, std::move(stop)));
}

}  // namespace s2prep
