#pragma once
// The built-in cloud and shadow detector: runs with no model files. Cloud probability from
// Fmask-style spectral tests on L2A reflectance; shadow probability by projecting each cloud
// object along the sun direction over a range of heights and matching the projection to dark
// pixels. Method and sources: docs/builtin-detector.md.

#include "core/raster.hpp"

namespace s2prep::mask {

// Mean solar angles of an acquisition, in degrees; azimuth clockwise from north.
struct SunAngles {
  double zenith_deg = 0;
  double azimuth_deg = 0;
};

struct BuiltinOptions {
  // Cloud heights tried when matching a cloud object to its shadow.
  double min_cloud_height_m = 200;
  double max_cloud_height_m = 12000;
  // Height increment; 0 picks the increment that moves the projection by one pixel.
  double height_step_m = 0;
  // A cloud object is given a shadow only when at least this share of its projection
  // (outside clouds and the raster edge) is dark.
  double min_shadow_match = 0.3;
  // Cloud objects smaller than this (pixels) are too small to match reliably and cast no shadow.
  int min_cloud_object_px = 4;
  // At most this many pixels of an object are used to score heights (an even subsample):
  // bounds the matching cost of very large objects without changing the chosen height much.
  int max_match_samples = 3000;
  // The chosen projection is widened by this many pixels, since real shadows are the union of
  // the cloud's projections from its base to its top and its edges are blurred by diffuse light.
  int shadow_dilation_px = 1;
};

struct BuiltinResult {
  FloatRaster cloud;
  FloatRaster shadow;
};

// Cloud probability in [0, 1] on the stack's grid; pixels with any band at nodata get 1.
// `stack`: 12 bands in kBands order, harmonized digital numbers (reflectance = DN / 10000).
FloatRaster builtin_cloud_probability(const BandStack& stack, const BuiltinOptions& options = {});

// Shadow probability in [0, 1] on the stack's grid; pixels with any band at nodata get 1.
// `cloud`: the cloud probability of the same stack; cloud objects are its pixels above cloud_thr.
FloatRaster builtin_shadow_probability(const BandStack& stack, const FloatRaster& cloud,
                                       SunAngles sun, double cloud_thr,
                                       const BuiltinOptions& options = {});

// Both probabilities.
BuiltinResult builtin_detect(const BandStack& stack, SunAngles sun, double cloud_thr,
                             const BuiltinOptions& options = {});

// Building blocks, exposed for testing and for users who want the intermediate layers.

// Probability that a pixel is darker than its surroundings in NIR (B08) and SWIR (B11), from
// the depth of grayscale hole filling (Fmask's potential shadow layer), in [0, 1]; cloud pixels
// (cloud > cloud_thr) and nodata pixels get 0.
FloatRaster builtin_darkness(const BandStack& stack, const FloatRaster& cloud, double cloud_thr);

// Soft water membership in [0, 1] (low NIR, green above NIR).
FloatRaster builtin_water(const BandStack& stack);

// Shadow displacement of an object at `height_m`, in pixels (d_col, d_row; rows grow southward).
struct PixelOffset {
  double col = 0;
  double row = 0;
};
PixelOffset shadow_offset(SunAngles sun, double height_m, double pixel_size_m);

}  // namespace s2prep::mask
