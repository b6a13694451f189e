#pragma once
// One acquisition onto one grid: the 12 bands and SCL of each of its items (tiles) read in
// parallel, harmonized per item, and mosaicked first-valid-wins in the given item order.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <s2prep/grid.hpp>
#include "core/raster.hpp"
#include "ingest/reader.hpp"
#include "stac/item.hpp"

namespace s2prep::ingest {

// Why a href is being signed: the first time (false), or because the storage refused the signed
// href `refused` (true). Converts to bool, so a signer that only needs to know whether to refresh
// may take a plain `bool refresh`.
struct SignReason {
  SignReason(bool refresh_token = false) : refresh(refresh_token) {}  // NOLINT: implicit by design
  explicit SignReason(std::string refused_href) : refresh(true), refused(std::move(refused_href)) {}
  operator bool() const { return refresh; }  // NOLINT: implicit by design
  bool refresh = false;
  std::string refused;  // the signed href the storage refused (may be empty)
};

// Returns the href to read for an asset href: signed (when `reason` is true: with a token newer
// than the refused one), or unchanged when the provider needs no signing.
using HrefSigner = std::function<std::string(const std::string& href, const SignReason& reason)>;

// Maps a band name ("B02", "SCL") to the item's asset key. The default resolver
// (default_asset_key, i.e. stac::band_asset_key of stac/provider.hpp) handles Planetary Computer
// keys ("B02", "SCL") and Earth Search common names ("blue", "scl").
using AssetKeyResolver = std::function<std::string(const stac::Item&, std::string_view band)>;
std::string default_asset_key(const stac::Item& item, std::string_view band);

struct AcquisitionReadOptions {
  bool harmonize = true;  // false: --no-harmonize
  // Concurrent band reads (threads; reads wait on the network, so more than the cores helps).
  // 0 reads one band at a time.
  int jobs = 4;
  ReadOptions read;
  HrefSigner sign;  // empty: hrefs are read as they are
  // Whether asset hrefs may be local paths (or GDAL paths such as /vsizip/). Only for a catalogue
  // the user gave as a local file: a remote catalogue naming "/etc/..." or a local GeoTIFF must
  // not make s2prep read the machine's own files (nor, through /vsis3/, the user's own buckets
  // with the user's credentials), so with false every href must be http(s).
  bool allow_local_hrefs = true;
  AssetKeyResolver asset_key;  // empty: default_asset_key
  bool read_scl = true;
  // Called after each band read with (reads done, reads in all); from the reading threads.
  std::function<void(int, int)> progress;
};

struct ItemProvenance {
  std::string id;
  std::string processing_baseline;  // as declared ("04.00"), may be empty
  std::optional<double> baseline;   // as a number
  bool harmonized = false;          // dn_offset was subtracted from its digital numbers
  double dn_offset = 0;             // the DN offset of its reflectance bands (1000 or 0)
  std::string offset_source;        // "baseline", "declared" (raster:bands offset) or "none"
};

struct AcquisitionRaster {
  BandStack bands;  // 12 bands in kBands order, nodata 0
  ByteRaster scl;   // 1 band, SCL classes, 0 nodata (empty when read_scl is false)
  std::vector<ItemProvenance> items;  // in mosaic order
  int warped_reads = 0;               // band reads that needed the warper
  int direct_reads = 0;               // band reads copied pixel for pixel
};

// Throws DataError naming the item and the asset unless `href` may be read for a catalogue that
// is remote (allow_local_hrefs false): http(s) URLs only.
void require_remote_href(const std::string& item_id, const std::string& asset_key,
                         const std::string& href);

// Reads `items` (one acquisition, in mosaic order: the first item's valid pixels win; the
// selection stage orders them by coverage, largest first) onto `grid`. Throws DataError naming
// the asset when any band read fails: an acquisition is never returned with a hole.
AcquisitionRaster read_acquisition(const std::vector<stac::Item>& items, const Grid& grid,
                                   const AcquisitionReadOptions& options = {});

// Receives one band of a strip of rows of the grid: `rows` covers grid rows [first_row,
// first_row + rows.grid.height) at full width, harmonized and mosaicked like read_acquisition's.
// Called from the reading threads, one call at a time; `rows` is valid only during the call.
using BandRowsSink =
    std::function<void(int band, int first_row, const Raster<std::uint16_t>& rows)>;

// Rows of 10 m pixels per strip in read_acquisition_in_strips: a multiple of the 1024 px internal
// tiles of Sentinel-2's 10 m and 20 m COGs for tile-aligned grids, so a strip starts on a tile
// row of both, and small enough that `jobs` band strips in flight are a fraction of a whole
// tile's 12 bands (10980 x 2048 x 2 bytes = 45 MB per band strip).
inline constexpr int kStripRows = 2048;

// Band strips read_acquisition_in_strips has in flight on a grid: `jobs`, but never more than 32
// nor more than fit in a fixed budget (768 MB), so a unit's memory does not grow with the
// machine's cores.
int strip_reads_in_flight(const Grid& grid, int items, int jobs);
// The memory those reads hold at most, whatever `jobs`: per read its band strip, the strip of a
// later tile of the mosaic and GDAL's warper buffers for the strip (up to as much again).
std::uint64_t strip_read_bytes(const Grid& grid, int items);

// read_acquisition without ever holding the 12 bands: the grid is read in strips of `strip_rows`
// rows, and each band of each strip goes to `sink` (e.g. a file on disk) once mosaicked. Only SCL
// is returned whole (result.bands stays empty). Every pixel equals read_acquisition's: a warped
// pixel depends only on the file and its own position, not on the extent read around it.
AcquisitionRaster read_acquisition_in_strips(const std::vector<stac::Item>& items, const Grid& grid,
                                             const AcquisitionReadOptions& options,
                                             const BandRowsSink& sink, int strip_rows = kStripRows);

// DN = max(DN - dn_offset, 1) for DN != 0 (clamped to 65535); 0 (nodata) stays 0.
void harmonize(std::uint16_t* data, std::size_t count, int dn_offset = 1000);
// Fills the nodata (0) pixels of `mosaic` from `next` (same grid): first valid pixel wins.
template <class T>
void fill_nodata_from(Raster<T>& mosaic, const Raster<T>& next);

}  // namespace s2prep::ingest
