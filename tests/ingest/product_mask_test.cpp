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
  const auto m = mask_from_product_mask(pm);
  for (int v = 0; v < 13; ++v) {
    EXPECT_EQ(pm.at(0, 0, v), expected[v]) << "SCL " << v;
    EXPECT_EQ(product_mask_class(std::uint8_t(v)), expected[v]);
    const int want = expected[v] == 255 ? 255 : (expected[v] == 0 ? 0 : 1);
    EXPECT_EQ(m.at(0, 0, v), want) << "SCL " << v;
  }
  EXPECT_EQ(pm.grid, g);
  EXPECT_EQ(m.grid, g);
}
