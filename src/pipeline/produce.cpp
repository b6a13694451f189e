#include "pipeline/produce.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <thread>

#include <unistd.h>

#include "core/bands.hpp"
#include "ingest/grid.hpp"
#include "ingest/product_mask.hpp"
#include "mask/merge.hpp"
#include "pipeline/memory_budget.hpp"
#include "pipeline/session.hpp"
#include "pipeline/stack_file.hpp"

namespace s2prep::pipeline {

StreamedAcquisition read_acquisition_to_disk(const std::vector<stac::Item>& items, const Grid& grid,
                                             const ingest::AcquisitionReadOptions& options,
                                             const std::filesystem::path& stack_path) {
  StreamedAcquisition out;
  auto file = std::make_shared<StackFile>(grid, kBandCount, stack_path);
  out.no_data = ByteRaster(grid, 1, 1);
  out.acquisition = ingest::read_acquisition_in_strips(
      items, grid, options, [&](int band, int first_row, const Raster<std::uint16_t>& rows) {
        file->write_rows(band, first_row, rows);
        std::uint8_t* no_data = out.no_data.data.data() + std::size_t(first_row) * grid.width;
        for (std::size_t i = 0; i < rows.data.size(); ++i) {
          if (rows.data[i] != 0) no_data[i] = 0;
        }
      });
  file->finish();
  out.stack_file = std::move(file);
  return out;
}

ProducedOutput produce(const OutputUnit& unit, LoadedModel& cloud_model, LoadedModel& shadow_model,
                       const ProduceContext& context, Progress p) {
  const ProcessingOptions& o = context.options;
  const WorkflowParams& params = o.request.params;
  ingest::ThreadConfigScope gdal_limits;
  set_gdal_request_limits(gdal_limits, params.dl_timeout);

  // Read with context around the grid, so no model chip is padded where imagery exists, but
  // only where imagery exists: a whole tile is then chipped as the tile itself.
  std::vector<Grid> tiles;
  for (const auto& item : unit.items) tiles.push_back(ingest::item_tile_grid(item, context.sign));
  const Grid context_grid = ingest::context_grid(
      unit.grid, ingest::imagery_bounds(tiles, unit.grid.epsg), o.context_margin);
  ProducedOutput out;
  out.inner = context_grid.window_of(unit.grid);
  p.stage = "read";
  context.report(p);
  ingest::AcquisitionReadOptions read;
  read.harmonize = o.harmonize;
  read.jobs = o.jobs > 0
                  ? o.jobs
                  : std::clamp(4 * static_cast<int>(std::thread::hardware_concurrency()), 4, 32);
  read.read.timeout = std::chrono::duration<double>(params.dl_timeout);
  read.sign = context.sign;
  read.allow_local_hrefs = false;  // the catalogue is a remote service
  read.progress = [&](int done, int total) {
    Progress rp = p;
    rp.done = done;
    rp.total = total;
    context.report(rp);
  };
  const auto stack_path = [&] {
    return context.scratch_dir / fmt::format(".{}_stack.tmp-{}.tif", unit.name, getpid());
  };
  // Streaming: when both models read their chips from disk, the bands go to disk strip by strip
  // as they are read and are never held whole; the raster output is written from the file too.
  const bool streaming =
      !context.bands_in_memory &&
      bands_on_disk(params, cloud_model.network != nullptr, shadow_model.network != nullptr);
  ByteRaster no_data;
  if (streaming) {
    StreamedAcquisition streamed =
        read_acquisition_to_disk(unit.items, context_grid, read, stack_path());
    out.acquisition = std::move(streamed.acquisition);
    out.stack_file = std::move(streamed.stack_file);
    no_data = std::move(streamed.no_data);
  } else {
    out.acquisition = ingest::read_acquisition(unit.items, context_grid, read);
    no_data = mask::no_data_of(out.acquisition.bands);
  }
  auto& acquisition = out.acquisition;
  spdlog::info("{}: read {} bands ({} copied, {} warped)", unit.name,
               acquisition.direct_reads + acquisition.warped_reads, acquisition.direct_reads,
               acquisition.warped_reads);

  ByteRaster product_context = ingest::product_mask_from_scl(acquisition.scl);
  acquisition.scl = ByteRaster();  // the product mask carries what the outputs need of it
  const auto plan = cloud_model.network || shadow_model.network
                        ? network_chips(o, context_grid, out.inner, no_data)
                        : std::nullopt;
  // One model streaming its chips from disk while the other (the built-in detector) needs the
  // stack in memory: the stack is parked on disk for the chips and kept.
  std::optional<StackFile> parked;
  if (!streaming && !params.in_memory && (cloud_model.network || shadow_model.network)) {
    parked.emplace(acquisition.bands, stack_path());
  }
  p.stage = "inference";
  context.report(p);
  const StackFile* chips = out.stack_file ? out.stack_file.get() : parked ? &*parked : nullptr;
  out.sun = acquisition_sun(unit.items, unit.grid, unit.acquisition->datetime, context.http,
                            context.sign);
  auto chip_done = [&](int done, int total) {
    Progress cp = p;
    cp.done = done;
    cp.total = total;
    context.report(cp);
  };
  FloatRaster cloud_context =
      model_probability(cloud_model, mask::ModelKind::cloud, acquisition.bands, chips, nullptr,
                        out.sun.angles, params.cloud_thr, chip_done, plan ? &*plan : nullptr);
  FloatRaster shadow_context = model_probability(
      shadow_model, mask::ModelKind::shadow, acquisition.bands, chips, &cloud_context,
      out.sun.angles, params.cloud_thr, chip_done, plan ? &*plan : nullptr);
  parked.reset();
  if (plan) mask::mark_unwritten(*plan, no_data);
  mask::MergeOptions merge;
  merge.cloud_thr = static_cast<float>(params.cloud_thr);
  merge.shadow_thr = static_cast<float>(params.shadow_thr);
  merge.dilation_radius = o.dilation_radius;
  merge.min_area = o.min_area;
  // Merged on the context grid, so that dilation sees clouds just outside the region.
  ByteRaster mask_context =
      mask::merge_mask({&cloud_context, &shadow_context, &product_context, &no_data}, merge);
  no_data = ByteRaster();

  // A whole tile's output grid is its context grid: the rasters are taken, not copied (the two
  // probabilities alone are 1 GB there).
  const bool whole = out.inner == Window{0, 0, context_grid.width, context_grid.height};
  auto cropped = [&](auto&& raster) {
    using R = std::decay_t<decltype(raster)>;
    return whole ? R(std::move(raster)) : crop_raster(raster, out.inner);
  };
  out.mask = cropped(std::move(mask_context));
  out.product = cropped(std::move(product_context));
  out.cloud = cropped(std::move(cloud_context));
  out.shadow = cropped(std::move(shadow_context));
  return out;
}

BandStack ProducedOutput::raster_bands(int bands) const {
  if (stack_file) return stack_file->read(inner, bands);
  return crop_raster(acquisition.bands, inner, bands);
}

std::vector<SourceItem> source_items(const OutputUnit& unit, const ProducedOutput& produced) {
  std::vector<SourceItem> sources;
  const auto& read = produced.acquisition.items;
  for (std::size_t i = 0; i < unit.items.size(); ++i) {
    sources.push_back({unit.items[i].id, unit.items[i].processing_baseline,
                       i < read.size() && read[i].harmonized});
  }
  return sources;
}

}  // namespace s2prep::pipeline
