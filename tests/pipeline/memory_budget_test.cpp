#include "pipeline/memory_budget.hpp"

#include <gtest/gtest.h>

#include <s2prep/errors.hpp>
#include "ingest/acquisition_reader.hpp"

namespace s2prep::pipeline {
namespace {

TEST(MemoryBudget, AWholeCountryIsRefusedAFieldIsNot) {
  Grid field;
  field.epsg = 32633;
  field.width = 300;
  field.height = 200;
  Grid context = field;
  context.width = context.height = 512;
  EXPECT_NO_THROW(check_memory(field, context, 2, false, 4ull << 30));
  Grid country = field;
  country.width = country.height = 100000;  // 1000 km
  try {
    check_memory(country, country, 1, false, 24ull << 30);
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("100000 x 100000 pixels"), std::string::npos) << m;
    EXPECT_NE(m.find("GB of memory"), std::string::npos) << m;
    EXPECT_NE(m.find("bands stay on disk"), std::string::npos) << m;
  }
  // Bands in memory: 60 bytes per context pixel plus the fixed part, hand-computed.
  Grid small = field;
  small.width = 40;
  small.height = 25;
  EXPECT_EQ(estimated_unit_bytes(small, 0, 1, false), (656ull << 20) + 60000);
  EXPECT_EQ(estimated_unit_bytes(small, 100, 3, false), (656ull << 20) + 60000 + 2 * 25000 + 3400);
  // Bands on disk, a whole tile: the fixed part, 8 band strips of 2048 rows in flight (each with
  // as much again for the warper) and 28 bytes per context pixel; the outputs are the context
  // rasters themselves.
  Grid tile = field;
  tile.width = tile.height = 10980;
  const std::uint64_t strip = 10980ull * 2048 * 2;
  EXPECT_EQ(estimated_unit_bytes(tile, tile.pixel_count(), 1, true),
            (656ull << 20) + 8 * 2 * strip + 28ull * 10980 * 10980);
  EXPECT_LT(estimated_unit_bytes(tile, tile.pixel_count(), 1, true) * 2,
            estimated_unit_bytes(tile, tile.pixel_count(), 1, false));
  // The strips in flight do not grow with the cores: 64 reads asked, 8 run.
  EXPECT_EQ(ingest::strip_reads_in_flight(tile, 1, 64), 8);
  EXPECT_EQ(ingest::strip_reads_in_flight(tile, 1, 3), 3);
  // A field's grid: strips are the whole grid, and at most 32 are read at once.
  EXPECT_EQ(ingest::strip_reads_in_flight(context, 1, 64), 32);
  EXPECT_EQ(ingest::strip_read_bytes(context, 1), 32ull * 512 * 512 * 2 * 2);
  // A region too large with the built-in detector fits with its bands on disk.
  Grid region = field;
  region.width = region.height = 14000;
  EXPECT_THROW(check_memory(region, region, 1, false, 8ull << 30), InputError);
  EXPECT_NO_THROW(check_memory(region, region, 1, true, 8ull << 30));
}

}  // namespace
}  // namespace s2prep::pipeline
