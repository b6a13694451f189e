#include "core/time.hpp"

#include <gtest/gtest.h>

#include <s2prep/errors.hpp>

namespace s2prep {
namespace {

using namespace std::chrono;

TEST(ParseTime, DateIsMidnightUtc) {
  const auto t = parse_time("2023-06-01");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_time(*t), "2023-06-01T00:00:00Z");
  // 2023-06-01 is day 19509 since the epoch (computed by hand: 53 years, 13 leap days, + 151).
  EXPECT_EQ(duration_cast<days>(t->time_since_epoch()).count(), 19509);
}

TEST(ParseTime, DateTimeWithFractionAndOffset) {
  EXPECT_EQ(format_time(*parse_time("2023-06-01T10:05:59.024Z")), "2023-06-01T10:05:59.024000Z");
  EXPECT_EQ(format_time(*parse_time("2023-06-01T12:05:59+02:00")), "2023-06-01T10:05:59Z");
  EXPECT_EQ(format_time(*parse_time("2023-06-01 10:05")), "2023-06-01T10:05:00Z");
}

TEST(ParseTime, RejectsNonsense) {
  EXPECT_FALSE(parse_time("2023-02-30"));
  EXPECT_FALSE(parse_time("yesterday"));
  EXPECT_FALSE(parse_time("2023-06-01T25:00:00Z"));
  EXPECT_FALSE(parse_time("2023-06-01T10:00:00Zjunk"));
  EXPECT_FALSE(parse_time(""));
}

TEST(TimeRange, EndDateIsInclusive) {
  const auto r = parse_time_range("2023-06-01", "2023-06-30");
  EXPECT_EQ(r.stac_interval(), "2023-06-01T00:00:00Z/2023-06-30T23:59:59.999999Z");
}

TEST(TimeRange, EndBeforeStartIsInputError) {
  EXPECT_THROW(parse_time_range("2023-06-30", "2023-06-01"), InputError);
  try {
    parse_time_range("2023-06-01", "2023-13-01");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--end"), std::string::npos);
    EXPECT_EQ(e.exit_code(), 2);
  }
}

TEST(FormatTime, CompactForFileNames) {
  EXPECT_EQ(format_compact(*parse_time("2023-06-01T10:05:59.5Z")), "20230601T100559");
}

}  // namespace
}  // namespace s2prep
