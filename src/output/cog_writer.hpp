#pragma once
// Cloud-Optimized GeoTIFF output through GDAL's COG driver, written atomically (temporary name in
// the same folder, checked, then renamed), and a verifier that trusts nothing but the pixels.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <s2prep/grid.hpp>
#include "core/raster.hpp"

namespace s2prep::output {

enum class PixelType { Byte, UInt16, Float32 };

template <class T>
constexpr PixelType pixel_type_of();
template <>
constexpr PixelType pixel_type_of<std::uint8_t>() {
  return PixelType::Byte;
}
template <>
constexpr PixelType pixel_type_of<std::uint16_t>() {
  return PixelType::UInt16;
}
template <>
constexpr PixelType pixel_type_of<float>() {
  return PixelType::Float32;
}

struct CogOptions {
  std::vector<std::string> band_descriptions;  // one per band, or empty
  std::optional<double> nodata;
  std::optional<double> scale;  // set on every band with offset (default 0) when given
  std::optional<double> offset;
  // Overview resampling: AVERAGE for reflectance, NEAREST for classes and masks.
  std::string overview_resampling = "NEAREST";
  int threads = 0;  // compression threads; 0: all cores
  int block_size = 512;
  bool overviews = true;
};

// B01..B12 descriptions, nodata 0, scale 0.0001, offset 0, AVERAGE overviews.
CogOptions reflectance_cog_options();
// One band called `description`, nodata 255, NEAREST overviews (mask and product_mask).
CogOptions mask_cog_options(const std::string& description);
// One float band in [0, 1] called `description`, no nodata, AVERAGE overviews.
CogOptions probability_cog_options(const std::string& description);

// "ZSTD" when this GDAL's COG driver offers it, else "DEFLATE".
std::string cog_compression();

// Writes `raster` to `path` as a COG (predictor 2 for integers, 3 for float). Written to
// "<path>.tmp-<pid>" in the same folder, reopened and checked, then renamed over `path`: `path`
// either does not change or is complete. Throws DataError naming `path` on any failure and
// leaves no temporary file behind.
template <class T>
void write_cog(const Raster<T>& raster, const std::filesystem::path& path,
               const CogOptions& options);

extern template void write_cog(const Raster<std::uint8_t>&, const std::filesystem::path&,
                               const CogOptions&);
extern template void write_cog(const Raster<std::uint16_t>&, const std::filesystem::path&,
                               const CogOptions&);
extern template void write_cog(const Raster<float>&, const std::filesystem::path&,
                               const CogOptions&);

// Writes the `window` of `raster` (inside its grid) as write_cog does, on
// raster.grid.sub_grid(window), without copying it: GDAL reads the window in place.
template <class T>
void write_cog(const Raster<T>& raster, const Window& window, const std::filesystem::path& path,
               const CogOptions& options);

extern template void write_cog(const Raster<std::uint8_t>&, const Window&,
                               const std::filesystem::path&, const CogOptions&);
extern template void write_cog(const Raster<std::uint16_t>&, const Window&,
                               const std::filesystem::path&, const CogOptions&);
extern template void write_cog(const Raster<float>&, const Window&, const std::filesystem::path&,
                               const CogOptions&);

// Writes the `window` of the GeoTIFF `source` (whose grid is `source_grid`; every band, of the
// file's pixel type) as write_cog does, reading it block by block: the raster is never held in
// memory. The same pixels and options give the same bytes as write_cog of a buffer.
void write_cog(const std::filesystem::path& source, const Grid& source_grid, const Window& window,
               const std::filesystem::path& path, const CogOptions& options);

// True when `path` is a COG on exactly `grid` (CRS, transform, size) with `bands` bands of
// `type`, and every pixel of every band can be read (a truncated or corrupt file fails). When
// false and `reason` is given, it says what is wrong. Never throws.
bool verify_cog(const std::filesystem::path& path, const Grid& grid, int bands, PixelType type,
                std::string* reason = nullptr);

}  // namespace s2prep::output
