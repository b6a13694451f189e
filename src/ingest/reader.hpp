#pragma once
// Reads one band of one item onto a target grid, fetching only the part of the file that the
// grid needs: a direct window copy when the file's pixels coincide with the grid's, GDAL's warper
// (bilinear for reflectance, nearest for SCL) otherwise.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <s2prep/grid.hpp>
#include "core/raster.hpp"

namespace s2prep::ingest {

enum class Resampling { Bilinear, Nearest };

// Where one band comes from.
struct BandSource {
  std::string item_id;
  std::string asset_key;
  // Signed http(s) href (read through /vsicurl/) or a local path / GDAL path read as is.
  std::string href;
  // Returns a freshly signed href; called when the storage answers 403 (an expired or refused
  // token) to the href it returned last (or to `href`). Empty: no re-signing.
  std::function<std::string()> resign;
};

struct ReadOptions {
  // Bounds one whole band read (dl_timeout): every attempt, the waits between them and the
  // re-signings. Each attempt's HTTP requests are cut at half the time left when it began, so a
  // read that keeps failing ends within 1.5 times this limit at worst.
  std::chrono::duration<double> timeout{120.0};
  // Attempts on resets, truncated answers, timeouts, 5xx and 429, re-signings included (GDAL's
  // own per-request retries are off during a band read: this loop retries within the deadline).
  int max_attempts = 5;
  // Cap of the first wait; doubled after each failed attempt up to 8 s, and the actual wait is
  // drawn uniformly below the cap (full jitter).
  std::chrono::milliseconds retry_backoff{500};
  // Re-signings allowed after 403s (expired or refused token).
  int max_resigns = 2;
};

struct ReadInfo {
  bool warped = false;  // false: direct pixel-for-pixel window copy
  int attempts = 0;     // attempts made (1 when the first succeeded)
  int resigns = 0;      // times the resign callback was called
};

// Reads band 1 of `source` onto `grid` (nodata and outside the file -> 0). `resampling` is used
// only when warping. T is std::uint16_t (reflectance) or std::uint8_t (SCL). Throws DataError
// naming the asset, the item and the redacted URL when the read fails after the retries.
template <class T>
Raster<T> read_band(const BandSource& source, const Grid& grid, Resampling resampling,
                    const ReadOptions& options = {}, ReadInfo* info = nullptr);

// The same read straight into `out` (grid.width x grid.height values, row after row), so a
// whole-tile band needs no buffer of its own: the direct path reads into it, the warper's target
// is `out` itself. `out` is overwritten entirely, including after a failed attempt.
template <class T>
void read_band_into(const BandSource& source, const Grid& grid, Resampling resampling, T* out,
                    const ReadOptions& options = {}, ReadInfo* info = nullptr);

extern template void read_band_into(const BandSource&, const Grid&, Resampling, std::uint16_t*,
                                    const ReadOptions&, ReadInfo*);
extern template void read_band_into(const BandSource&, const Grid&, Resampling, std::uint8_t*,
                                    const ReadOptions&, ReadInfo*);
extern template Raster<std::uint16_t> read_band(const BandSource&, const Grid&, Resampling,
                                                const ReadOptions&, ReadInfo*);
extern template Raster<std::uint8_t> read_band(const BandSource&, const Grid&, Resampling,
                                               const ReadOptions&, ReadInfo*);

// "/vsicurl/<href>" for http(s) hrefs, the href itself otherwise.
std::string gdal_path(const std::string& href);

}  // namespace s2prep::ingest
