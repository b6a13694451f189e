#include "pipeline/produce.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <thread>

#include <unistd.h>

#include "ingest/grid.hpp"
#include "ingest/product_mask.hpp"
#include "mask/merge.hpp"
#include "pipeline/session.hpp"
#include "pipeline/stack_file.hpp"

namespace s2prep::pipeline {

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
  out.acquisition = ingest::read_acquisition(unit.items, context_grid, read);
  auto& acquisition = out.acquisition;
  spdlog::info("{}: read {} bands ({} copied, {} warped)", unit.name,
               acquisition.direct_reads + acquisition.warped_reads, acquisition.direct_reads,
               acquisition.warped_reads);

  const ByteRaster product_context = ingest::product_mask_from_scl(acquisition.scl);
  ByteRaster no_data = mask::no_data_of(acquisition.bands);
  const auto plan = cloud_model.network || shadow_model.network
                        ? network_chips(o, context_grid, out.inner, no_data)
                        : std::nullopt;
  // When both models stream their chips from disk, the stack is released before inference and
  // only the output window is kept, as a copy of its own.
  out.released =
      !params.in_memory && cloud_model.network != nullptr && shadow_model.network != nullptr;
  if (out.released) out.window_copy = crop_raster(acquisition.bands, out.inner);

  // Streaming: park the stack on disk; when no model needs it in memory, release it.
  std::optional<StackFile> stack_file;
  if (!params.in_memory && (cloud_model.network || shadow_model.network)) {
    stack_file.emplace(acquisition.bands, context.scratch_dir / fmt::format(".{}_stack.tmp-{}.tif",
                                                                            unit.name, getpid()));
    if (out.released) BandStack().data.swap(acquisition.bands.data);
  }
  p.stage = "inference";
  context.report(p);
  const StackFile* chips = stack_file ? &*stack_file : nullptr;
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
  stack_file.reset();
  if (plan) mask::mark_unwritten(*plan, no_data);
  mask::MergeOptions merge;
  merge.cloud_thr = static_cast<float>(params.cloud_thr);
  merge.shadow_thr = static_cast<float>(params.shadow_thr);
  merge.dilation_radius = o.dilation_radius;
  merge.min_area = o.min_area;
  // Merged on the context grid, so that dilation sees clouds just outside the region.
  const ByteRaster mask_context =
      mask::merge_mask({&cloud_context, &shadow_context, &product_context, &no_data}, merge);

  out.mask = crop_raster(mask_context, out.inner);
  out.product = crop_raster(product_context, out.inner);
  out.cloud = crop_raster(cloud_context, out.inner);
  out.shadow = crop_raster(shadow_context, out.inner);
  return out;
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
