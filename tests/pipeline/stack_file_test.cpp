#include "pipeline/stack_file.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <s2prep/errors.hpp>
#include "temp_dir.hpp"

namespace s2prep::pipeline {
namespace {

BandStack sample_stack(int width, int height) {
  Grid g;
  g.epsg = 32633;
  g.transform = {300000, 10, 0, 5400000, 0, -10};
  g.width = width;
  g.height = height;
  BandStack s(g, 12);
  for (int b = 0; b < 12; ++b) {
    for (int r = 0; r < height; ++r) {
      for (int c = 0; c < width; ++c) s.at(b, r, c) = std::uint16_t(b * 1000 + r * 7 + c % 97);
    }
  }
  return s;
}

// Streaming reads the same chips the in-memory source gives.
TEST(StackFile, FileChipsEqualMemoryChips) {
  testing::TempDir dir;
  const BandStack stack = sample_stack(700, 530);
  std::filesystem::path path = dir.path() / ".stack.tmp-1.tif";
  {
    StackFile file(stack, path);
    EXPECT_TRUE(std::filesystem::exists(path));
    FileChipSource from_file(file);
    mask::BandStackChipSource from_memory(stack);
    EXPECT_EQ(from_file.grid(), stack.grid);
    for (const Window w :
         {Window{0, 0, 512, 512}, Window{188, 18, 512, 512}, Window{5, 3, 17, 9}}) {
      std::vector<std::uint16_t> a(std::size_t(12) * w.width * w.height);
      std::vector<std::uint16_t> b(a.size());
      from_file.read_chip(w, a.data());
      from_memory.read_chip(w, b.data());
      EXPECT_EQ(a, b) << w.col << "," << w.row;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(path));  // removed with the StackFile
}

// Filled strip by strip, in any order, it holds what the whole stack holds; rows never written
// read back as nodata 0; read() gives a window's first bands back in memory.
TEST(StackFile, FilledByRowsEqualsTheStack) {
  testing::TempDir dir;
  const BandStack stack = sample_stack(700, 530);
  const std::filesystem::path path = dir.path() / ".rows.tmp-1.tif";
  StackFile file(stack.grid, 12, path);
  const int strip = 200;
  for (int first = 400; first >= 0; first -= strip) {  // last strip first
    const int rows = std::min(strip, stack.grid.height - first);
    for (int b = 0; b < 12; ++b) {
      if (b == 7 && first == 200) continue;  // never written
      Raster<std::uint16_t> part(stack.grid.sub_grid(Window{0, first, 700, rows}), 1);
      std::copy_n(stack.band(b) + std::size_t(first) * 700, part.data.size(), part.data.begin());
      file.write_rows(b, first, part);
    }
  }
  file.finish();
  const Window w{33, 150, 600, 300};
  const BandStack back = file.read(w, 12);
  ASSERT_EQ(back.grid, stack.grid.sub_grid(w));
  for (int b = 0; b < 12; ++b) {
    for (int r = 0; r < w.height; ++r) {
      for (int c = 0; c < w.width; ++c) {
        const bool hole = b == 7 && w.row + r >= 200 && w.row + r < 400;
        ASSERT_EQ(back.at(b, r, c), hole ? 0 : stack.at(b, w.row + r, w.col + c))
            << b << " " << r << " " << c;
      }
    }
  }
  EXPECT_EQ(file.read(w, 4).bands, 4);
  // Rows that do not fit are refused with the file named.
  Raster<std::uint16_t> wide(stack.grid.sub_grid(Window{0, 0, 700, 10}), 1);
  StackFile other(stack.grid, 12, dir.path() / ".other.tmp-1.tif");
  EXPECT_THROW(other.write_rows(12, 0, wide), DataError);
  EXPECT_THROW(other.write_rows(0, 525, wide), DataError);
}

TEST(StackFile, UnwritablePlaceIsDataError) {
  const BandStack stack = sample_stack(10, 10);
  EXPECT_THROW(StackFile(stack, "/nonexistent-dir/x.tif"), DataError);
}

}  // namespace
}  // namespace s2prep::pipeline
