#pragma once
// Small Sentinel-2-like GeoTIFFs written with GDAL for the ingest tests, and GDAL's own warper
// (the gdalwarp library API) as the independent reference.

#include <gdal.h>
#include <gdal_utils.h>
#include <gtest/gtest.h>
#include <ogr_srs_api.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <s2prep/grid.hpp>
#include "core/bands.hpp"
#include "stac/item.hpp"

namespace s2prep::ingest::test {

namespace fs = std::filesystem;

struct Closer {
  void operator()(GDALDatasetH d) const {
    if (d) GDALClose(d);
  }
};
using Ds = std::unique_ptr<std::remove_pointer_t<GDALDatasetH>, Closer>;

// A grid of a Sentinel-2-like tile at `res` metres with origin (x0, y0) and `size_m` metres.
inline Grid tile_grid(int epsg, double x0, double y0, double res, double size_m = 6000) {
  Grid g;
  g.epsg = epsg;
  g.transform = {x0, res, 0, y0, 0, -res};
  g.width = g.height = static_cast<int>(size_m / res);
  return g;
}

// Writes a tiled GeoTIFF (256-pixel blocks, DEFLATE, nodata 0) with value(col, row).
template <class T>
void write_tif(const fs::path& path, const Grid& g, const std::function<T(int, int)>& value) {
  GDALAllRegister();
  const GDALDataType type = sizeof(T) == 1 ? GDT_Byte : GDT_UInt16;
  const char* options[] = {"TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE",
                           nullptr};
  Ds ds(GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), g.width, g.height, 1, type,
                   const_cast<char**>(options)));
  ASSERT_TRUE(ds) << path;
  auto gt = g.transform;
  GDALSetGeoTransform(ds.get(), gt.data());
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  OSRImportFromEPSG(srs, g.epsg);
  GDALSetSpatialRef(ds.get(), srs);
  OSRRelease(srs);
  GDALRasterBandH band = GDALGetRasterBand(ds.get(), 1);
  GDALSetRasterNoDataValue(band, 0);
  std::vector<T> px(std::size_t(g.width) * g.height);
  for (int r = 0; r < g.height; ++r)
    for (int c = 0; c < g.width; ++c) px[std::size_t(r) * g.width + c] = value(c, r);
  ASSERT_EQ(GDALRasterIO(band, GF_Write, 0, 0, g.width, g.height, px.data(), g.width, g.height,
                         type, 0, 0),
            CE_None);
}

template <class T>
std::vector<T> read_all(const fs::path& path) {
  Ds ds(GDALOpen(path.c_str(), GA_ReadOnly));
  EXPECT_TRUE(ds) << path;
  if (!ds) return {};
  const int w = GDALGetRasterXSize(ds.get()), h = GDALGetRasterYSize(ds.get());
  std::vector<T> px(std::size_t(w) * h);
  const GDALDataType type = sizeof(T) == 1 ? GDT_Byte : GDT_UInt16;
  EXPECT_EQ(GDALRasterIO(GDALGetRasterBand(ds.get(), 1), GF_Read, 0, 0, w, h, px.data(), w, h, type,
                         0, 0),
            CE_None);
  return px;
}

// `gdalwarp -t_srs EPSG:<grid> -te <grid bounds> -tr <res> -r <method> -srcnodata 0 -dstnodata 0
// -et 0` through the library API: what GDAL itself makes of the same file on the same grid, with
// the exact transformer (the default approximation depends on the extent warped).
template <class T>
std::vector<T> gdalwarp_reference(const std::string& gdal_path, const Grid& g,
                                  const std::string& method) {
  GDALAllRegister();
  Ds src(GDALOpen(gdal_path.c_str(), GA_ReadOnly));
  EXPECT_TRUE(src) << gdal_path;
  if (!src) return {};
  auto num = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.10f", v);
    return std::string(buf);
  };
  std::vector<std::string> args = {"-of",
                                   "MEM",
                                   "-t_srs",
                                   "EPSG:" + std::to_string(g.epsg),
                                   "-te",
                                   num(g.min_x()),
                                   num(g.min_y()),
                                   num(g.max_x()),
                                   num(g.max_y()),
                                   "-tr",
                                   num(g.resolution()),
                                   num(g.resolution()),
                                   "-r",
                                   method,
                                   "-srcnodata",
                                   "0",
                                   "-dstnodata",
                                   "0",
                                   "-et",
                                   "0",
                                   "-ot",
                                   sizeof(T) == 1 ? "Byte" : "UInt16"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALWarpAppOptions* opts = GDALWarpAppOptionsNew(argv.data(), nullptr);
  GDALDatasetH in = src.get();
  int usage_error = 0;
  Ds out(GDALWarp("", nullptr, 1, &in, opts, &usage_error));
  GDALWarpAppOptionsFree(opts);
  EXPECT_TRUE(out);
  if (!out) return {};
  EXPECT_EQ(GDALGetRasterXSize(out.get()), g.width);
  EXPECT_EQ(GDALGetRasterYSize(out.get()), g.height);
  std::vector<T> px(std::size_t(g.width) * g.height);
  const GDALDataType type = sizeof(T) == 1 ? GDT_Byte : GDT_UInt16;
  EXPECT_EQ(GDALRasterIO(GDALGetRasterBand(out.get(), 1), GF_Read, 0, 0, g.width, g.height,
                         px.data(), g.width, g.height, type, 0, 0),
            CE_None);
  return px;
}

// A smooth, non-linear reflectance field in map coordinates (so bilinear interpolation is tested
// on something that is not itself bilinear), distinct per band.
inline std::uint16_t field(double x, double y, int band) {
  return static_cast<std::uint16_t>(1500 + 800 * std::sin(x / 370.0 + band) * std::cos(y / 530.0) +
                                    37 * band + std::fmod(std::abs(x * 0.013 + y * 0.007), 97.0));
}

// A temporary folder removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("s2prep_ingest_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// Writes the 12 bands + SCL of one synthetic tile at their native resolutions (10/20/60 m, a
// 6 km tile with Sentinel-2 alignment) and returns an Item pointing at them.
// `valid(x, y)` says where the footprint has data; `band_value(x, y, b)` the DNs; `scl(x, y)` the
// classes.
struct TileSpec {
  std::string id = "S2B_MSIL2A_20230601T100559_R022_T33UUP_20230601T120000";
  std::string baseline = "04.00";
  int epsg = 32633;
  double x0 = 600000, y0 = 5700000;
  double size_m = 6000;
  std::function<bool(double, double)> valid = [](double, double) { return true; };
  std::function<std::uint16_t(double, double, int)> band_value = field;
  std::function<std::uint8_t(double, double)> scl = [](double, double) { return std::uint8_t(4); };
};

inline stac::Item write_tile(const fs::path& dir, const TileSpec& spec) {
  fs::create_directories(dir);
  stac::Item item;
  item.id = spec.id;
  item.collection = "sentinel-2-l2a";
  item.processing_baseline = spec.baseline;
  item.epsg = spec.epsg;
  for (int b = 0; b < kBandCount; ++b) {
    const Grid g = tile_grid(spec.epsg, spec.x0, spec.y0, kBands[b].resolution_m, spec.size_m);
    const fs::path p = dir / (std::string(kBands[b].name) + ".tif");
    write_tif<std::uint16_t>(p, g, [&](int c, int r) -> std::uint16_t {
      const double x = g.transform[0] + (c + 0.5) * g.transform[1],
                   y = g.transform[3] + (r + 0.5) * g.transform[5];
      return spec.valid(x, y) ? spec.band_value(x, y, b) : 0;
    });
    stac::Asset a;
    a.href = p.string();
    item.assets[std::string(kBands[b].name)] = a;
  }
  const Grid g = tile_grid(spec.epsg, spec.x0, spec.y0, 20, spec.size_m);
  const fs::path p = dir / "SCL.tif";
  write_tif<std::uint8_t>(p, g, [&](int c, int r) -> std::uint8_t {
    const double x = g.transform[0] + (c + 0.5) * 20, y = g.transform[3] - (r + 0.5) * 20;
    return spec.valid(x, y) ? spec.scl(x, y) : 0;
  });
  stac::Asset a;
  a.href = p.string();
  item.assets["SCL"] = a;
  return item;
}

}  // namespace s2prep::ingest::test
