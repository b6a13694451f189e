#include "ingest/acquisition_reader.hpp"

#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <memory>
#include <mutex>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"
#include "stac/provider.hpp"

namespace s2prep::ingest {

namespace {

constexpr int kSclSlot = kBandCount;  // slot index of SCL after the 12 bands

}  // namespace

std::string default_asset_key(const stac::Item& item, std::string_view band) {
  if (auto key = stac::band_asset_key(item, band)) return *key;
  (void)stac::band_asset(item, band);  // throws the provider's DataError naming item and band
  throw DataError("STAC item " + item.id + " has no asset for band " + std::string(band) + ".");
}

void require_remote_href(const std::string& item_id, const std::string& asset_key,
                         const std::string& href) {
  const auto starts = [&](std::string_view prefix) {
    if (href.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(href[i])) != prefix[i]) return false;
    }
    return true;
  };
  // Not even /vsis3/ or s3://: those would be read with the user's own cloud credentials.
  if (starts("http://") || starts("https://")) return;
  throw DataError("Asset " + asset_key + " of item " + item_id + " names " +
                  (href.find("://") == std::string::npos
                       ? std::string("a local file")
                       : "a " + href.substr(0, href.find("://")) + ":// URL") +
                  ", which a remote catalogue may not: only http(s) hrefs are read; the "
                  "catalogue is broken or hostile, so use another --stac-url.");
}

void harmonize(std::uint16_t* data, std::size_t count, int dn_offset) {
  for (std::size_t i = 0; i < count; ++i) {
    if (data[i] != 0)
      data[i] = static_cast<std::uint16_t>(std::clamp(int(data[i]) - dn_offset, 1, 65535));
  }
}

template <class T>
void fill_nodata_from(Raster<T>& mosaic, const Raster<T>& next) {
  T* m = mosaic.data.data();
  const T* n = next.data.data();
  const std::size_t count = std::min(mosaic.data.size(), next.data.size());
  for (std::size_t i = 0; i < count; ++i) {
    if (m[i] == 0) m[i] = n[i];
  }
}

template void fill_nodata_from(Raster<std::uint16_t>&, const Raster<std::uint16_t>&);
template void fill_nodata_from(Raster<std::uint8_t>&, const Raster<std::uint8_t>&);

namespace {

// Every source of an acquisition, resolved and signed up front, so a missing asset fails before
// any byte is fetched; sources[slot * items + item], slot 0-11 the bands, 12 SCL.
struct AcquisitionSources {
  std::vector<BandSource> sources;
  int slots = 0;
  int items = 0;
  const BandSource& at(int slot, int item) const {
    return sources[std::size_t(slot) * items + item];
  }
};

AcquisitionSources resolve_sources(const std::vector<stac::Item>& items,
                                   const AcquisitionReadOptions& options,
                                   AcquisitionRaster& result) {
  if (items.empty()) throw DataError("An acquisition with no items cannot be read.");
  const AssetKeyResolver resolve =
      options.asset_key ? options.asset_key : AssetKeyResolver(default_asset_key);
  AcquisitionSources out;
  out.slots = options.read_scl ? kBandCount + 1 : kBandCount;
  out.items = static_cast<int>(items.size());
  const int n_items = out.items;
  for (const auto& item : items) {
    ItemProvenance p;
    p.id = item.id;
    p.processing_baseline = item.processing_baseline;
    p.baseline = item.baseline();
    const stac::Radiometry r = stac::radiometry(item);
    p.dn_offset = r.dn_offset;
    p.offset_source = r.source == stac::Radiometry::Source::kDeclared   ? "declared"
                      : r.source == stac::Radiometry::Source::kBaseline ? "baseline"
                                                                        : "none";
    p.harmonized = options.harmonize && r.harmonize();
    result.items.push_back(std::move(p));
  }

  out.sources.resize(std::size_t(out.slots) * n_items);
  for (int i = 0; i < n_items; ++i) {
    for (int s = 0; s < out.slots; ++s) {
      const std::string band = s == kSclSlot ? "SCL" : std::string(kBands[s].name);
      const std::string key = resolve(items[i], band);
      const auto asset = items[i].assets.find(key);
      if (asset == items[i].assets.end() || asset->second.href.empty()) {
        throw DataError("Item " + items[i].id + " has no href for asset " + key + ".");
      }
      BandSource& src = out.sources[std::size_t(s) * n_items + i];
      src.item_id = items[i].id;
      src.asset_key = key;
      const std::string raw_href = asset->second.href;
      if (!options.allow_local_hrefs) require_remote_href(items[i].id, key, raw_href);
      if (options.sign) {
        src.href = options.sign(raw_href, SignReason(false));
        // The reader asks again only after a 403 to the href handed out last: that one carries
        // the refused token, which the signer needs to refresh it once for all readers.
        src.resign = [sign = options.sign, raw_href,
                      last = std::make_shared<std::string>(src.href)] {
          *last = sign(raw_href, SignReason(*last));
          return *last;
        };
      } else {
        src.href = raw_href;
      }
    }
  }
  return out;
}

}  // namespace

AcquisitionRaster read_acquisition(const std::vector<stac::Item>& items, const Grid& grid,
                                   const AcquisitionReadOptions& options) {
  AcquisitionRaster result;
  const AcquisitionSources prepared = resolve_sources(items, options, result);
  const std::vector<BandSource>& sources = prepared.sources;
  const int slots = prepared.slots, n_items = prepared.items;

  // The first item's bands are read straight into the result (a whole tile is 12 x 241 MB: a
  // buffer per band in flight would double the peak); later items keep their own buffers until
  // the ordered merge below.
  result.bands = BandStack(grid, kBandCount, 0);
  if (options.read_scl) result.scl = ByteRaster(grid, 1, 0);
  std::vector<Raster<std::uint16_t>> later_bands(std::size_t(kBandCount) * n_items);
  std::vector<ByteRaster> later_scl(options.read_scl ? n_items : 0);
  std::atomic<int> warped{0}, direct{0}, done{0};
  const int tasks = slots * n_items;
  auto read_one = [&](int task) {
    const int s = task / n_items, i = task % n_items;
    ReadInfo info;
    const BandSource& src = sources[task];
    if (s == kSclSlot) {
      if (i == 0) {
        read_band_into<std::uint8_t>(src, grid, Resampling::Nearest, result.scl.data.data(),
                                     options.read, &info);
      } else {
        later_scl[i] = read_band<std::uint8_t>(src, grid, Resampling::Nearest, options.read, &info);
      }
    } else {
      std::uint16_t* band = nullptr;
      if (i == 0) {
        band = result.bands.band(s);
        read_band_into<std::uint16_t>(src, grid, Resampling::Bilinear, band, options.read, &info);
      } else {
        later_bands[task] =
            read_band<std::uint16_t>(src, grid, Resampling::Bilinear, options.read, &info);
        band = later_bands[task].data.data();
      }
      // Per item, before mosaicking: neighbouring tiles of one acquisition can differ in baseline.
      if (result.items[i].harmonized) {
        harmonize(band, result.bands.band_size(),
                  static_cast<int>(std::lround(result.items[i].dn_offset)));
      }
    }
    (info.warped ? warped : direct).fetch_add(1);
    if (options.progress) options.progress(++done, tasks);
  };
  run_bounded(tasks, options.jobs > 0 ? options.jobs : 1, read_one);

  // First valid pixel wins, in the given item order.
  for (int b = 0; b < kBandCount; ++b) {
    std::uint16_t* mosaic = result.bands.band(b);
    for (int i = 1; i < n_items; ++i) {
      const auto& next = later_bands[std::size_t(b) * n_items + i].data;
      for (std::size_t p = 0; p < next.size(); ++p) {
        if (mosaic[p] == 0) mosaic[p] = next[p];
      }
    }
  }
  for (int i = 1; i < int(later_scl.size()); ++i) fill_nodata_from(result.scl, later_scl[i]);
  result.warped_reads = warped.load();
  result.direct_reads = direct.load();
  return result;
}

namespace {

constexpr std::uint64_t kStripBudgetBytes = 768ull << 20;
constexpr int kMaxStripReads = 32;

std::uint64_t bytes_per_strip_read(const Grid& grid, int items) {
  const std::uint64_t strip =
      std::uint64_t(std::max(grid.width, 1)) * std::clamp(grid.height, 1, kStripRows) * 2;
  return strip * (items > 1 ? 3 : 2);
}

int most_strip_reads(const Grid& grid, int items) {
  const auto fit = kStripBudgetBytes / bytes_per_strip_read(grid, items);
  return static_cast<int>(std::clamp<std::uint64_t>(fit, 2, kMaxStripReads));
}

}  // namespace

int strip_reads_in_flight(const Grid& grid, int items, int jobs) {
  return std::max(1, std::min(jobs, most_strip_reads(grid, items)));
}

std::uint64_t strip_read_bytes(const Grid& grid, int items) {
  return std::uint64_t(most_strip_reads(grid, items)) * bytes_per_strip_read(grid, items);
}

AcquisitionRaster read_acquisition_in_strips(const std::vector<stac::Item>& items, const Grid& grid,
                                             const AcquisitionReadOptions& options,
                                             const BandRowsSink& sink, int strip_rows) {
  if (strip_rows <= 0) throw DataError("Strips of an acquisition read need at least one row.");
  AcquisitionRaster result;
  const AcquisitionSources prepared = resolve_sources(items, options, result);
  const int slots = prepared.slots, n_items = prepared.items;
  if (options.read_scl) result.scl = ByteRaster(grid, 1, 0);
  const int strips = (grid.height + strip_rows - 1) / strip_rows;
  std::mutex sink_turn;
  std::atomic<int> warped{0}, direct{0}, done{0};
  // Strip-major: the reads in flight belong to one or two neighbouring strips, so memory holds
  // `jobs` band strips and the files' blocks along a strip boundary are fetched close together.
  const int tasks = strips * slots;
  auto read_one = [&](int task) {
    const int strip = task / slots, s = task % slots;
    const int first_row = strip * strip_rows;
    const Grid rows_grid = grid.sub_grid(
        Window{0, first_row, grid.width, std::min(strip_rows, grid.height - first_row)});
    const std::size_t rows_size = std::size_t(rows_grid.width) * rows_grid.height;
    auto count = [&](const ReadInfo& info) { (info.warped ? warped : direct).fetch_add(1); };
    if (s == kSclSlot) {
      // SCL (1 byte per pixel) is kept whole: the product mask and the merge need all of it.
      ByteRaster mosaic(rows_grid, 1, 0);
      for (int i = 0; i < n_items; ++i) {
        ReadInfo info;
        if (i == 0) {
          read_band_into<std::uint8_t>(prepared.at(s, i), rows_grid, Resampling::Nearest,
                                       mosaic.data.data(), options.read, &info);
        } else {
          fill_nodata_from(
              mosaic, read_band<std::uint8_t>(prepared.at(s, i), rows_grid, Resampling::Nearest,
                                              options.read, &info));
        }
        count(info);
      }
      std::copy(mosaic.data.begin(), mosaic.data.end(),
                result.scl.data.begin() + std::ptrdiff_t(first_row) * grid.width);
    } else {
      Raster<std::uint16_t> mosaic(rows_grid, 1, 0);
      for (int i = 0; i < n_items; ++i) {
        ReadInfo info;
        Raster<std::uint16_t> later;
        std::uint16_t* band = mosaic.data.data();
        if (i == 0) {
          read_band_into<std::uint16_t>(prepared.at(s, i), rows_grid, Resampling::Bilinear, band,
                                        options.read, &info);
        } else {
          later = read_band<std::uint16_t>(prepared.at(s, i), rows_grid, Resampling::Bilinear,
                                           options.read, &info);
          band = later.data.data();
        }
        if (result.items[i].harmonized) {
          harmonize(band, rows_size, static_cast<int>(std::lround(result.items[i].dn_offset)));
        }
        if (i > 0) fill_nodata_from(mosaic, later);
        count(info);
      }
      std::lock_guard turn(sink_turn);
      sink(s, first_row, mosaic);
    }
    if (options.progress) options.progress(++done, tasks);
  };
  run_bounded(tasks, strip_reads_in_flight(grid, n_items, options.jobs > 0 ? options.jobs : 1),
              read_one);
  result.warped_reads = warped.load();
  result.direct_reads = direct.load();
  return result;
}

}  // namespace s2prep::ingest
