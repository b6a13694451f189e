#include "stac/item_checks.hpp"

#include <gtest/gtest.h>

namespace s2prep::stac {
namespace {

TEST(ItemChecks, MgrsTilesAreTwoDigitsAndThreeCapitals) {
  EXPECT_TRUE(is_mgrs_tile("33UUP"));
  EXPECT_TRUE(is_mgrs_tile("06VVN"));
  EXPECT_FALSE(is_mgrs_tile("6VVN"));
  EXPECT_FALSE(is_mgrs_tile("33uup"));
  EXPECT_FALSE(is_mgrs_tile(std::string("33UU\0P", 6)));
  EXPECT_FALSE(is_mgrs_tile("33UU/"));
  EXPECT_FALSE(is_mgrs_tile(""));
}

TEST(ItemChecks, ItemIdsThatCanNameFiles) {
  EXPECT_TRUE(is_safe_item_id("S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531"));
  EXPECT_TRUE(is_safe_item_id("S2B_T06VVN_20190629T212529_L2A"));
  EXPECT_FALSE(is_safe_item_id(""));
  EXPECT_FALSE(is_safe_item_id(".hidden"));
  EXPECT_FALSE(is_safe_item_id("../../etc/passwd"));
  EXPECT_FALSE(is_safe_item_id("a\nb"));
  EXPECT_FALSE(is_safe_item_id(std::string(201, 'A')));
  EXPECT_TRUE(is_safe_item_id(std::string(200, 'A')));
}

TEST(ItemChecks, ItemsOutsideTheRangeOrWithUnsafeNamesAreUnusable) {
  const TimeRange range = parse_time_range("2020-01-01", "2020-12-31");
  Item item;
  item.id = "S2A_MSIL2A_20200615T101559_R022_T33UUP_20200615T120000";
  item.mgrs_tile = "33UUP";
  item.datetime = *parse_time("2020-06-15T10:15:59Z");
  EXPECT_EQ(unusable_reason(item, range), std::nullopt);
  item.datetime = *parse_time("2020-12-31T23:59:59Z");  // the end day is inclusive
  EXPECT_EQ(unusable_reason(item, range), std::nullopt);
  item.datetime = *parse_time("1999-06-15T10:15:59Z");
  ASSERT_TRUE(unusable_reason(item, range));
  EXPECT_NE(unusable_reason(item, range)->find("outside the requested time range"),
            std::string::npos);
  item.datetime = *parse_time("2020-06-15T10:15:59Z");
  item.mgrs_tile = std::string("33U\0P", 5);
  ASSERT_TRUE(unusable_reason(item, range));
  EXPECT_NE(unusable_reason(item, range)->find("\\x00"), std::string::npos);
}

}  // namespace
}  // namespace s2prep::stac
