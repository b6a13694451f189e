#include "mask/merge.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <vector>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"

namespace s2prep::mask {
namespace {

Grid grid(int w, int h) {
  Grid g;
  g.epsg = 32633;
  g.transform = {0, 10, 0, 0, 0, -10};
  g.width = w;
  g.height = h;
  return g;
}

TEST(Merge, DiskIsSkimageDisk) {
  // skimage.morphology.disk(5) is the set x^2 + y^2 <= 25, written out row by row.
  const std::vector<std::string> disk5 = {
      "00000100000", "00111111100", "01111111110", "01111111110", "01111111110", "11111111111",
      "01111111110", "01111111110", "01111111110", "00111111100", "00000100000"};
  const auto k = disk_footprint(5);
  ASSERT_EQ(k.size(), 121u);
  for (int y = 0; y < 11; ++y)
    for (int x = 0; x < 11; ++x) EXPECT_EQ(k[y * 11 + x], disk5[y][x] - '0') << y << "," << x;
  // Why the kernel is built by hand: OpenCV's ellipse of the same size is another shape.
  const cv::Mat ellipse = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(11, 11));
  int differing = 0;
  for (int y = 0; y < 11; ++y)
    for (int x = 0; x < 11; ++x) differing += ellipse.at<std::uint8_t>(y, x) != k[y * 11 + x];
  EXPECT_GT(differing, 0);
}

TEST(Merge, ThresholdsAreStrictAndDilationIsTheDisk) {
  const Grid g = grid(41, 41);
  FloatRaster cloud(g, 1, 0.0f), shadow(g, 1, 0.0f);
  cloud.at(0, 20, 20) = 0.31f;  // > 0.3: seed
  cloud.at(0, 5, 5) = 0.3f;     // not > 0.3
  shadow.at(0, 35, 35) = 0.2f;  // not > 0.2
  const ByteRaster m = merge_mask({&cloud, &shadow, nullptr, nullptr}, MergeOptions{});
  const auto disk = disk_footprint(5);
  for (int r = 0; r < 41; ++r)
    for (int c = 0; c < 41; ++c) {
      const int dy = r - 20, dx = c - 20;
      const bool in = std::abs(dy) <= 5 && std::abs(dx) <= 5 && disk[(dy + 5) * 11 + dx + 5];
      ASSERT_EQ(m.at(0, r, c), in ? 1 : 0) << r << "," << c;
    }
}

TEST(Merge, ShadowAndProductMaskClassesAndNodata) {
  const Grid g = grid(30, 10);
  FloatRaster cloud(g, 1, 0.0f), shadow(g, 1, 0.0f);
  ByteRaster pm(g, 1, product_mask::kClear);
  shadow.at(0, 5, 2) = 0.25f;
  pm.at(0, 5, 8) = product_mask::kCirrus;
  pm.at(0, 5, 14) = product_mask::kSaturatedDefective;
  pm.at(0, 5, 20) = 5;  // not a masked class
  for (int r = 0; r < 10; ++r) pm.at(0, r, 29) = product_mask::kNoData;
  ByteRaster nodata(g, 1, 0);
  nodata.at(0, 0, 0) = 1;
  cloud.at(0, 0, 0) = 1.0f;  // nodata pixels carry probability 1: must not seed the mask
  MergeOptions o;
  o.dilation_radius = 0;
  const ByteRaster m = merge_mask({&cloud, &shadow, &pm, &nodata}, o);
  EXPECT_EQ(m.at(0, 5, 2), 1);
  EXPECT_EQ(m.at(0, 5, 8), 1);
  EXPECT_EQ(m.at(0, 5, 14), 1);
  EXPECT_EQ(m.at(0, 5, 20), 0);
  EXPECT_EQ(m.at(0, 3, 29), 255);
  EXPECT_EQ(m.at(0, 0, 0), 255);
  EXPECT_EQ(m.at(0, 0, 1), 0);
  int masked = 0;
  for (auto v : m.data) masked += v == 1;
  EXPECT_EQ(masked, 3);

  // With dilation, nodata stays 255 and the mask does not grow out of nodata.
  const ByteRaster d = merge_mask({&cloud, nullptr, &pm, &nodata}, MergeOptions{});
  EXPECT_EQ(d.at(0, 0, 0), 255);
  EXPECT_EQ(d.at(0, 1, 1), 0);
  EXPECT_EQ(d.at(0, 5, 28), 0);
}

TEST(Merge, MinAreaRemovesSmallCloudsAndFillsSmallHoles) {
  const Grid g = grid(60, 40);
  FloatRaster cloud(g, 1, 0.0f);
  // a 3x3 cloud (9 px) -> removed with min_area 10
  for (int r = 2; r < 5; ++r)
    for (int c = 2; c < 5; ++c) cloud.at(0, r, c) = 0.9f;
  // a 20x20 cloud with a 2x2 hole (4 px) -> kept, hole filled
  for (int r = 10; r < 30; ++r)
    for (int c = 30; c < 50; ++c) cloud.at(0, r, c) = 0.9f;
  for (int r = 18; r < 20; ++r)
    for (int c = 38; c < 40; ++c) cloud.at(0, r, c) = 0.0f;
  MergeOptions o;
  o.dilation_radius = 0;
  const ByteRaster plain = merge_mask({&cloud, nullptr, nullptr, nullptr}, o);
  EXPECT_EQ(plain.at(0, 3, 3), 1);
  EXPECT_EQ(plain.at(0, 18, 38), 0);
  o.min_area = 10;
  const ByteRaster m = merge_mask({&cloud, nullptr, nullptr, nullptr}, o);
  EXPECT_EQ(m.at(0, 3, 3), 0);
  EXPECT_EQ(m.at(0, 18, 38), 1);
  EXPECT_EQ(m.at(0, 10, 30), 1);
  EXPECT_EQ(m.at(0, 0, 0), 0);  // the big clear background stays clear
}

TEST(Merge, NoDataOfStack) {
  BandStack s(grid(3, 1), 12, 0);
  s.at(5, 0, 1) = 7;
  for (int b = 0; b < 12; ++b) s.at(b, 0, 2) = 100;
  const ByteRaster n = no_data_of(s);
  EXPECT_EQ(n.data, (std::vector<std::uint8_t>{1, 0, 0}));
}

TEST(Merge, GridsMustAgree) {
  FloatRaster a(grid(4, 4), 1), b(grid(5, 4), 1);
  EXPECT_THROW(merge_mask({&a, &b, nullptr, nullptr}), DataError);
  EXPECT_THROW(merge_mask({}), DataError);
}

}  // namespace
}  // namespace s2prep::mask
