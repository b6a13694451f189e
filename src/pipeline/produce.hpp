#pragma once
// Making one output's pixels: read the acquisition's bands around the grid (context for the
// models), harmonize and mosaic them, compute the product mask from SCL, the cloud and shadow
// probabilities and the merged mask, and crop everything to the output grid. Nothing is written
// here: run() writes the result as COGs, load() hands it to the caller.

#include <filesystem>
#include <functional>

#include <s2prep/options.hpp>
#include <s2prep/results.hpp>

#include "core/raster.hpp"
#include "ingest/acquisition_reader.hpp"
#include "net/http_client.hpp"
#include "pipeline/models.hpp"
#include "pipeline/output_plan.hpp"
#include "pipeline/sun_angles.hpp"

namespace s2prep::pipeline {

class ProgressReporter;

struct ProducedOutput {
  // The 12-band reflectance of the output grid is `raster_window` of `raster()`: the context
  // stack itself (a whole tile is 2.9 GB: no copy), or a copy of the window when the stack was
  // released for streaming inference.
  const BandStack& raster() const { return released ? window_copy : acquisition.bands; }
  Window raster_window() const {
    return released ? Window{0, 0, inner.width, inner.height} : inner;
  }

  ingest::AcquisitionRaster acquisition;  // on the context grid
  Window inner;                           // the output grid inside the context grid
  bool released = false;
  BandStack window_copy;
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
};

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
