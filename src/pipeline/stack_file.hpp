#pragma once
// Streaming inference (in_memory = false): the acquisition's stack lives in a temporary tiled
// GeoTIFF and the model's chips are read back from it one at a time, so the stack need not stay
// in memory while the models run (as the reference re-reads chips from its raster). Filled strip
// by strip as the bands are read, it bounds a whole tile's memory: the raster output is then
// written from the file too.

#include <filesystem>

#include "core/raster.hpp"
#include "ingest/gdal_env.hpp"
#include "mask/probability.hpp"

namespace s2prep::pipeline {

// A temporary GeoTIFF holding a BandStack; removed when destroyed.
class StackFile {
 public:
  // Writes `stack` to `path` (uncompressed, 512 px tiles: chips are read back at disk speed).
  StackFile(const BandStack& stack, std::filesystem::path path);
  // An empty stack of `bands` bands on `grid` (every pixel nodata 0), to be filled with
  // write_rows and then finish().
  StackFile(const Grid& grid, int bands, std::filesystem::path path);
  ~StackFile();
  StackFile(const StackFile&) = delete;
  StackFile& operator=(const StackFile&) = delete;

  // Writes full-width rows [first_row, first_row + rows.grid.height) of one band (0-based).
  // One caller at a time; only before finish().
  void write_rows(int band, int first_row, const Raster<std::uint16_t>& rows);
  // Flushes and closes the file for writing; readers may open it from then on.
  void finish();

  // The bands [0, bands) of `window`, read back into memory.
  BandStack read(const Window& window, int bands) const;

  const std::filesystem::path& path() const { return path_; }
  const Grid& grid() const { return grid_; }

 private:
  [[noreturn]] void fail(const std::string& what, const ingest::ErrorCapture& errors);

  std::filesystem::path path_;
  Grid grid_;
  int bands_ = 0;
  ingest::DatasetPtr writer_;
};

// Chips read from a StackFile through one GDAL handle (read_chip is called from one thread at
// a time, as ChipSource promises).
class FileChipSource final : public mask::ChipSource {
 public:
  explicit FileChipSource(const StackFile& file);
  const Grid& grid() const override { return grid_; }
  void read_chip(const Window& window, std::uint16_t* out) override;

 private:
  Grid grid_;
  std::filesystem::path path_;
  ingest::DatasetPtr dataset_;
};

}  // namespace s2prep::pipeline
