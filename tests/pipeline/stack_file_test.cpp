#include "pipeline/stack_file.hpp"

#include <gtest/gtest.h>

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

TEST(StackFile, UnwritablePlaceIsDataError) {
  const BandStack stack = sample_stack(10, 10);
  EXPECT_THROW(StackFile(stack, "/nonexistent-dir/x.tif"), DataError);
}

}  // namespace
}  // namespace s2prep::pipeline
