// load(): the workflow's outputs in memory instead of files, every acquisition on one grid, as
// cubes ready to become arrays (the Python module wraps them without copying). The pixels are
// made by the same steps as run()'s, so they equal the COGs run() writes.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include <s2prep/s2prep.hpp>

#include "core/bands.hpp"
#include "core/parallel.hpp"
#include "core/time.hpp"
#include "pipeline/memory_budget.hpp"
#include "pipeline/models.hpp"
#include "pipeline/output_plan.hpp"
#include "pipeline/produce.hpp"
#include "pipeline/search.hpp"
#include "pipeline/session.hpp"
#include "pipeline/statistics.hpp"

namespace s2prep::pipeline {
namespace {

// Bytes per pixel and acquisition of the cubes: 12 bands of uint16, the mask and the product
// mask, and two float32 probabilities when kept.
std::uint64_t cube_bytes_per_pixel(bool probabilities) {
  return kBandCount * 2 + 2 + (probabilities ? 8 : 0);
}

template <class T>
void copy_window(const Raster<T>& from, int band, const Window& window, T* to) {
  for (int row = 0; row < window.height; ++row) {
    const T* src = from.band(band) + std::size_t(window.row + row) * from.grid.width + window.col;
    std::copy(src, src + window.width, to + std::size_t(row) * window.width);
  }
}

}  // namespace

LoadResult load(const ProcessingOptions& options, const ProgressCallback& progress) {
  options.validate();
  if (options.layout != Layout::grid) {
    throw InputError(
        "load() puts every acquisition on one grid, so it needs the grid layout; the tile "
        "layout gives each tile a grid of its own: use run() for it.");
  }
  ProcessingOptions o = options;
  o.request = with_environment_defaults(options.request);
  o.model_dir = resolve_model_dir(options.model_dir);
  const WorkflowParams& params = o.request.params;
  const ProgressReporter report(progress, options.stop);
  net::HttpClient http(http_options(o.request));

  Progress searching;
  searching.stage = "search";
  if (!o.request.items) report(searching);  // given items need no search
  const auto outcome = search(o.request, http, o.stop);
  require_complete(outcome, o.allow_incomplete);

  LoadResult result;
  LoadedModel cloud =
      load_model(params.cloud_model, mask::ModelKind::cloud, o.model_dir, o.engine, result.notices);
  LoadedModel shadow = load_model(params.shadow_model, mask::ModelKind::shadow, o.model_dir,
                                  o.engine, result.notices);
  result.cloud_model = cloud.info();
  result.shadow_model = shadow.info();
  const AssetSigner signer(http, o.request);
  const auto units = plan_outputs(outcome, o, signer.signer(), /*bands_on_disk=*/false);
  result.skipped = skipped_acquisitions(outcome.selection);
  if (units.empty()) return result;

  result.grid = units.front().grid;
  const std::size_t times = units.size();
  const std::size_t pixels = static_cast<std::size_t>(result.grid.pixel_count());
  const std::uint64_t cube_bytes =
      std::uint64_t(times) * pixels * cube_bytes_per_pixel(o.keep_probabilities);
  const std::uint64_t limit = o.memory_limit_bytes ? o.memory_limit_bytes : usable_memory_bytes();
  if (cube_bytes + unit_costs(units.front(), o, /*bands_on_disk=*/false).memory_bytes > limit) {
    throw InputError(fmt::format(
        "Loading {} acquisitions of {} x {} pixels needs about {:.1f} GB in memory, more than "
        "the {:.1f} GB available; narrow the time range or the region, or write the outputs "
        "with run() instead.",
        times, result.grid.width, result.grid.height, cube_bytes / 1e9, limit / 1e9));
  }
  result.acquisitions.resize(times);
  result.reflectance.resize(kBandCount * times * pixels);
  result.mask.resize(times * pixels);
  result.product_mask.resize(times * pixels);
  if (o.keep_probabilities) {
    result.cloud_probability.resize(times * pixels);
    result.shadow_probability.resize(times * pixels);
  }

  const ProduceContext context{o,      signer.signer(),
                               http,   std::filesystem::temp_directory_path(),
                               report, /*bands_in_memory=*/true};
  run_bounded(
      static_cast<int>(times), acquisitions_in_flight(units, o.acquisitions_in_flight), [&](int t) {
        report.check_stop();
        const OutputUnit& unit = units[t];
        Progress p;
        p.acquisition = format_time(unit.acquisition->datetime);
        p.acquisition_index = t;
        p.acquisition_count = times;
        const ProducedOutput produced = produce(unit, cloud, shadow, context, p);
        for (int b = 0; b < kBandCount; ++b) {
          copy_window(produced.acquisition.bands, b, produced.inner,
                      result.reflectance.data() + (std::size_t(b) * times + t) * pixels);
        }
        const Window whole{0, 0, result.grid.width, result.grid.height};
        copy_window(produced.mask, 0, whole, result.mask.data() + t * pixels);
        copy_window(produced.product, 0, whole, result.product_mask.data() + t * pixels);
        if (o.keep_probabilities) {
          copy_window(produced.cloud, 0, whole, result.cloud_probability.data() + t * pixels);
          copy_window(produced.shadow, 0, whole, result.shadow_probability.data() + t * pixels);
        }
        LoadedAcquisition& loaded = result.acquisitions[t];
        loaded.summary = summarize(unit, produced.mask, produced.product, produced.cloud,
                                   produced.shadow, params.cloud_thr, params.shadow_thr);
        loaded.summary.cloud_model = cloud.resolved.name;
        loaded.summary.shadow_model = shadow.resolved.name;
        loaded.sources = source_items(unit, produced);
      });
  return result;
}

}  // namespace s2prep::pipeline

namespace s2prep {

LoadResult load(const ProcessingOptions& options, const ProgressCallback& progress) {
  initialize();
  return pipeline::load(options, progress);
}

}  // namespace s2prep
