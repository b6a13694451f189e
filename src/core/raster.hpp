#pragma once
// In-memory rasters on a Grid, band-sequential (all of band 0, then band 1, ...).

#include <cstddef>
#include <cstdint>
#include <vector>

#include <s2prep/grid.hpp>

namespace s2prep {

template <class T>
struct Raster {
  Grid grid;
  int bands = 0;
  std::vector<T> data;

  Raster() = default;
  Raster(Grid g, int band_count, T fill = T{})
      : grid(g), bands(band_count), data(std::size_t(band_count) * g.width * g.height, fill) {}

  std::size_t band_size() const { return std::size_t(grid.width) * grid.height; }
  T* band(int b) { return data.data() + b * band_size(); }
  const T* band(int b) const { return data.data() + b * band_size(); }
  T& at(int b, int row, int col) {
    return data[b * band_size() + std::size_t(row) * grid.width + col];
  }
  const T& at(int b, int row, int col) const {
    return data[b * band_size() + std::size_t(row) * grid.width + col];
  }
};

using BandStack = Raster<std::uint16_t>;  // 12 bands of digital numbers, nodata 0
using ByteRaster = Raster<std::uint8_t>;  // masks, SCL
using FloatRaster = Raster<float>;        // probabilities

}  // namespace s2prep
