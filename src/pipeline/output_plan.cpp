#include "pipeline/output_plan.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include <s2prep/errors.hpp>
#include <s2prep/s2prep.hpp>

#include "core/bands.hpp"
#include "ingest/grid.hpp"
#include "mask/model_resolution.hpp"
#include "pipeline/memory_budget.hpp"
#include "pipeline/session.hpp"

namespace s2prep::pipeline {

std::vector<OutputUnit> plan_outputs(const SearchOutcome& outcome, const ProcessingOptions& options,
                                     const ingest::HrefSigner& sign, bool bands_on_disk) {
  std::vector<OutputUnit> units;
  if (options.layout == Layout::grid) {
    const Grid grid = ingest::layout_grid(outcome.region);
    spdlog::info("Output grid: {} x {} pixels of 10 m in {}", grid.width, grid.height, grid.crs());
    for (const auto& acq : outcome.selection.acquisitions) {
      OutputUnit u;
      u.acquisition = &acq;
      u.items = acq.items;
      u.tiles = acq.tiles;
      u.grid = grid;
      u.name = "S2_" + format_compact(acq.datetime);
      units.push_back(std::move(u));
    }
  } else {
    for (const auto& acq : outcome.selection.acquisitions) {
      for (const auto& item : acq.items) {
        OutputUnit u;
        u.acquisition = &acq;
        u.items = {item};
        u.tiles = {item.mgrs_tile};
        const std::string key = ingest::default_asset_key(item, "B02");
        const auto asset = item.assets.find(key);
        if (asset == item.assets.end()) {
          throw DataError(
              fmt::format("Item {} has no {} asset to take the tile grid from.", item.id, key));
        }
        // The catalogue is remote: its hrefs never name the machine's own files.
        ingest::require_remote_href(item.id, key, asset->second.href);
        const Grid tile = ingest::item_tile_grid(item, sign);
        u.grid = options.full_tile ? tile : ingest::crop_to_region(tile, outcome.region, item.id);
        u.name = fmt::format("S2_{}_T{}", format_compact(acq.datetime),
                             item.mgrs_tile.empty() ? item.id : item.mgrs_tile);
        units.push_back(std::move(u));
      }
    }
  }
  for (const auto& unit : units) {
    check_memory(unit.grid, ingest::context_grid(unit.grid, options.context_margin),
                 static_cast<int>(unit.items.size()), bands_on_disk, options.memory_limit_bytes);
  }
  return units;
}

int acquisitions_in_flight(const std::vector<OutputUnit>& units, int asked) {
  int in_flight = std::max(1, asked);
  std::int64_t largest = 0;
  for (const auto& u : units) largest = std::max(largest, u.grid.pixel_count());
  constexpr std::int64_t kOverlapLimitPixels = 4000LL * 4000LL;
  if (in_flight > 1 && largest > kOverlapLimitPixels) {
    spdlog::info("Grids of {} x 10 m pixels: processing one acquisition at a time to bound memory",
                 largest);
    in_flight = 1;
  }
  return in_flight;
}

Plan public_plan(const SearchOutcome& outcome, const std::vector<OutputUnit>& units,
                 const ProcessingOptions& options, bool bands_on_disk) {
  Plan plan;
  plan.search = search_result(outcome);
  for (const auto& unit : units) {
    PlannedOutput output;
    output.name = unit.name;
    output.datetime = format_time(unit.acquisition->datetime);
    for (const auto& item : unit.items) output.item_ids.push_back(item.id);
    output.tiles = unit.tiles;
    output.grid = unit.grid;
    const UnitCosts costs = unit_costs(unit, options, bands_on_disk);
    output.memory_bytes = costs.memory_bytes;
    output.scratch_bytes = costs.scratch_bytes;
    output.output_bytes = costs.output_bytes;
    plan.outputs.push_back(std::move(output));
  }
  return plan;
}

UnitCosts unit_costs(const OutputUnit& unit, const ProcessingOptions& options, bool bands_on_disk) {
  const Grid context = ingest::context_grid(unit.grid, options.context_margin);
  const auto pixels = static_cast<std::uint64_t>(unit.grid.pixel_count());
  UnitCosts costs;
  costs.memory_bytes = estimated_unit_bytes(context, unit.grid.pixel_count(),
                                            static_cast<int>(unit.items.size()), bands_on_disk);
  if (bands_on_disk) costs.scratch_bytes = std::uint64_t(context.pixel_count()) * kBandCount * 2;
  // Raster (12 x 2 bytes), mask and product mask (1 + 1), probabilities (2 x 4) when kept;
  // overviews add a third at most.
  const std::uint64_t per_pixel = kBandCount * 2 + 2 + (options.keep_probabilities ? 8 : 0);
  costs.output_bytes = pixels * per_pixel * 4 / 3;
  return costs;
}

}  // namespace s2prep::pipeline

namespace s2prep {

Plan plan(const ProcessingOptions& options) {
  initialize();
  options.validate();
  ProcessingOptions resolved = options;
  resolved.request = pipeline::with_environment_defaults(options.request);
  net::HttpClient http(pipeline::http_options(resolved.request));
  const auto outcome = pipeline::search(resolved.request, http, options.stop);
  pipeline::require_complete(outcome, options.allow_incomplete);
  const pipeline::AssetSigner signer(http, resolved.request);
  ingest::ThreadConfigScope gdal_limits;
  pipeline::set_gdal_request_limits(gdal_limits, resolved.request.params.dl_timeout);
  // The models decide where the bands stay: resolved (not loaded) to know whether both are
  // networks.
  const auto& params = resolved.request.params;
  const bool on_disk = pipeline::bands_on_disk(
      params,
      !mask::resolve_model(params.cloud_model, mask::ModelKind::cloud, resolved.model_dir).builtin,
      !mask::resolve_model(params.shadow_model, mask::ModelKind::shadow, resolved.model_dir)
           .builtin);
  return pipeline::public_plan(outcome,
                               pipeline::plan_outputs(outcome, resolved, signer.signer(), on_disk),
                               resolved, on_disk);
}

}  // namespace s2prep
