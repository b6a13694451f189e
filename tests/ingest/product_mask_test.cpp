#include "ingest/product_mask.hpp"

#include <gtest/gtest.h>

using namespace s2prep;
using namespace s2prep::ingest;

TEST(ProductMask, EverySclClass) {
  // SCL 0..11 (and an undefined 12): expected product mask class, written out by hand from the SCL
  // class table.
  const std::uint8_t expected[] = {255, 4, 0, 3, 0, 0, 0, 0, 1, 1, 2, 0, 0};
  Grid g;
  g.epsg = 32633;
  g.width = 13;
  g.height = 1;
  ByteRaster scl(g, 1, 0);
  for (int v = 0; v < 13; ++v) scl.at(0, 0, v) = std::uint8_t(v);
  const auto pm = product_mask_from_scl(scl);
  for (int v = 0; v < 13; ++v) {
    EXPECT_EQ(pm.at(0, 0, v), expected[v]) << "SCL " << v;
    EXPECT_EQ(product_mask_class(std::uint8_t(v)), expected[v]);
  }
  EXPECT_EQ(pm.grid, g);
}
