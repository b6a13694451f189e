#include "pipeline/run.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <span>
#include <thread>
#include <tuple>

#include <unistd.h>

#include "core/bands.hpp"
#include "core/errors.hpp"
#include "core/parallel.hpp"
#include "core/version.hpp"
#include "ingest/acquisition_reader.hpp"
#include "ingest/gdal_env.hpp"
#include "ingest/grid.hpp"
#include "ingest/product_mask.hpp"
#include "mask/builtin_detector.hpp"
#include "mask/merge.hpp"
#include "mask/model_registry.hpp"
#include "mask/model_resolution.hpp"
#include "mask/opencv_engine.hpp"
#include "mask/probability.hpp"
#include "net/http_client.hpp"
#include "output/cog_writer.hpp"
#include "pipeline/catalog.hpp"
#include "pipeline/memory_budget.hpp"
#include "pipeline/output_folder.hpp"
#include "pipeline/quicklook.hpp"
#include "pipeline/search.hpp"
#include "pipeline/stack_file.hpp"
#include "pipeline/sun_angles.hpp"
#include "stac/signing.hpp"

namespace s2prep::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kByteIdenticalLimitPixels = 4096LL * 4096LL;

// One output: an acquisition on the shared grid, or an acquisition and tile on the tile's grid.
struct OutputUnit {
  const select::Acquisition* acquisition = nullptr;
  std::vector<stac::Item> items;  // mosaic order
  std::vector<std::string> tiles;
  Grid grid;
  std::string name;
};

// A model as the run uses it: a loaded ONNX network, or the built-in detector.
struct LoadedModel {
  mask::ResolvedModel resolved;
  std::unique_ptr<mask::SegmentationModel> network;  // null for builtin
  std::string engine = "builtin";                    // "onednn", "opencv" or "builtin"
  // A network is not safe to run from two threads; acquisitions in flight take turns on it
  // (while one infers, the next one reads).
  std::unique_ptr<std::mutex> busy = std::make_unique<std::mutex>();
};

std::string asset_file(const std::string& name, const std::string& key) {
  return fmt::format("{}_{}.tif", name, key);
}

// The window `w` of the first `bands` bands of `r` (all bands by default).
template <class T>
Raster<T> crop_raster(const Raster<T>& r, const Window& w, int bands = -1) {
  Raster<T> out(r.grid.sub_grid(w), bands < 0 ? r.bands : bands);
  for (int b = 0; b < out.bands; ++b) {
    for (int row = 0; row < w.height; ++row) {
      const T* src = r.band(b) + std::size_t(w.row + row) * r.grid.width + w.col;
      std::copy(src, src + w.width, out.band(b) + std::size_t(row) * w.width);
    }
  }
  return out;
}

// Everything that determines an output's content; a resumed output must match it exactly.
std::string fingerprint_of(const OutputUnit& unit, const RunOptions& o, const LoadedModel& cloud,
                           const LoadedModel& shadow) {
  nlohmann::json f;
  f["version"] = kVersion;
  f["grid"] = {unit.grid.epsg, unit.grid.transform, unit.grid.width, unit.grid.height};
  nlohmann::json items = nlohmann::json::array();
  for (const auto& i : unit.items) items.push_back({i.id, i.processing_baseline});
  f["items"] = items;
  f["harmonize"] = o.harmonize;
  // The engine too: two engines agree within 1e-3 in probability, not bit for bit.
  f["cloud_model"] = {cloud.resolved.name, cloud.resolved.sha256, cloud.engine};
  f["shadow_model"] = {shadow.resolved.name, shadow.resolved.sha256, shadow.engine};
  f["cloud_thr"] = o.request.params.cloud_thr;
  f["shadow_thr"] = o.request.params.shadow_thr;
  f["dilation"] = o.dilation_radius;
  f["min_area"] = o.min_area;
  f["context"] = o.context_margin;
  f["keep_probabilities"] = o.keep_probabilities;
  f["quicklook"] = o.quicklook;
  const std::string text = f.dump();
  return mask::sha256_hex(
      std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

// Catalogue pages, tokens and metadata documents: each attempt bounded by --dl-timeout too (a
// stalled or dripping service is cut and retried like a band read), the whole exchange by the
// client's retry budget.
net::HttpOptions http_options(double dl_timeout_s) {
  net::HttpOptions options;
  if (dl_timeout_s > 0) {
    options.transfer_timeout = std::chrono::milliseconds(
        static_cast<long long>(std::ceil(std::min(dl_timeout_s, 3600.0) * 1000)));
  }
  return options;
}

class Runner {
 public:
  Runner(const RunOptions& options, const ProgressCallback& progress)
      : o_(options), progress_(progress), http_(http_options(options.request.params.dl_timeout)) {}

  RunReport run() {
    const auto& params = o_.request.params;
    params.validate();
    ingest::GdalOptions gdal;
    gdal.http_timeout_s = static_cast<int>(std::ceil(params.dl_timeout));
    ingest::configure_gdal(gdal);

    net::HttpClient& http = http_;
    // The folder is locked and checked before the search: a concurrent run or another
    // request's folder fails at once, and a grid too large for memory before any request.
    const auto region = geo::Region::parse(o_.request.geometry);
    std::optional<Grid> shared_grid;
    if (o_.layout == Layout::kGrid) {
      shared_grid = ingest::layout_grid(region);
      check_memory(*shared_grid, ingest::context_grid(*shared_grid, o_.context_margin), 1,
                   o_.memory_limit_bytes);
    }
    // A folder that does not exist yet is created only once there is something to write, so a
    // search that finds nothing leaves nothing behind.
    const FolderIdentity identity = folder_identity(region, shared_grid);
    std::error_code ec;
    if (fs::exists(o_.out_dir, ec)) folder_.emplace(o_.out_dir, identity, o_.replace_request);

    Progress searching;
    searching.stage = "search";
    report(searching);
    auto outcome = search(o_.request, http);
    require_complete(outcome, o_.allow_incomplete);

    if (o_.inference_threads > 0) mask::set_model_threads(o_.inference_threads);
    LoadedModel cloud = load(params.cloud_model, mask::ModelKind::cloud);
    LoadedModel shadow = load(params.shadow_model, mask::ModelKind::shadow);

    if (o_.request.services.token_url != "none") {
      tokens_ =
          std::make_unique<stac::TokenCache>(http, o_.request.services.token_url, params.pc_key);
    }
    const std::string collection = o_.request.services.collection;
    ingest::HrefSigner sign;
    if (tokens_) {
      sign = [tokens = tokens_.get(), collection, services = o_.request.services](
                 const std::string& href, const ingest::SignReason& reason) {
        if (!stac::href_needs_signing(href, services.token_url, services.sign_hosts)) return href;
        if (reason.refresh) tokens->invalidate(collection, reason.refused);
        return tokens->sign(href, collection);
      };
    }
    sign_ = sign;

    const auto units = plan_units(outcome, sign);
    for (const auto& unit : units) {
      check_memory(unit.grid, ingest::context_grid(unit.grid, o_.context_margin),
                   static_cast<int>(unit.items.size()), o_.memory_limit_bytes);
    }
    if (!folder_) folder_.emplace(o_.out_dir, identity, o_.replace_request);
    folder_->claim();
    write_run_json_started(outcome.region);
    RunReport result;
    std::vector<nlohmann::json> stac_items;
    // Acquisitions overlap: one reads from the network while another is in inference.
    std::vector<OutputSummary> summaries(units.size());
    stac_items.resize(units.size());
    run_bounded(static_cast<int>(units.size()), acquisitions_in_flight(units), [&](int i) {
      std::tie(summaries[i], stac_items[i]) =
          produce(units[i], i, units.size(), cloud, shadow, sign);
    });
    result.outputs = std::move(summaries);
    for (const auto& s : outcome.selection.skipped) {
      result.skipped.push_back(
          {{"datetime", format_time(s.datetime)}, {"items", s.item_ids}, {"reason", s.reason}});
    }
    result.items_json = o_.out_dir / "items.json";
    // Every complete output of the folder, also those of earlier runs of this request.
    folder_->refresh_catalogue();
    write_run_json(outcome, cloud, shadow, result);
    if (o_.quicklook) write_index_html(o_.out_dir, result);
    result.notices = notices_;
    return result;
  }

 private:
  void report(Progress p) const {
    if (progress_) progress_(p);
  }

  FolderIdentity folder_identity(const geo::Region& region,
                                 const std::optional<Grid>& shared_grid) const {
    FolderIdentity id;
    id.region_wkt = region.lonlat().to_wkt();
    id.stac_url = net::redact_url(o_.request.services.stac_url);
    id.collection = o_.request.services.collection;
    id.layout = o_.layout == Layout::kGrid ? "grid" : o_.full_tile ? "tile full-tile" : "tile";
    id.grid = shared_grid;
    return id;
  }

  LoadedModel load(const std::string& spec, mask::ModelKind kind) {
    LoadedModel m;
    m.resolved = mask::resolve_model(spec, kind, o_.model_dir);
    if (!m.resolved.notice.empty()) {
      spdlog::info("{}", m.resolved.notice);
      notices_.push_back(m.resolved.notice);
    }
    if (!m.resolved.builtin) {
      auto loaded = mask::load_model(m.resolved.path, kind, o_.engine);
      m.network = std::move(loaded.model);
      m.engine = loaded.engine;
    }
    spdlog::info(
        "{} model: {}{} on {}", mask::to_string(kind), m.resolved.name,
        m.resolved.sha256.empty() ? "" : " (sha256 " + m.resolved.sha256.substr(0, 12) + "…)",
        m.engine);
    return m;
  }

  // Each acquisition in flight holds its stack and working copies (about 4.5 bytes per band
  // pixel, measured on whole tiles): overlapping two whole tiles would need ~26 GB, so large
  // grids are processed one at a time whatever was asked.
  int acquisitions_in_flight(const std::vector<OutputUnit>& units) const {
    int in_flight = std::max(1, o_.acquisitions_in_flight);
    std::int64_t largest = 0;
    for (const auto& u : units) largest = std::max(largest, u.grid.pixel_count());
    constexpr std::int64_t kOverlapLimitPixels = 4000LL * 4000LL;
    if (in_flight > 1 && largest > kOverlapLimitPixels) {
      spdlog::info(
          "Grids of {} x 10 m pixels: processing one acquisition at a time to bound memory",
          largest);
      in_flight = 1;
    }
    return in_flight;
  }

  std::vector<OutputUnit> plan_units(const SearchOutcome& outcome,
                                     const ingest::HrefSigner& sign) const {
    std::vector<OutputUnit> units;
    if (o_.layout == Layout::kGrid) {
      const Grid grid = ingest::layout_grid(outcome.region);
      spdlog::info("Output grid: {} x {} pixels of 10 m in {}", grid.width, grid.height,
                   grid.crs());
      for (const auto& acq : outcome.selection.acquisitions) {
        OutputUnit u;
        u.acquisition = &acq;
        u.items = acq.items;
        u.tiles = acq.tiles;
        u.grid = grid;
        u.name = "S2_" + format_compact(acq.datetime);
        units.push_back(std::move(u));
      }
      return units;
    }
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
        ingest::require_remote_href(item.id, key, asset->second.href);
        const std::string href = sign ? sign(asset->second.href, false) : asset->second.href;
        const Grid tile = ingest::asset_grid(item, key, href);
        u.grid = o_.full_tile ? tile : ingest::crop_to_region(tile, outcome.region, item.id);
        u.name = fmt::format("S2_{}_T{}", format_compact(acq.datetime),
                             item.mgrs_tile.empty() ? item.id : item.mgrs_tile);
        units.push_back(std::move(u));
      }
    }
    return units;
  }

  // Outputs already complete for this exact request are kept: the sidecar Item must carry the
  // same fingerprint and every asset must open and read in full (names alone prove nothing).
  std::optional<nlohmann::json> complete_output(const OutputUnit& unit,
                                                const std::string& fingerprint) const {
    const fs::path sidecar = o_.out_dir / (unit.name + ".json");
    if (o_.force || !fs::exists(sidecar)) return std::nullopt;
    try {
      std::ifstream in(sidecar);
      const auto item = nlohmann::json::parse(in);
      const auto record = from_stac_item(item);
      if (record.fingerprint != fingerprint) {
        spdlog::info("{}: parameters or inputs changed since it was written; recomputing",
                     unit.name);
        return std::nullopt;
      }
      for (const auto& [key, href] : record.assets) {
        if (key == "quicklook") {
          if (!fs::exists(o_.out_dir / href)) return std::nullopt;
          continue;
        }
        const int bands = key == "raster" ? kBandCount : 1;
        const auto type = key == "raster"                ? output::PixelType::UInt16
                          : key.ends_with("probability") ? output::PixelType::Float32
                                                         : output::PixelType::Byte;
        std::string reason;
        if (!output::verify_cog(o_.out_dir / href, unit.grid, bands, type, &reason)) {
          spdlog::warn("{}: {} is incomplete or damaged ({}); recomputing", unit.name, href,
                       reason);
          return std::nullopt;
        }
      }
      return item;
    } catch (const std::exception& e) {
      spdlog::warn("{}: cannot reuse {} ({}); recomputing", unit.name, sidecar.string(), e.what());
      return std::nullopt;
    }
  }

  // `stack_file`: set when streaming (in_memory false); network models then read their chips
  // from it. The built-in detector works on the stack in memory.
  FloatRaster probability(LoadedModel& model, mask::ModelKind kind, const BandStack& stack,
                          const StackFile* stack_file, const FloatRaster* cloud,
                          const mask::SunAngles& sun, Progress p) {
    if (model.network) {
      mask::ProbabilityOptions options;
      options.progress = [&](int done, int total) {
        p.done = done;
        p.total = total;
        report(p);
      };
      std::lock_guard turn(*model.busy);
      if (stack_file != nullptr) {
        FileChipSource source(*stack_file);
        return mask::compute_probability(*model.network, kind, source, options);
      }
      mask::BandStackChipSource source(stack);
      return mask::compute_probability(*model.network, kind, source, options);
    }
    if (kind == mask::ModelKind::cloud) return mask::builtin_cloud_probability(stack);
    FloatRaster cloud_prob = cloud ? *cloud : mask::builtin_cloud_probability(stack);
    return mask::builtin_shadow_probability(stack, cloud_prob, sun, o_.request.params.cloud_thr);
  }

  std::pair<OutputSummary, nlohmann::json> produce(const OutputUnit& unit, std::size_t index,
                                                   std::size_t count, LoadedModel& cloud_model,
                                                   LoadedModel& shadow_model,
                                                   const ingest::HrefSigner& sign) {
    const auto& params = o_.request.params;
    const std::string fingerprint = fingerprint_of(unit, o_, cloud_model, shadow_model);
    Progress p;
    p.acquisition = format_time(unit.acquisition->datetime);
    p.acquisition_index = index;
    p.acquisition_count = count;

    if (auto done = complete_output(unit, fingerprint)) {
      spdlog::info("{}: outputs complete, kept (use --force to recompute)", unit.name);
      auto summary = summary_from_item(*done, unit);
      summary.resumed = true;
      return {summary, *done};
    }

    // Read with context around the grid, so no model chip is padded where imagery exists, but
    // only where imagery exists: a whole tile is then chipped as the tile itself.
    std::vector<Grid> tiles;
    for (const auto& item : unit.items) tiles.push_back(ingest::item_tile_grid(item, sign));
    const Grid context = ingest::context_grid(
        unit.grid, ingest::imagery_bounds(tiles, unit.grid.epsg), o_.context_margin);
    const Window inner = context.window_of(unit.grid);
    p.stage = "read";
    report(p);
    ingest::AcquisitionReadOptions read;
    read.harmonize = o_.harmonize;
    read.jobs = o_.jobs > 0
                    ? o_.jobs
                    : std::clamp(4 * static_cast<int>(std::thread::hardware_concurrency()), 4, 32);
    read.read.timeout = std::chrono::duration<double>(params.dl_timeout);
    read.sign = sign;
    read.allow_local_hrefs = false;  // the catalogue is a remote service
    read.progress = [&](int done, int total) {
      Progress rp = p;
      rp.done = done;
      rp.total = total;
      report(rp);
    };
    auto acquisition = ingest::read_acquisition(unit.items, context, read);
    spdlog::info("{}: read {} bands ({} copied, {} warped)", unit.name,
                 acquisition.direct_reads + acquisition.warped_reads, acquisition.direct_reads,
                 acquisition.warped_reads);

    const ByteRaster product_context = ingest::product_mask_from_scl(acquisition.scl);
    const ByteRaster no_data = mask::no_data_of(acquisition.bands);
    // The raster output is written from the context stack's inner window in place, not from a
    // copy (a whole tile is 2.9 GB). Only when the stack is released before inference (below)
    // is the window kept as a copy of its own.
    const bool release_stack =
        !params.in_memory && cloud_model.network != nullptr && shadow_model.network != nullptr;
    BandStack released_window;
    if (release_stack) released_window = crop_raster(acquisition.bands, inner);

    // Streaming: park the stack on disk; when no model needs it in memory, release it.
    std::optional<StackFile> stack_file;
    if (!params.in_memory && (cloud_model.network || shadow_model.network)) {
      stack_file.emplace(acquisition.bands,
                         o_.out_dir / fmt::format(".{}_stack.tmp-{}.tif", unit.name, getpid()));
      if (release_stack) BandStack().data.swap(acquisition.bands.data);
    }
    p.stage = "inference";
    report(p);
    const StackFile* chips = stack_file ? &*stack_file : nullptr;
    const AcquisitionSun sun =
        acquisition_sun(unit.items, unit.grid, unit.acquisition->datetime, http_, sign_);
    FloatRaster cloud_context = probability(cloud_model, mask::ModelKind::cloud, acquisition.bands,
                                            chips, nullptr, sun.angles, p);
    FloatRaster shadow_context =
        probability(shadow_model, mask::ModelKind::shadow, acquisition.bands, chips, &cloud_context,
                    sun.angles, p);
    stack_file.reset();
    mask::MergeOptions merge;
    merge.cloud_thr = static_cast<float>(params.cloud_thr);
    merge.shadow_thr = static_cast<float>(params.shadow_thr);
    merge.dilation_radius = o_.dilation_radius;
    merge.min_area = o_.min_area;
    // Merged on the context grid, so that dilation sees clouds just outside the region.
    const ByteRaster mask_context =
        mask::merge_mask({&cloud_context, &shadow_context, &product_context, &no_data}, merge);

    const ByteRaster mask = crop_raster(mask_context, inner);
    const ByteRaster product = crop_raster(product_context, inner);
    const FloatRaster cloud = crop_raster(cloud_context, inner);
    const FloatRaster shadow = crop_raster(shadow_context, inner);

    p.stage = "write";
    report(p);
    // The old sidecar goes first: until the new one is written, nothing claims that this
    // output's files (some new, some old) belong together.
    folder_->retract(unit.name);
    OutputRecord record;
    record.id = unit.name;
    record.datetime = unit.acquisition->datetime;
    record.grid = unit.grid;
    record.tiles = unit.tiles;
    record.cloud_model = {cloud_model.resolved.name, cloud_model.resolved.sha256,
                          cloud_model.engine};
    record.shadow_model = {shadow_model.resolved.name, shadow_model.resolved.sha256,
                           shadow_model.engine};
    record.cloud_thr = params.cloud_thr;
    record.shadow_thr = params.shadow_thr;
    record.fingerprint = fingerprint;
    record.sun = SunRecord{sun.angles.zenith_deg, sun.angles.azimuth_deg,
                           std::string(to_string(sun.source))};
    for (std::size_t i = 0; i < unit.items.size(); ++i) {
      const auto& item = unit.items[i];
      record.sources.push_back({item.id, item.processing_baseline,
                                i < acquisition.items.size() && acquisition.items[i].harmonized});
      if (!item.platform.empty() && std::find(record.platforms.begin(), record.platforms.end(),
                                              item.platform) == record.platforms.end()) {
        record.platforms.push_back(item.platform);
      }
    }

    // GDAL's multi-threaded COG compression gives the same pixels but not always the same bytes
    // (seen under load). Outputs up to 16 Mpx are compressed on one thread, so a resumed or
    // repeated run gives byte-identical files; larger ones (whole tiles) use every core.
    auto deterministic = [&](output::CogOptions options) {
      if (unit.grid.pixel_count() <= kByteIdenticalLimitPixels) options.threads = 1;
      return options;
    };
    auto write = [&](const std::string& key, const auto& r, const output::CogOptions& options) {
      const std::string file = asset_file(unit.name, key);
      output::write_cog(r, o_.out_dir / file, deterministic(options));
      record.assets.emplace_back(key, file);
    };
    const BandStack& raster = release_stack ? released_window : acquisition.bands;
    const Window raster_window = release_stack ? Window{0, 0, inner.width, inner.height} : inner;
    {
      const std::string file = asset_file(unit.name, "raster");
      output::write_cog(raster, raster_window, o_.out_dir / file,
                        deterministic(output::reflectance_cog_options()));
      record.assets.emplace_back("raster", file);
    }
    write("mask", mask, output::mask_cog_options("mask"));
    write("product_mask", product, output::mask_cog_options("product_mask"));
    if (o_.keep_probabilities) {
      write("cloud_probability", cloud, output::probability_cog_options("cloud_probability"));
      write("shadow_probability", shadow, output::probability_cog_options("shadow_probability"));
    }

    OutputSummary summary = summarize(unit, mask, product, cloud, shadow);
    summary.cloud_model = cloud_model.resolved.name;
    summary.shadow_model = shadow_model.resolved.name;
    record.statistics = statistics_json(summary);
    if (o_.quicklook) {
      const std::string png = unit.name + "_quicklook.png";
      // The quicklook reads B04, B03 and B02 only: the bands up to B04 are enough.
      write_quicklook(crop_raster(raster, raster_window, band_index("B04") + 1), mask,
                      o_.out_dir / png);
      record.assets.emplace_back("quicklook", png);
    }
    auto item = to_stac_item(record);
    // The sidecar is written last: its presence marks the output complete.
    write_text_atomically(o_.out_dir / (unit.name + ".json"), item.dump(2) + "\n");
    folder_->refresh_catalogue();
    spdlog::info("{}: written ({:.1f} % valid, {:.1f} % masked)", unit.name,
                 100 * summary.valid_fraction, 100 * summary.masked_fraction);
    return {summary, item};
  }

  OutputSummary summarize(const OutputUnit& unit, const ByteRaster& mask, const ByteRaster& product,
                          const FloatRaster& cloud, const FloatRaster& shadow) const {
    const auto& params = o_.request.params;
    std::size_t valid = 0, clouds = 0, shadows = 0, flagged = 0, masked = 0;
    const std::size_t n = mask.band_size();
    for (std::size_t i = 0; i < n; ++i) {
      if (mask.data[i] == mask_value::kNoData) continue;
      ++valid;
      if (cloud.data[i] > params.cloud_thr) ++clouds;
      if (shadow.data[i] > params.shadow_thr) ++shadows;
      const auto pm = product.data[i];
      if (pm != product_mask::kClear && pm != product_mask::kNoData) ++flagged;
      if (mask.data[i] == mask_value::kMasked) ++masked;
    }
    OutputSummary s;
    s.datetime = format_time(unit.acquisition->datetime);
    s.name = unit.name;
    s.tiles = unit.tiles;
    for (const auto& i : unit.items) s.item_ids.push_back(i.id);
    s.coverage = unit.acquisition->coverage;
    const double v = std::max<std::size_t>(valid, 1);
    s.valid_fraction = n ? double(valid) / n : 0;
    s.cloud_fraction = clouds / v;
    s.shadow_fraction = shadows / v;
    s.product_mask_fraction = flagged / v;
    s.masked_fraction = masked / v;
    return s;
  }

  static nlohmann::json statistics_json(const OutputSummary& s) {
    auto pct = [](double f) { return std::round(f * 1e5) / 1e3; };
    return {{"eo:cloud_cover", pct(s.cloud_fraction)},
            {"s2prep:coverage", std::round(s.coverage * 1e4) / 1e4},
            {"s2prep:valid_percent", pct(s.valid_fraction)},
            {"s2prep:cloud_percent", pct(s.cloud_fraction)},
            {"s2prep:shadow_percent", pct(s.shadow_fraction)},
            {"s2prep:product_mask_percent", pct(s.product_mask_fraction)},
            {"s2prep:masked_percent", pct(s.masked_fraction)}};
  }

  static OutputSummary summary_from_item(const nlohmann::json& item, const OutputUnit& unit) {
    const auto& p = item.at("properties");
    OutputSummary s;
    s.datetime = p.at("datetime").get<std::string>();
    s.name = unit.name;
    s.tiles = unit.tiles;
    for (const auto& i : unit.items) s.item_ids.push_back(i.id);
    s.coverage = p.value("s2prep:coverage", 0.0);
    s.valid_fraction = p.value("s2prep:valid_percent", 0.0) / 100;
    s.cloud_fraction = p.value("s2prep:cloud_percent", 0.0) / 100;
    s.shadow_fraction = p.value("s2prep:shadow_percent", 0.0) / 100;
    s.product_mask_fraction = p.value("s2prep:product_mask_percent", 0.0) / 100;
    s.masked_fraction = p.value("s2prep:masked_percent", 0.0) / 100;
    s.cloud_model = p.at("s2prep:cloud_model").value("name", "");
    s.shadow_model = p.at("s2prep:shadow_model").value("name", "");
    return s;
  }

  // The part of run.json known before the search: what was asked for.
  nlohmann::json run_record() const {
    nlohmann::json run;
    run["s2prep_version"] = kVersion;
    run["gdal_version"] = ingest::gdal_version();
    run["request"] = {
        {"start", o_.request.start},
        {"end", o_.request.end},
        {"stac_url", net::redact_url(o_.request.services.stac_url)},
        {"token_url", o_.request.services.token_url == "none"
                          ? std::string("none")
                          : net::redact_url(o_.request.services.token_url)},
        {"collection", o_.request.services.collection},
    };
    run["parameters"] = o_.request.params.to_json();
    run["options"] = {{"layout", o_.layout == Layout::kGrid ? "grid" : "tile"},
                      {"full_tile", o_.full_tile},
                      {"keep_probabilities", o_.keep_probabilities},
                      {"harmonize", o_.harmonize},
                      {"dilation", o_.dilation_radius},
                      {"min_area", o_.min_area},
                      {"context", o_.context_margin},
                      {"quicklook", o_.quicklook}};
    return run;
  }

  // Written when the run starts, so that a run killed midway never leaves the record of an
  // earlier run claiming to describe the folder's latest state.
  void write_run_json_started(const geo::Region& region) const {
    nlohmann::json run = run_record();
    run["status"] = "running";
    run["request"]["geometry"] = region.lonlat().to_geojson();
    write_text_atomically(o_.out_dir / "run.json", run.dump(2) + "\n");
  }

  void write_run_json(const SearchOutcome& outcome, const LoadedModel& cloud,
                      const LoadedModel& shadow, const RunReport& result) const {
    nlohmann::json run = run_record();
    run["status"] = "complete";
    run["request"]["geometry"] = outcome.region.lonlat().to_geojson();
    run["request"]["start"] = format_time(outcome.range.start);
    run["request"]["end"] = format_time(outcome.range.end);
    run["models"] = {{"cloud",
                      {{"name", cloud.resolved.name},
                       {"sha256", cloud.resolved.sha256},
                       {"engine", cloud.engine}}},
                     {"shadow",
                      {{"name", shadow.resolved.name},
                       {"sha256", shadow.resolved.sha256},
                       {"engine", shadow.engine}}}};
    run["items_found"] = outcome.items_found;
    run["outputs"] = result.outputs.size();
    run["skipped"] = result.skipped;
    write_text_atomically(o_.out_dir / "run.json", run.dump(2) + "\n");
  }

  const RunOptions& o_;
  const ProgressCallback& progress_;
  std::vector<std::string> notices_;
  net::HttpClient http_;
  std::optional<OutputFolder> folder_;
  std::unique_ptr<stac::TokenCache> tokens_;
  ingest::HrefSigner sign_;
};

}  // namespace

RunReport run(const RunOptions& options, const ProgressCallback& progress) {
  if (!options.per_feature) return Runner(options, progress).run();
  // One grid and one output folder per feature: separate fields get their own small grids
  // instead of one bounding box that is mostly empty.
  const auto features = geo::parse_features(options.request.geometry);
  RunReport all;
  all.items_json = options.out_dir;
  std::size_t without_outputs = 0;
  for (const auto& feature : features) {
    RunOptions one = options;
    one.per_feature = false;
    one.request.geometry = feature.region.lonlat().to_wkt();
    one.out_dir = options.out_dir / feature.name;
    spdlog::info("Feature {}: outputs in {}", feature.name, one.out_dir.string());
    RunReport report;
    try {
      report = Runner(one, progress).run();
    } catch (const NothingFoundError& e) {
      // One field without usable imagery must not cost the others theirs.
      spdlog::warn("Feature {}: {}", feature.name, e.what());
      all.skipped.push_back({{"feature", feature.name}, {"reason", e.what()}});
      ++without_outputs;
      continue;
    }
    for (auto& o : report.outputs) {
      o.name = feature.name + "/" + o.name;
      all.outputs.push_back(std::move(o));
    }
    for (auto& s : report.skipped) {
      s["feature"] = feature.name;
      all.skipped.push_back(std::move(s));
    }
    for (auto& n : report.notices) {
      if (std::find(all.notices.begin(), all.notices.end(), n) == all.notices.end()) {
        all.notices.push_back(std::move(n));
      }
    }
  }
  if (without_outputs == features.size()) {
    throw NothingFoundError(fmt::format(
        "None of the {} features of the geometry can be covered by an acquisition in the time "
        "range; widen the time range or lower --min-tile-cover.",
        features.size()));
  }
  return all;
}

}  // namespace s2prep::pipeline
