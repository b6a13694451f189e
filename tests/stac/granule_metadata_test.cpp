#include "stac/granule_metadata.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace s2prep::stac {
namespace {

namespace fs = std::filesystem;

TEST(GranuleMetadata, ReadsMeanSunAngle) {
  const char* xml = R"(<?xml version="1.0"?>
<n1:Level-2A_Tile_ID xmlns:n1="x"><n1:Geometric_Info><Tile_Angles>
  <Sun_Angles_Grid><Zenith><COL_STEP unit="m">5000</COL_STEP></Zenith></Sun_Angles_Grid>
  <Mean_Sun_Angle><ZENITH_ANGLE unit="deg">38.5</ZENITH_ANGLE>
  <AZIMUTH_ANGLE unit="deg">143.25</AZIMUTH_ANGLE></Mean_Sun_Angle>
</Tile_Angles></n1:Geometric_Info></n1:Level-2A_Tile_ID>)";
  const auto angles = parse_mean_sun_angles(xml);
  ASSERT_TRUE(angles);
  EXPECT_DOUBLE_EQ(angles->zenith_deg, 38.5);
  EXPECT_DOUBLE_EQ(angles->azimuth_deg, 143.25);
}

TEST(GranuleMetadata, RejectsWhatIsNotAnAngle) {
  EXPECT_FALSE(parse_mean_sun_angles("not xml"));
  EXPECT_FALSE(parse_mean_sun_angles("<a><b/></a>"));
  EXPECT_FALSE(parse_mean_sun_angles(
      "<a><Mean_Sun_Angle><ZENITH_ANGLE>abc</ZENITH_ANGLE><AZIMUTH_ANGLE>1</AZIMUTH_ANGLE>"
      "</Mean_Sun_Angle></a>"));
  EXPECT_FALSE(parse_mean_sun_angles(
      "<a><Mean_Sun_Angle><ZENITH_ANGLE>95</ZENITH_ANGLE><AZIMUTH_ANGLE>1</AZIMUTH_ANGLE>"
      "</Mean_Sun_Angle></a>"));
}

// The real ESA files: values read off the files by hand (lines 110-113 of each).
TEST(GranuleMetadata, RealGranuleFiles) {
  const fs::path dir = fs::path(S2PREP_SHARED_DIR) / "fixtures" / "safe-metadata";
  if (!fs::exists(dir)) GTEST_SKIP() << "no ../shared/fixtures/safe-metadata";
  auto read = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const auto n0509 = parse_mean_sun_angles(read(dir / "N0509_T01KAB" / "MTD_TL.xml"));
  ASSERT_TRUE(n0509);
  EXPECT_NEAR(n0509->zenith_deg, 38.4174390061789, 1e-12);
  EXPECT_NEAR(n0509->azimuth_deg, 43.3009058473725, 1e-12);
  const auto n0212 = parse_mean_sun_angles(read(dir / "N0212_T11SLT" / "MTD_TL.xml"));
  ASSERT_TRUE(n0212);
  EXPECT_NEAR(n0212->zenith_deg, 27.3677090099684, 1e-12);
  EXPECT_NEAR(n0212->azimuth_deg, 145.690428046411, 1e-12);
}

}  // namespace
}  // namespace s2prep::stac
