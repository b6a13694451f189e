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

// ---- context chipping (the grid layout) ----

struct Span {
  int read_start, read_length, write_start, write_end;
};

void expect_axis(const std::vector<AxisChip>& chips, const std::vector<Span>& expected,
                 const std::string& what) {
  ASSERT_EQ(chips.size(), expected.size()) << what;
  for (std::size_t i = 0; i < chips.size(); ++i) {
    EXPECT_EQ(chips[i].read_start, expected[i].read_start) << what << " chip " << i;
    EXPECT_EQ(chips[i].read_length, expected[i].read_length) << what << " chip " << i;
    EXPECT_EQ(chips[i].write_start, expected[i].write_start) << what << " chip " << i;
    EXPECT_EQ(chips[i].write_end, expected[i].write_end) << what << " chip " << i;
  }
}

// Hand-computed: a chip reads from `margin` before the first pixel it writes (moved inwards
// at the axis's ends) and writes up to `margin` before the end of what it reads, or to the
// axis's end when it reaches it.
TEST(ContextChipping, AxisChipsByHand) {
  // 1000 px, margin 64: writes 0-448 (edge chip: no context exists before 0), 448-832 (reads
  // 384-896), then the last chip moves in to 488 and writes to the end.
  expect_axis(context_axis_chips(1000, 0, 1000, 64),
              {{0, 512, 0, 448}, {384, 512, 448, 832}, {488, 512, 832, 1000}}, "1000/64");
  // margin 32: 448 px written per interior chip.
  expect_axis(context_axis_chips(1000, 0, 1000, 32),
              {{0, 512, 0, 480}, {448, 512, 480, 928}, {488, 512, 928, 1000}}, "1000/32");
  // Only a part of the axis: the chips read 32 px before it and stop where it stops.
  expect_axis(context_axis_chips(2000, 300, 1200, 32),
              {{268, 512, 300, 748}, {716, 512, 748, 1196}, {1164, 512, 1196, 1200}},
              "2000 [300, 1200)/32");
  // An axis smaller than a chip: one zero-padded chip over the whole axis.
  expect_axis(context_axis_chips(300, 10, 290, 32), {{0, 300, 10, 290}}, "300");
  EXPECT_TRUE(context_axis_chips(1000, 500, 500, 32).empty());
  EXPECT_THROW(context_axis_chips(1000, 0, 1000, 256), std::invalid_argument);
}

// A whole tile: 29 chips a side at margin 64 (as many as the reference: its 25 % overlap is
// exactly 64 px of context on each side of a seam), 25 at margin 32.
TEST(ContextChipping, WholeTileChipCounts) {
  EXPECT_EQ(axis_chips(10980).size(), 29u);
  EXPECT_EQ(context_axis_chips(10980, 0, 10980, 64).size(), 29u);
  EXPECT_EQ(context_axis_chips(10980, 0, 10980, 32).size(), 25u);
  // The grid layout over a tile-sized region: 10980 px plus 64 px of context on each side,
  // of which the chips write the region and 5 px (the dilation radius) around it.
  EXPECT_EQ(context_axis_chips(11108, 59, 11049, 32).size(), 25u);
  EXPECT_EQ(axis_chips(11108).size(), 29u);
}

TEST(ContextChipping, WritesEveryPixelOnceWithTheMarginOfContext) {
  for (int margin : {0, 16, 32, 64, 128}) {
    for (int size : {512, 513, 700, 1000, 1281, 2305, 4001}) {
      for (auto [first, last] : {std::pair{0, size}, std::pair{size / 3, size - size / 5}}) {
        const auto chips = context_axis_chips(size, first, last, margin);
        int next = first;
        for (const auto& c : chips) {
          ASSERT_EQ(c.write_start, next) << size << " " << margin;
          ASSERT_GT(c.write_end, c.write_start);
          ASSERT_EQ(c.read_length, 512);
          ASSERT_GE(c.read_start, 0);
          ASSERT_LE(c.read_start + 512, size);
          // At least `margin` px of context on each side, unless the axis ends there.
          ASSERT_TRUE(c.write_start - c.read_start >= margin || c.read_start == 0);
          ASSERT_TRUE(c.read_start + 512 - c.write_end >= margin || c.read_start + 512 == size);
          next = c.write_end;
        }
        ASSERT_EQ(next, last) << size << " " << margin;
      }
    }
  }
}

Grid grid_of(int width, int height) {
  Grid g;
  g.epsg = 32633;
  g.transform = {500000, 10, 0, 5000000, 0, -10};
  g.width = width;
  g.height = height;
  return g;
}

void set_block(ByteRaster& r, int col, int row, int w, int h, std::uint8_t v) {
  for (int y = row; y < row + h; ++y)
    for (int x = col; x < col + w; ++x) r.data[std::size_t(y) * r.grid.width + x] = v;
}

// 1400 x 1000 at margin 32: columns write 0-480, 480-928, 928-1400 (the last reads 888-1400);
// rows write 0-480, 480-928, 928-1000 (the last reads 488-1000): 9 chips.
TEST(ContextChipping, ChipsOverALakeOrWithoutDataAreLeftOut) {
  const int W = 1400, H = 1000;
  EXPECT_EQ(plan_context_chips(W, H, nullptr, nullptr).size(), 9u);

  ByteRaster region(grid_of(W, H), 1, 1);
  set_block(region, 480, 480, 448, 448, 0);  // a lake exactly under the centre chip
  ByteRaster no_data(grid_of(W, H), 1, 0);
  set_block(no_data, 928, 928, 472, 72, 1);  // no imagery under the bottom-right chip
  no_data.data[0] = 1;                       // a single nodata pixel leaves its chip in

  const auto chips = plan_context_chips(W, H, &region, &no_data, 0, 32);
  std::map<std::pair<int, int>, Chip> by_write;
  for (const auto& c : chips) by_write[{c.write.col, c.write.row}] = c;
  ASSERT_EQ(chips.size(), 7u);
  EXPECT_EQ(by_write.count({480, 480}), 0u);
  EXPECT_EQ(by_write.count({928, 928}), 0u);
  EXPECT_EQ(by_write.at({0, 0}).read, (Window{0, 0, 512, 512}));
  EXPECT_EQ(by_write.at({0, 0}).write, (Window{0, 0, 480, 480}));
  EXPECT_EQ(by_write.at({928, 480}).read, (Window{888, 448, 512, 512}));
  EXPECT_EQ(by_write.at({928, 480}).write, (Window{928, 480, 472, 448}));
  EXPECT_EQ(by_write.at({480, 928}).read, (Window{448, 488, 512, 512}));
  EXPECT_EQ(by_write.at({480, 928}).write, (Window{480, 928, 448, 72}));

  // Within the dilation radius of the lake's shore the centre chip's pixels matter: it runs.
  EXPECT_EQ(plan_context_chips(W, H, &region, &no_data, 5, 32).size(), 8u);

  // The pixels no chip writes become no data for the mask: the lake, and the bottom-right
  // block that had none anyway.
  ByteRaster marked = no_data;
  mark_unwritten(chips, marked);
  std::size_t count = 0;
  for (auto v : marked.data) count += v != 0;
  EXPECT_EQ(count, std::size_t(448) * 448 + std::size_t(472) * 72 + 1);
  EXPECT_EQ(marked.data[std::size_t(500) * W + 500], 1);
  EXPECT_EQ(marked.data[std::size_t(479) * W + 479], 0);
}

// Chips cover only the bounding box of what needs a probability, reading context beyond it.
TEST(ContextChipping, OnlyTheRegionsBoundingBoxIsChipped) {
  const int W = 1400, H = 1000;
  ByteRaster region(grid_of(W, H), 1, 0);
  set_block(region, 600, 100, 300, 200, 1);
  const auto chips = plan_context_chips(W, H, &region, nullptr, 5, 32);
  // Columns 595-905 (the region and 5 px around it): one chip reading 563-1075; rows 95-305:
  // one chip reading 63-575.
  ASSERT_EQ(chips.size(), 1u);
  EXPECT_EQ(chips[0].read, (Window{563, 63, 512, 512}));
  EXPECT_EQ(chips[0].write, (Window{595, 95, 310, 210}));
  // Nothing needed, nothing run.
  ByteRaster none(grid_of(W, H), 1, 0);
  EXPECT_TRUE(plan_context_chips(W, H, &none, nullptr).empty());
}

}  // namespace
}  // namespace s2prep::mask
