#include "ingest/reader.hpp"

#include <cpl_conv.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <vector>

#include <s2prep/errors.hpp>
#include "fixtures.hpp"
#include "ingest/gdal_env.hpp"
#include "ingest/grid.hpp"
#include "ingest/mem_band.hpp"

using namespace s2prep;
using namespace s2prep::ingest;
using namespace s2prep::ingest::test;

namespace {

// An output grid: a window of the 10 m tile grid (aligned), 2 km x 1.5 km.
Grid aligned_window(const Grid& tile10, int col, int row, int w = 200, int h = 150) {
  return tile10.sub_grid(Window{col, row, w, h});
}

// The GDAL error handler ran every message through std::regex, which overflowed the stack of a
// read thread on a URL of a few tens of kilobytes; http_status used std::regex too.
TEST(GdalEnv, LongUrlsInErrorsAreRedactedAndTheStatusStillFound) {
  const std::string token(100000, 'z');
  const std::string path(40000, 'p');
  ErrorCapture errors;
  CPLError(CE_Failure, CPLE_HttpResponse, "HTTP response code on https://h/%s.tif?sig=%s: 503",
           path.c_str(), token.c_str());
  ASSERT_EQ(errors.messages().size(), 1u);
  EXPECT_EQ(errors.messages()[0].text.find("zzzz"), std::string::npos);
  EXPECT_EQ(errors.http_status(), 503);
  EXPECT_EQ(redact_urls("at https://h/x.tif?sig=" + token + " failed"),
            "at https://h/x.tif failed");
}

// Leaves digits on the stack where the next call's locals will be: a buffer read on past its
// end would take them for more digits of the address.
[[gnu::noinline]] void dirty_the_stack() {
  volatile char dirt[1024];
  for (auto& c : dirt) c = '7';
}

// The MEM driver's band option names exactly the buffer's address, as printf's %p does (an
// independent path), whatever lies on the stack after CPLPrintPointer's unterminated digits.
TEST(GdalEnv, DataPointerOptionIsExactlyTheAddress) {
  std::vector<std::uint16_t> pixels(16);
  for (const void* p :
       {static_cast<const void*>(pixels.data()), static_cast<const void*>(pixels.data() + 7)}) {
    char expected[64];
    std::snprintf(expected, sizeof(expected), "%p", p);
    dirty_the_stack();
    const std::string option = mem_data_pointer_option(p);
    EXPECT_EQ(option, std::string("DATAPOINTER=") + expected);
  }
  // GDAL reads it back to the same address: a MEM band over the buffer sees its pixels.
  pixels[5] = 4321;
  configure_gdal();
  DatasetPtr ds(GDALCreate(GDALGetDriverByName("MEM"), "", 4, 4, 0, GDT_UInt16, nullptr));
  ASSERT_TRUE(ds);
  const std::string option = mem_data_pointer_option(pixels.data());
  char* options[] = {const_cast<char*>(option.c_str()), nullptr};
  ASSERT_EQ(GDALAddBand(ds.get(), GDT_UInt16, options), CE_None);
  std::uint16_t value = 0;
  ASSERT_EQ(GDALRasterIO(GDALGetRasterBand(ds.get(), 1), GF_Read, 1, 1, 1, 1, &value, 1, 1,
                         GDT_UInt16, 0, 0),
            CE_None);
  EXPECT_EQ(value, 4321);
}

TEST(GdalEnv, HttpStatusForms) {
  ErrorCapture errors;
  CPLError(CE_Failure, CPLE_AppDefined, "HTTP error code : 429");
  EXPECT_EQ(errors.http_status(), 429);
  CPLError(CE_Failure, CPLE_AppDefined, "HTTP response code on http://h:80/a/1.tif: 404");
  EXPECT_EQ(errors.http_status(), 404);
  errors.clear();
  CPLError(CE_Failure, CPLE_AppDefined, "HTTP response code: 4041");
  CPLError(CE_Failure, CPLE_AppDefined, "nothing about HTTP 500 here");
  EXPECT_EQ(errors.http_status(), 0);
}

}  // namespace

TEST(Reader, TenMetreBandIsCopiedPixelForPixel) {
  TempDir tmp;
  const Grid g10 = tile_grid(32633, 600000, 5700000, 10);
  const fs::path p = tmp.path / "B02.tif";
  write_tif<std::uint16_t>(p, g10, [](int c, int r) { return std::uint16_t(1 + c * 7 + r * 3); });
  const Grid out = aligned_window(g10, 123, 45);
  ReadInfo info;
  const auto r = read_band<std::uint16_t>({"item", "B02", p.string(), {}}, out,
                                          Resampling::Bilinear, {}, &info);
  EXPECT_FALSE(info.warped);
  EXPECT_EQ(info.attempts, 1);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      ASSERT_EQ(r.at(0, y, x), 1 + (x + 123) * 7 + (y + 45) * 3) << x << "," << y;
}

TEST(Reader, WindowOutsideTheFileIsNodata) {
  TempDir tmp;
  const Grid g10 = tile_grid(32633, 600000, 5700000, 10);
  const fs::path p = tmp.path / "B04.tif";
  write_tif<std::uint16_t>(p, g10, [](int c, int r) { return std::uint16_t(100 + (c + r) % 50); });
  // 30 columns to the left of and 20 rows above the tile.
  const Grid out = aligned_window(g10, -30, -20, 100, 80);
  ReadInfo info;
  const auto r = read_band<std::uint16_t>({"item", "B04", p.string(), {}}, out,
                                          Resampling::Bilinear, {}, &info);
  EXPECT_FALSE(info.warped);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const bool inside = x >= 30 && y >= 20;
      ASSERT_EQ(r.at(0, y, x), inside ? 100 + (x - 30 + y - 20) % 50 : 0) << x << "," << y;
    }
  // Entirely outside: all nodata, no error.
  const auto far = read_band<std::uint16_t>(
      {"item", "B04", p.string(), {}}, aligned_window(g10, 2000, 0, 10, 10), Resampling::Bilinear);
  for (auto v : far.data) ASSERT_EQ(v, 0);
}

TEST(Reader, TwentyAndSixtyMetreBandsMatchGdalWarp) {
  TempDir tmp;
  for (int res : {20, 60}) {
    const Grid src = tile_grid(32633, 600000, 5700000, res);
    const fs::path p = tmp.path / ("band" + std::to_string(res) + ".tif");
    write_tif<std::uint16_t>(p, src, [&](int c, int r) -> std::uint16_t {
      const double x = src.transform[0] + (c + 0.5) * res, y = src.transform[3] - (r + 0.5) * res;
      if (c < 7 && r > 20) return 0;  // a nodata corner: blending must leave it out
      return field(x, y, 3);
    });
    const Grid g10 = tile_grid(32633, 600000, 5700000, 10);
    // A window touching the nodata corner and the tile edge, and one in the interior at an odd
    // offset (not on the coarse grid's pixel edges).
    for (const Grid& out :
         {aligned_window(g10, 0, 150, 300, 250), aligned_window(g10, 333, 217, 201, 133)}) {
      ReadInfo info;
      const auto r = read_band<std::uint16_t>({"item", "B05", p.string(), {}}, out,
                                              Resampling::Bilinear, {}, &info);
      EXPECT_TRUE(info.warped);
      const auto ref = gdalwarp_reference<std::uint16_t>(p.string(), out, "bilinear");
      ASSERT_EQ(ref.size(), r.data.size());
      int differ = 0, zeros = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) {
        differ += ref[i] != r.data[i];
        zeros += r.data[i] == 0;
      }
      EXPECT_EQ(differ, 0) << res << " m";
      if (out.transform[0] == 600000) {
        EXPECT_GT(zeros, 0);
      }  // the nodata corner stays nodata
    }
  }
}

TEST(Reader, SclIsResampledNearest) {
  TempDir tmp;
  const Grid src = tile_grid(32633, 600000, 5700000, 20);
  const fs::path p = tmp.path / "SCL.tif";
  write_tif<std::uint8_t>(p, src, [](int c, int r) { return std::uint8_t((c / 3 + r / 5) % 12); });
  const Grid out = aligned_window(tile_grid(32633, 600000, 5700000, 10), 11, 7, 150, 120);
  const auto r = read_band<std::uint8_t>({"item", "SCL", p.string(), {}}, out, Resampling::Nearest);
  // Nearest from 20 m to an aligned 10 m grid: each 10 m pixel takes the 20 m pixel it lies in.
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const int c = (x + 11) / 2, rr = (y + 7) / 2;
      ASSERT_EQ(r.at(0, y, x), (c / 3 + rr / 5) % 12) << x << "," << y;
    }
  EXPECT_EQ(gdalwarp_reference<std::uint8_t>(p.string(), out, "near"), r.data);
}

TEST(Reader, GridInAnotherUtmZoneIsWarpedLikeGdalWarp) {
  TempDir tmp;
  // A tile in zone 33 near its eastern edge (about 18.9 E at 50.5 N), read onto a zone 34 grid.
  const Grid src = tile_grid(32633, 780000, 5600040, 20);
  const fs::path p = tmp.path / "B11.tif";
  write_tif<std::uint16_t>(p, src, [&](int c, int r) {
    return field(src.transform[0] + (c + 0.5) * 20, src.transform[3] - (r + 0.5) * 20, 10);
  });
  // The zone 34 grid covering the middle of the tile.
  Grid out;
  out.epsg = 32634;
  {
    OGRSpatialReferenceH a = OSRNewSpatialReference(nullptr), b = OSRNewSpatialReference(nullptr);
    OSRImportFromEPSG(a, 32633);
    OSRImportFromEPSG(b, 32634);
    OSRSetAxisMappingStrategy(a, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(b, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH t = OCTNewCoordinateTransformation(a, b);
    double x = 782000, y = 5597000;
    ASSERT_TRUE(OCTTransform(t, 1, &x, &y, nullptr));
    out.transform = {std::floor(x / 10) * 10, 10, 0, std::floor(y / 10) * 10, 0, -10};
    out.width = 180;
    out.height = 160;
    OCTDestroyCoordinateTransformation(t);
    OSRRelease(a);
    OSRRelease(b);
  }
  ReadInfo info;
  const auto r = read_band<std::uint16_t>({"item", "B11", p.string(), {}}, out,
                                          Resampling::Bilinear, {}, &info);
  EXPECT_TRUE(info.warped);
  const auto ref = gdalwarp_reference<std::uint16_t>(p.string(), out, "bilinear");
  ASSERT_EQ(ref.size(), r.data.size());
  int differ = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) differ += ref[i] != r.data[i];
  EXPECT_EQ(differ, 0);
  for (auto v : r.data) ASSERT_NE(v, 0);  // fully inside the tile
}

TEST(Reader, FootprintEdgeStaysNodataWithoutBlending) {
  TempDir tmp;
  const Grid src = tile_grid(32633, 600000, 5700000, 20);
  const fs::path p = tmp.path / "B06.tif";
  // Valid data (constant 1234) only east of a diagonal swath edge.
  write_tif<std::uint16_t>(p, src,
                           [](int c, int r) { return std::uint16_t(c > r / 2 + 40 ? 1234 : 0); });
  const Grid out = aligned_window(tile_grid(32633, 600000, 5700000, 10), 0, 0, 300, 300);
  const auto r =
      read_band<std::uint16_t>({"item", "B06", p.string(), {}}, out, Resampling::Bilinear);
  int zeros = 0, valid = 0;
  for (auto v : r.data) {
    ASSERT_TRUE(v == 0 || v == 1234) << v;  // never a blend of data and nodata
    (v == 0 ? zeros : valid)++;
  }
  EXPECT_GT(zeros, 1000);
  EXPECT_GT(valid, 1000);
}

TEST(Reader, FailureNamesAssetAndItemAndHidesToken) {
  TempDir tmp;
  const Grid out = aligned_window(tile_grid(32633, 600000, 5700000, 10), 0, 0, 10, 10);
  try {
    read_band<std::uint16_t>({"S2X_ITEM", "B03", (tmp.path / "missing.tif").string(), {}}, out,
                             Resampling::Bilinear);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("B03"), std::string::npos) << m;
    EXPECT_NE(m.find("S2X_ITEM"), std::string::npos) << m;
  }
  // A corrupt file.
  std::ofstream(tmp.path / "bad.tif") << "not a tiff";
  EXPECT_THROW(read_band<std::uint16_t>({"i", "B03", (tmp.path / "bad.tif").string(), {}}, out,
                                        Resampling::Bilinear),
               DataError);
  // A remote href that cannot be reached: retried a bounded number of times, token not shown.
  ReadOptions o;
  o.retry_backoff = std::chrono::milliseconds(1);
  o.timeout = std::chrono::seconds(5);
  int resigned = 0;
  BandSource remote{"S2X_ITEM", "B03",
                    "http://127.0.0.1:9/blob/B03.tif?st=2023&se=2099&sig=SECRETSIG", [&] {
                      ++resigned;
                      return std::string("http://127.0.0.1:9/blob/B03.tif?sig=SECRET2");
                    }};
  ReadInfo info;
  try {
    read_band<std::uint16_t>(remote, out, Resampling::Bilinear, o, &info);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find("SECRET"), std::string::npos) << m;
    EXPECT_NE(m.find("http://127.0.0.1:9/blob/B03.tif"), std::string::npos) << m;
  }
  EXPECT_LE(info.attempts, o.max_attempts + o.max_resigns);
  EXPECT_LE(resigned, o.max_resigns);
}

TEST(GdalEnv, RedactsQueryStrings) {
  EXPECT_EQ(
      redact_urls(
          "HTTP error on https://a.blob.core.windows.net/c/B02.tif?st=1&se=2&sig=abc%3D: 403"),
      "HTTP error on https://a.blob.core.windows.net/c/B02.tif: 403");
  EXPECT_EQ(redact_urls("/vsicurl/http://h/x.tif?sig=zz failed"), "/vsicurl/http://h/x.tif failed");
  EXPECT_EQ(redact_urls("no url here"), "no url here");
  EXPECT_EQ(redact_urls("token st=1&sig=abc&sv=2 leaked").find("abc"), std::string::npos);
}

TEST(GdalEnv, ConfiguresOnceAndCapturesErrorsPerThread) {
  configure_gdal();
  EXPECT_FALSE(configure_gdal(GdalOptions{}));  // the first configuration stays
  EXPECT_STREQ(CPLGetConfigOption("GDAL_HTTP_MULTIRANGE", ""), "SERIAL");
  EXPECT_STREQ(CPLGetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", ""), "EMPTY_DIR");
  EXPECT_EQ(CPLGetConfigOption("CPL_VSIL_CURL_USE_HEAD", nullptr), nullptr);
  ErrorCapture errors;
  CPLError(CE_Failure, CPLE_HttpResponse, "HTTP response code on https://x/y.tif?sig=S: 403");
  EXPECT_TRUE(errors.has_failure());
  EXPECT_EQ(errors.http_status(), 403);
  errors.clear();
  CPLError(CE_Failure, CPLE_HttpResponse,
           "HTTP response code on http://127.0.0.1:37299/b.tif: 503");
  EXPECT_EQ(errors.http_status(), 503);
  EXPECT_EQ(errors.failure_text().find("sig"), std::string::npos);
  EXPECT_FALSE(gdal_version().empty());
}

TEST(Reader, BigEarthNetTwentyMetreBandMatchesGdalWarp) {
  const fs::path root = fs::path(S2PREP_SHARED_DIR) / "fixtures" / "bigearthnet";
  if (!fs::exists(root)) GTEST_SKIP() << "no ../shared/fixtures/bigearthnet";
  configure_gdal();  // ctest runs each test alone: nothing else has registered the drivers
  int checked = 0;
  for (const auto& patch : fs::directory_iterator(root)) {
    const std::string name = patch.path().filename().string();
    const fs::path b02 = patch.path() / (name + "_B02.tif");
    if (!fs::exists(b02)) continue;
    Ds ds(GDALOpen(b02.c_str(), GA_ReadOnly));
    ASSERT_TRUE(ds);
    Grid g;
    GDALGetGeoTransform(ds.get(), g.transform.data());
    g.width = GDALGetRasterXSize(ds.get());
    g.height = GDALGetRasterYSize(ds.get());
    g.epsg = std::atoi(OSRGetAuthorityCode(GDALGetSpatialRef(ds.get()), nullptr));
    // B02 onto its own grid: pixel for pixel.
    ReadInfo info;
    const auto same = read_band<std::uint16_t>({name, "B02", b02.string(), {}}, g,
                                               Resampling::Bilinear, {}, &info);
    EXPECT_FALSE(info.warped);
    EXPECT_EQ(same.data, read_all<std::uint16_t>(b02));
    for (const char* band : {"B05", "B8A", "B11", "B01"}) {
      const fs::path p = patch.path() / (name + "_" + band + ".tif");
      const auto r = read_band<std::uint16_t>({name, band, p.string(), {}}, g, Resampling::Bilinear,
                                              {}, &info);
      EXPECT_TRUE(info.warped);
      EXPECT_EQ(r.data, gdalwarp_reference<std::uint16_t>(p.string(), g, "bilinear"))
          << name << " " << band;
    }
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(Reader, WarpOntoAGridOutsideTheFileIsAllNodata) {
  TempDir tmp;
  const Grid src = tile_grid(32633, 600000, 5700000, 20);
  const fs::path p = tmp.path / "B05.tif";
  write_tif<std::uint16_t>(p, src, [](int, int) { return std::uint16_t(700); });
  // Beside the tile, and straddling its eastern edge.
  const Grid g10 = tile_grid(32633, 600000, 5700000, 10);
  const auto beside = read_band<std::uint16_t>(
      {"i", "B05", p.string(), {}}, g10.sub_grid(Window{700, 0, 50, 50}), Resampling::Bilinear);
  for (auto v : beside.data) ASSERT_EQ(v, 0);
  const auto edge = read_band<std::uint16_t>(
      {"i", "B05", p.string(), {}}, g10.sub_grid(Window{580, 0, 50, 50}), Resampling::Bilinear);
  EXPECT_EQ(edge.data, gdalwarp_reference<std::uint16_t>(p.string(), edge.grid, "bilinear"));
  EXPECT_EQ(edge.at(0, 10, 5), 700);
  EXPECT_EQ(edge.at(0, 10, 45), 0);
}

TEST(Reader, ReadIntoAFilledBufferEqualsReadBand) {
  TempDir tmp;
  const Grid g10 = tile_grid(32633, 600000, 5700000, 10);
  const Grid g20 = tile_grid(32633, 600000, 5700000, 20);
  const fs::path p10 = tmp.path / "B02.tif", p20 = tmp.path / "B05.tif";
  write_tif<std::uint16_t>(p10, g10, [](int c, int r) { return std::uint16_t(1 + c * 7 + r * 3); });
  write_tif<std::uint16_t>(p20, g20, [](int c, int r) { return std::uint16_t(500 + c - r); });
  // Inside, straddling the edge, and beside the file; the buffer starts as garbage, as a reused
  // one would.
  for (const Window w : {Window{123, 45, 200, 150}, Window{-30, -20, 100, 80},
                         Window{580, 0, 50, 50}, Window{2000, 0, 10, 10}}) {
    const Grid out = g10.sub_grid(w);
    for (const auto& [path, warped] : {std::pair{p10, false}, std::pair{p20, true}}) {
      const BandSource src{"item", "B", path.string(), {}};
      ReadInfo info, into_info;
      const auto ref = read_band<std::uint16_t>(src, out, Resampling::Bilinear, {}, &info);
      std::vector<std::uint16_t> buffer(out.pixel_count(), 0xABCD);
      read_band_into<std::uint16_t>(src, out, Resampling::Bilinear, buffer.data(), {}, &into_info);
      EXPECT_EQ(buffer, ref.data) << path << " " << w.col << "," << w.row;
      EXPECT_EQ(into_info.warped, warped);
      EXPECT_EQ(info.warped, warped);
      if (warped) {
        EXPECT_EQ(buffer, gdalwarp_reference<std::uint16_t>(path.string(), out, "bilinear"));
      }
    }
  }
  // SCL, nearest.
  const fs::path scl = tmp.path / "SCL.tif";
  write_tif<std::uint8_t>(scl, g20, [](int c, int r) { return std::uint8_t(1 + (c + r) % 11); });
  const Grid out = g10.sub_grid(Window{100, 100, 64, 48});
  std::vector<std::uint8_t> buffer(out.pixel_count(), 0xEE);
  read_band_into<std::uint8_t>({"item", "SCL", scl.string(), {}}, out, Resampling::Nearest,
                               buffer.data());
  EXPECT_EQ(buffer, gdalwarp_reference<std::uint8_t>(scl.string(), out, "near"));
}

TEST(Reader, PlanetaryComputerItemDeclaresTheTileGrid) {
  const fs::path p = fs::path(S2PREP_SHARED_DIR) / "fixtures" / "planetary-computer" /
                     "item_S2B_MSIL2A_20190629T212529_R043_T06VVN.json";
  if (!fs::exists(p)) GTEST_SKIP() << "no ../shared/fixtures/planetary-computer";
  std::ifstream in(p);
  const auto item = stac::Item::from_json(nlohmann::json::parse(in));
  const Grid g = asset_grid(item, "B02", "/nonexistent");  // from proj:* alone, nothing opened
  EXPECT_EQ(g.width, 10980);
  EXPECT_EQ(g.height, 10980);
  EXPECT_DOUBLE_EQ(g.resolution(), 10);
  EXPECT_EQ(g.epsg, 32606);
  const Grid c = crop_to_bounds(
      g, {g.min_x() + 1234, g.min_y() + 5678, g.min_x() + 3456, g.min_y() + 7891}, "T06VVN");
  EXPECT_EQ(c.width, 223);   // 1230 .. 3460
  EXPECT_EQ(c.height, 223);  // 5670 .. 7900
}
