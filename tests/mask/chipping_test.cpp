#include "mask/chipping.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "test_support.hpp"

namespace s2prep::mask {
namespace {

// Golden starts and write edges printed by numpy 1.24 with the reference's formulas
// (np.round(np.linspace(0, size - 512, n)); edges (end[:-1] + start[1:]) // 2).
struct Golden {
  int size;
  std::vector<int> starts;
  std::vector<int> edges;
};

const std::vector<Golden>& goldens() {
  static const std::vector<Golden> g = {
      {512, {0}, {0, 512}},
      {513, {0, 1}, {0, 256, 513}},
      {600, {0, 88}, {0, 300, 600}},
      {700, {0, 188}, {0, 350, 700}},
      {895, {0, 383}, {0, 447, 895}},
      {896, {0, 384}, {0, 448, 896}},
      {897, {0, 192, 385}, {0, 352, 544, 897}},
      {1000, {0, 244, 488}, {0, 378, 622, 1000}},
      // 244.5 rounds to 244 (half to even); rounding away from zero would give 245.
      {1001, {0, 244, 489}, {0, 378, 622, 1001}},
      {1280, {0, 384, 768}, {0, 448, 832, 1280}},
      {1281, {0, 256, 513, 769}, {0, 384, 640, 897, 1281}},
      {1667, {0, 289, 578, 866, 1155}, {0, 400, 689, 978, 1266, 1667}},
      {2305, {0, 359, 717, 1076, 1434, 1793}, {0, 435, 794, 1152, 1511, 1869, 2305}},
      {10980,
       {0,    374,  748,  1122, 1495, 1869, 2243, 2617, 2991, 3365, 3739, 4112, 4486,  4860, 5234,
        5608, 5982, 6356, 6729, 7103, 7477, 7851, 8225, 8599, 8973, 9346, 9720, 10094, 10468},
       {0,    443,  817,  1191, 1564, 1938, 2312, 2686,  3060,  3434,
        3808, 4181, 4555, 4929, 5303, 5677, 6051, 6425,  6798,  7172,
        7546, 7920, 8294, 8668, 9042, 9415, 9789, 10163, 10537, 10980}},
  };
  return g;
}

TEST(Chipping, StartsAndEdgesMatchNumpy) {
  for (const auto& g : goldens()) {
    EXPECT_EQ(chip_starts(g.size), g.starts) << "size " << g.size;
    const auto chips = axis_chips(g.size);
    ASSERT_EQ(chips.size(), g.starts.size()) << "size " << g.size;
    std::vector<int> edges{chips.front().write_start};
    for (const auto& c : chips) {
      EXPECT_EQ(c.read_length, 512);
      edges.push_back(c.write_end);
    }
    EXPECT_EQ(edges, g.edges) << "size " << g.size;
  }
}

TEST(Chipping, AgreesWithPlainReimplementationForManySizes) {
  for (int size = 512; size <= 6000; ++size) {
    const auto plain = testing::plain_axis(size);
    const auto chips = axis_chips(size);
    ASSERT_EQ(chips.size(), plain.starts.size()) << size;
    for (std::size_t i = 0; i < chips.size(); ++i) {
      ASSERT_EQ(chips[i].read_start, plain.starts[i]) << size;
      ASSERT_EQ(chips[i].write_start, plain.begin[i]) << size;
      ASSERT_EQ(chips[i].write_end, plain.end[i]) << size;
      // The owned range lies inside what the chip reads, and the last chip ends at the edge.
      ASSERT_GE(chips[i].write_start, chips[i].read_start);
      ASSERT_LE(chips[i].write_end, chips[i].read_start + 512);
    }
    ASSERT_EQ(chips.back().read_start + 512, size);
  }
}

TEST(Chipping, EveryPixelBelongsToExactlyOneChip) {
  const int w = 1000, h = 700;
  std::vector<int> owners(std::size_t(w) * h, 0);
  const auto chips = plan_chips(w, h);
  EXPECT_EQ(chips.size(), 6u);  // 3 columns x 2 rows
  for (const auto& c : chips) {
    for (int r = c.write.row; r < c.write.row + c.write.height; ++r) {
      for (int col = c.write.col; col < c.write.col + c.write.width; ++col) {
        ++owners[std::size_t(r) * w + col];
      }
    }
  }
  for (int n : owners) ASSERT_EQ(n, 1);
}

TEST(Chipping, SmallerThanAChipIsOneChipOverTheWholeAxis) {
  const auto chips = axis_chips(300);
  ASSERT_EQ(chips.size(), 1u);
  EXPECT_EQ(chips[0].read_start, 0);
  EXPECT_EQ(chips[0].read_length, 300);
  EXPECT_EQ(chips[0].write_start, 0);
  EXPECT_EQ(chips[0].write_end, 300);
}

}  // namespace
}  // namespace s2prep::mask
