#include "pipeline/write_outputs.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/bands.hpp"
#include "output/cog_writer.hpp"
#include "pipeline/catalog.hpp"
#include "pipeline/output_folder.hpp"
#include "pipeline/quicklook.hpp"
#include "pipeline/statistics.hpp"

namespace s2prep::pipeline {
namespace {

// GDAL's multi-threaded COG compression gives the same pixels but not always the same bytes
// (seen under load). Outputs up to 16 Mpx are compressed on one thread, so a resumed or repeated
// run gives byte-identical files; larger ones (whole tiles) use every core.
constexpr std::int64_t kByteIdenticalLimitPixels = 4096LL * 4096LL;

std::string asset_file(const std::string& name, const std::string& key) {
  return fmt::format("{}_{}.tif", name, key);
}

}  // namespace

nlohmann::json write_outputs(const OutputUnit& unit, const ProducedOutput& produced,
                             const OutputSummary& summary, const RunOptions& o,
                             const LoadedModel& cloud_model, const LoadedModel& shadow_model,
                             const std::string& fingerprint, OutputFolder& folder) {
  // The old sidecar goes first: until the new one is written, nothing claims that this output's
  // files (some new, some old) belong together.
  folder.retract(unit.name);
  OutputRecord record;
  record.id = unit.name;
  record.datetime = unit.acquisition->datetime;
  record.grid = unit.grid;
  record.tiles = unit.tiles;
  record.cloud_model = cloud_model.info();
  record.shadow_model = shadow_model.info();
  record.cloud_thr = o.request.params.cloud_thr;
  record.shadow_thr = o.request.params.shadow_thr;
  record.fingerprint = fingerprint;
  record.sun = SunRecord{produced.sun.angles.zenith_deg, produced.sun.angles.azimuth_deg,
                         std::string(to_string(produced.sun.source))};
  record.sources = source_items(unit, produced);
  for (const auto& item : unit.items) {
    if (!item.platform.empty() && std::find(record.platforms.begin(), record.platforms.end(),
                                            item.platform) == record.platforms.end()) {
      record.platforms.push_back(item.platform);
    }
  }

  auto deterministic = [&](output::CogOptions options) {
    if (unit.grid.pixel_count() <= kByteIdenticalLimitPixels) options.threads = 1;
    return options;
  };
  auto write = [&](const std::string& key, const auto& r, const output::CogOptions& options) {
    const std::string file = asset_file(unit.name, key);
    output::write_cog(r, o.out_dir / file, deterministic(options));
    record.assets.emplace_back(key, file);
  };
  {
    const std::string file = asset_file(unit.name, "raster");
    const auto options = deterministic(output::reflectance_cog_options());
    if (produced.bands_on_disk()) {
      output::write_cog(produced.stack_file->path(), produced.stack_file->grid(), produced.inner,
                        o.out_dir / file, options);
    } else {
      output::write_cog(produced.acquisition.bands, produced.inner, o.out_dir / file, options);
    }
    record.assets.emplace_back("raster", file);
  }
  write("mask", produced.mask, output::mask_cog_options("mask"));
  write("product_mask", produced.product, output::mask_cog_options("product_mask"));
  if (o.keep_probabilities) {
    write("cloud_probability", produced.cloud,
          output::probability_cog_options("cloud_probability"));
    write("shadow_probability", produced.shadow,
          output::probability_cog_options("shadow_probability"));
  }
  record.statistics = statistics_json(summary);
  if (o.quicklook) {
    const std::string png = unit.name + "_quicklook.png";
    // The quicklook reads B04, B03 and B02 only: the bands up to B04 are enough.
    write_quicklook(produced.raster_bands(band_index("B04") + 1), produced.mask, o.out_dir / png);
    record.assets.emplace_back("quicklook", png);
  }
  auto item = to_stac_item(record);
  // The sidecar is written last: its presence marks the output complete.
  write_text_atomically(o.out_dir / (unit.name + ".json"), item.dump(2) + "\n");
  return item;
}

}  // namespace s2prep::pipeline
