#include "pipeline/quicklook.hpp"

#include <gtest/gtest.h>

#include "core/bands.hpp"

namespace s2prep::pipeline {
namespace {

TEST(Quicklook, MaskIsDrawnWhereTheMaskSays) {
  Grid g;
  g.epsg = 32633;
  g.transform = {0, 10, 0, 0, 0, -10};
  g.width = 40;
  g.height = 30;
  BandStack raster(g, 12, 800);
  ByteRaster mask(g, 1, mask_value::kClear);
  for (int r = 0; r < 10; ++r) {
    for (int c = 0; c < 10; ++c) mask.at(0, r, c) = mask_value::kMasked;
  }
  mask.at(0, 29, 39) = mask_value::kNoData;
  const ByteRaster rgb = render_quicklook(raster, mask);
  ASSERT_EQ(rgb.bands, 3);
  EXPECT_EQ(rgb.grid.width, 40);
  // A flat grey scene: clear pixels share one grey; masked ones are tinted towards magenta
  // (more red and blue than green); no data is the no-data grey.
  const int clear_r = rgb.at(0, 20, 20), clear_g = rgb.at(1, 20, 20), clear_b = rgb.at(2, 20, 20);
  EXPECT_EQ(clear_r, clear_g);
  EXPECT_EQ(clear_g, clear_b);
  EXPECT_GT(rgb.at(0, 5, 5), rgb.at(1, 5, 5) + 60);
  EXPECT_GT(rgb.at(2, 5, 5), rgb.at(1, 5, 5) + 60);
  EXPECT_EQ(rgb.at(0, 29, 39), kNoDataColour[0]);
  EXPECT_EQ(rgb.at(1, 29, 39), kNoDataColour[1]);
}

TEST(Quicklook, StretchComesFromClearPixels) {
  Grid g;
  g.width = 100;
  g.height = 10;
  BandStack raster(g, 12, 0);
  ByteRaster mask(g, 1, mask_value::kClear);
  // Left half: dark ground, varying; right half: bright cloud, masked.
  for (int b = 0; b < 12; ++b) {
    for (int r = 0; r < 10; ++r) {
      for (int c = 0; c < 100; ++c) raster.at(b, r, c) = c < 50 ? 300 + 10 * c : 9000;
    }
  }
  for (int r = 0; r < 10; ++r) {
    for (int c = 50; c < 100; ++c) mask.at(0, r, c) = mask_value::kMasked;
  }
  const ByteRaster rgb = render_quicklook(raster, mask);
  // The darkest and brightest ground pixels span (nearly) the whole range.
  EXPECT_LT(rgb.at(0, 0, 0), 10);
  EXPECT_GT(rgb.at(0, 0, 49), 245);
}

}  // namespace
}  // namespace s2prep::pipeline
