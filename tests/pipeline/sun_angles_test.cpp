#include "pipeline/sun_angles.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "temp_dir.hpp"
#include "test_server.hpp"

namespace s2prep::pipeline {
namespace {

using nlohmann::json;
using s2prep::testing::TempDir;
using s2prep::testing::TestServer;

// A granule metadata file shaped like ESA's MTD_TL.xml, with these mean sun angles.
std::string mtd_tl(double zenith, double azimuth) {
  return "<?xml version=\"1.0\"?>\n<n1:Level-2A_Tile_ID xmlns:n1=\"x\"><n1:Geometric_Info>"
         "<Tile_Angles><Mean_Sun_Angle><ZENITH_ANGLE unit=\"deg\">" +
         std::to_string(zenith) + "</ZENITH_ANGLE><AZIMUTH_ANGLE unit=\"deg\">" +
         std::to_string(azimuth) +
         "</AZIMUTH_ANGLE></Mean_Sun_Angle></Tile_Angles></n1:Geometric_Info>"
         "</n1:Level-2A_Tile_ID>\n";
}

stac::Item item(const json& properties, const json& assets = json::object()) {
  json p = {{"datetime", "2023-08-21T22:20:45.625508Z"}};
  for (const auto& [k, v] : properties.items()) p[k] = v;
  return stac::Item::from_json(
      {{"id", "S2B_MSIL2A_20230821T222045_R029_T01KAB_20230822T000000"},
       {"geometry", {{"type", "Point"}, {"coordinates", {179.76, -16.75}}}},
       {"properties", p},
       {"assets", assets}});
}

// Tile 01KAB's grid (UTM 1 south), as its MTD_TL.xml gives it: upper left 99960, 8200000.
Grid tile_01kab() {
  Grid g;
  g.epsg = 32701;
  g.transform = {99960, 10, 0, 8200000, 0, -10};
  g.width = 10980;
  g.height = 10980;
  return g;
}

const TimePoint kSensing = *parse_time("2023-08-21T22:20:45.625508Z");

class SunAngles : public ::testing::Test {
 protected:
  SunAngles() { server_.serve_directory(files_.path()); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(files_ / name, std::ios::binary) << text;
  }
  TempDir files_{"s2prep-sun"};
  TestServer server_;
  net::HttpClient http_;
};

TEST_F(SunAngles, ItemPropertiesFirstWithoutFetchingAnything) {
  write("MTD_TL.xml", mtd_tl(10, 10));
  const json granule = {{"granule-metadata", {{"href", server_.blob_url("MTD_TL.xml")}}}};
  // Two tiles of one acquisition, one per provider's spelling: zenith averaged, azimuths
  // averaged as directions (350 and 10 give 0, not 180).
  const std::vector<stac::Item> items{
      item({{"s2:mean_solar_zenith", 30.0}, {"s2:mean_solar_azimuth", 350.0}}, granule),
      item({{"view:sun_elevation", 50.0}, {"view:sun_azimuth", 10.0}}, granule)};
  const AcquisitionSun sun = acquisition_sun(items, tile_01kab(), kSensing, http_, {});
  EXPECT_EQ(sun.source, SunSource::kItemProperties);
  EXPECT_EQ(to_string(sun.source), "item properties");
  EXPECT_NEAR(sun.angles.zenith_deg, 35.0, 1e-9);
  EXPECT_NEAR(std::remainder(sun.angles.azimuth_deg, 360.0), 0.0, 1e-9);
  EXPECT_EQ(server_.request_count("/blob"), 0);
}

TEST_F(SunAngles, GranuleMetadataWhenTheItemsSayNothing) {
  write("MTD_TL.xml", mtd_tl(38.4174390061789, 43.3009058473725));
  // Planetary Computer's key, then Earth Search's: both are found.
  for (const char* key : {"granule-metadata", "granule_metadata"}) {
    const std::vector<stac::Item> items{
        item(json::object(), {{key, {{"href", server_.blob_url("MTD_TL.xml")}}}})};
    const AcquisitionSun sun = acquisition_sun(items, tile_01kab(), kSensing, http_, {});
    EXPECT_EQ(sun.source, SunSource::kGranuleMetadata) << key;
    EXPECT_NEAR(sun.angles.zenith_deg, 38.417439, 1e-6) << key;
    EXPECT_NEAR(sun.angles.azimuth_deg, 43.300906, 1e-6) << key;
  }
  EXPECT_EQ(server_.request_count("/blob/MTD_TL.xml"), 2);
}

TEST_F(SunAngles, GranuleHrefsAreSigned) {
  write("MTD_TL.xml", mtd_tl(20, 200));
  server_.set_require_signing(true);
  const std::string token = [&] {
    net::HttpClient http;
    return json::parse(http.get(server_.token_url() + "/sentinel-2-l2a").body)
        .at("token")
        .get<std::string>();
  }();
  const std::vector<stac::Item> items{
      item(json::object(), {{"granule-metadata", {{"href", server_.blob_url("MTD_TL.xml")}}}})};
  int signed_hrefs = 0;
  const ingest::HrefSigner sign = [&](const std::string& href, bool) {
    ++signed_hrefs;
    return href + "?" + token;
  };
  const AcquisitionSun sun = acquisition_sun(items, tile_01kab(), kSensing, http_, sign);
  EXPECT_EQ(sun.source, SunSource::kGranuleMetadata);
  EXPECT_NEAR(sun.angles.azimuth_deg, 200, 1e-9);
  EXPECT_EQ(signed_hrefs, 1);
}

TEST_F(SunAngles, ComputedWhenNeitherSays) {
  // The granule metadata is missing (404) or unreadable: passed over.
  write("broken.xml", "<not-metadata/>");
  const std::vector<stac::Item> items{
      item(json::object(), {{"granule-metadata", {{"href", server_.blob_url("missing.xml")}}}}),
      item(json::object(), {{"granule_metadata", {{"href", server_.blob_url("broken.xml")}}}}),
      item(json::object(), {{"granule_metadata", {{"href", "s3://bucket/MTD_TL.xml"}}}})};
  const AcquisitionSun sun = acquisition_sun(items, tile_01kab(), kSensing, http_, {});
  EXPECT_EQ(sun.source, SunSource::kComputed);
  EXPECT_EQ(to_string(sun.source), "computed");
  // ESA's own mean angles for this tile and sensing time (its MTD_TL.xml, in
  // ../shared/fixtures/safe-metadata/N0509_T01KAB): zenith 38.4174, azimuth 43.3009. South of
  // the equator in August, the sun is to the north-east; a fixed 150 degrees would be wrong.
  EXPECT_NEAR(sun.angles.zenith_deg, 38.4174390061789, 0.1);
  EXPECT_NEAR(sun.angles.azimuth_deg, 43.3009058473725, 0.1);
}

}  // namespace
}  // namespace s2prep::pipeline
