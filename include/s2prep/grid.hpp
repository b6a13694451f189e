#pragma once
// A north-up pixel grid in a projected CRS: the shared vocabulary of ingestion, masking and output.

#include <array>
#include <cstdint>
#include <string>

namespace s2prep {

// A pixel rectangle inside a grid.
struct Window {
  int col = 0;
  int row = 0;
  int width = 0;
  int height = 0;
  bool empty() const { return width <= 0 || height <= 0; }
  friend bool operator==(const Window&, const Window&) = default;
};

struct Grid {
  int epsg = 0;
  // GDAL geotransform: x = gt[0] + col * gt[1] + row * gt[2]; y = gt[3] + col * gt[4] + row *
  // gt[5].
  std::array<double, 6> transform{0, 1, 0, 0, 0, -1};
  int width = 0;
  int height = 0;

  double resolution() const { return transform[1]; }
  double min_x() const { return transform[0]; }
  double max_y() const { return transform[3]; }
  double max_x() const { return transform[0] + width * transform[1]; }
  double min_y() const { return transform[3] + height * transform[5]; }
  // [min_x, min_y, max_x, max_y]
  std::array<double, 4> bounds() const { return {min_x(), min_y(), max_x(), max_y()}; }
  std::int64_t pixel_count() const { return std::int64_t(width) * height; }

  // The grid of a window of this grid.
  Grid sub_grid(const Window& w) const;
  // Where `inner` (same CRS and resolution, aligned) sits inside this grid.
  Window window_of(const Grid& inner) const;
  // "EPSG:32633"
  std::string crs() const { return "EPSG:" + std::to_string(epsg); }
  // The CRS as OGC WKT (2018 flavour, as GDAL writes it into GeoTIFFs); throws InputError for an
  // EPSG code PROJ does not know.
  std::string crs_wkt() const;

  friend bool operator==(const Grid&, const Grid&) = default;
};

}  // namespace s2prep
