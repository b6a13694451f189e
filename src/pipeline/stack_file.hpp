#pragma once
// Streaming inference (in_memory = false): the acquisition's stack is parked in a temporary
// tiled GeoTIFF and the model's chips are read back from it one at a time, so the stack need
// not stay in memory while the models run (as the reference re-reads chips from its raster).

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
  ~StackFile();
  StackFile(const StackFile&) = delete;
  StackFile& operator=(const StackFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const Grid& grid() const { return grid_; }

 private:
  std::filesystem::path path_;
  Grid grid_;
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
