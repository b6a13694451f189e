#pragma once
// Making one output's pixels: read the acquisition's bands around the grid (context for the
// models), harmonize and mosaic them, compute the product mask from SCL, the cloud and shadow
// probabilities and the merged mask, and crop everything to the output grid. Nothing is written
// here: run() writes the result as COGs, load() hands it to the caller.

#include <filesystem>
#include <functional>
#include <memory>

#include <s2prep/options.hpp>
#include <s2prep/results.hpp>

#include "core/raster.hpp"
#include "ingest/acquisition_reader.hpp"
#include "net/http_client.hpp"
#include "pipeline/models.hpp"
#include "pipeline/output_plan.hpp"
#include "pipeline/stack_file.hpp"
#include "pipeline/sun_angles.hpp"

namespace s2prep::pipeline {

class ProgressReporter;

struct ProducedOutput {
  // The 12-band reflectance of the output grid is the `inner` window of the context stack: in
  // memory (`acquisition.bands`), or on disk in `stack_file` when streaming inference read the
  // bands strip by strip and never held them (a whole tile's 12 bands are 2.9 GB).
  bool bands_on_disk() const { return stack_file != nullptr; }
  // The first `bands` bands of the output grid, in memory (read back from disk if need be).
  BandStack raster_bands(int bands) const;

  ingest::AcquisitionRaster acquisition;  // on the context grid (bands empty when on disk)
  Window inner;                           // the output grid inside the context grid
  std::shared_ptr<const StackFile> stack_file;
  ByteRaster mask;     // output grid: 0 clear, 1 cloud or shadow, 255 no data
  ByteRaster product;  // output grid: the product mask from SCL
  FloatRaster cloud;   // output grid
  FloatRaster shadow;  // output grid
  AcquisitionSun sun;
};

struct ProduceContext {
  const ProcessingOptions& options;
  const ingest::HrefSigner& sign;
  net::HttpClient& http;  // granule metadata (sun angles) when items do not state them
  // Where streaming inference parks the stack (a temporary file, removed after).
  std::filesystem::path scratch_dir;
  const ProgressReporter& report;
  // The caller needs the bands in memory (load() returns them): never only on disk.
  bool bands_in_memory = false;
};

// An acquisition read onto `grid` without holding its bands: they are in `stack_file`, written
// strip by strip as they were read; SCL and the no-data mask (1 where every band is 0) are
// in memory (1 byte per pixel each).
struct StreamedAcquisition {
  ingest::AcquisitionRaster acquisition;  // bands empty
  std::shared_ptr<const StackFile> stack_file;
  ByteRaster no_data;
};
StreamedAcquisition read_acquisition_to_disk(const std::vector<stac::Item>& items, const Grid& grid,
                                             const ingest::AcquisitionReadOptions& options,
                                             const std::filesystem::path& stack_path);

// `progress` carries the unit's acquisition and position; its stage, done and total are set here.
ProducedOutput produce(const OutputUnit& unit, LoadedModel& cloud_model, LoadedModel& shadow_model,
                       const ProduceContext& context, Progress progress);

// The source items of `unit` with their baselines and whether each was harmonized.
std::vector<SourceItem> source_items(const OutputUnit& unit, const ProducedOutput& produced);

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

}  // namespace s2prep::pipeline
