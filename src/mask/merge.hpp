#pragma once
// The final mask (the reference's cloud.merge): thresholds, product mask, disk dilation, optional
// removal of small cloud components and filling of small clear holes.

#include <cstdint>
#include <vector>

#include "core/raster.hpp"

namespace s2prep::mask {

struct MergeOptions {
  float cloud_thr = 0.3f;   // cloud where probability > cloud_thr
  float shadow_thr = 0.2f;  // shadow where probability > shadow_thr
  int dilation_radius = 5;  // disk radius in pixels; 0 = no dilation
  int min_area = 0;         // pixels; 0 = off
};

// Any input may be null except that at least one raster must be given; all given rasters
// share one grid.
struct MergeInputs {
  const FloatRaster* cloud = nullptr;
  const FloatRaster* shadow = nullptr;
  // Product mask classes (core/bands.hpp product_mask): 1-4 are masked, 255 is nodata.
  const ByteRaster* product_mask = nullptr;
  // Nonzero where the raster has no data (see no_data_of).
  const ByteRaster* no_data = nullptr;
};

// 1 where every band is 0 (no imagery at all), else 0.
ByteRaster no_data_of(const BandStack& stack);

// The disk of skimage.morphology.disk(r): (2r+1)^2 values, 1 where x^2 + y^2 <= r^2.
// OpenCV's MORPH_ELLIPSE kernel is not that disk (for r = 5 its rows at |y| = 2 reach
// |x| = 5 instead of 4), so the kernel is built here.
std::vector<std::uint8_t> disk_footprint(int radius);

// mask_value::kClear (0) / kMasked (1) / kNoData (255).
// Nodata pixels (product mask 255 or no_data) are 255 and, unlike the reference (which sets
// their probability to 1 and so dilates nodata into valid pixels along swath edges), do not
// seed the mask. Components use 8-connectivity, as skimage.measure.label's default does.
ByteRaster merge_mask(const MergeInputs& inputs, const MergeOptions& options = {});

}  // namespace s2prep::mask
