// Tests of the synthetic scene generator: files as GDAL sees them, consistency of the bands with
// the designed reflectance field, the baseline offset, shadow geometry, SCL vs truth, and the
// STAC Items.

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "core/bands.hpp"
#include "core/time.hpp"
#include "scenegen/scenegen.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace sg = s2prep::scenegen;
using s2prep::kBands;

struct DatasetCloser {
  void operator()(GDALDataset* d) const { GDALClose(GDALDataset::ToHandle(d)); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

DatasetPtr open(const fs::path& p) {
  GDALAllRegister();
  DatasetPtr d(GDALDataset::Open(p.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (!d) throw std::runtime_error("cannot open " + p.string());
  return d;
}

template <class T>
std::vector<T> read_all(GDALDataset& d, GDALDataType type) {
  std::vector<T> v(std::size_t(d.GetRasterXSize()) * d.GetRasterYSize());
  if (d.GetRasterBand(1)->RasterIO(GF_Read, 0, 0, d.GetRasterXSize(), d.GetRasterYSize(), v.data(),
                                   d.GetRasterXSize(), d.GetRasterYSize(), type, 0, 0,
                                   nullptr) != CE_None) {
    throw std::runtime_error("read failed");
  }
  return v;
}

std::vector<std::uint16_t> read_u16(const fs::path& p) {
  auto d = open(p);
  return read_all<std::uint16_t>(*d, GDT_UInt16);
}
std::vector<std::uint8_t> read_u8(const fs::path& p) {
  auto d = open(p);
  return read_all<std::uint8_t>(*d, GDT_Byte);
}

// The DN rule written down independently of the library.
std::uint16_t expected_dn(float reflectance, bool offset) {
  double v = std::round(double(reflectance) * 10000.0) + (offset ? 1000.0 : 0.0);
  if (v < 1) v = 1;
  if (v > 65535) v = 65535;
  return std::uint16_t(v);
}

fs::path asset_path(const fs::path& out, const nlohmann::json& item, const std::string& key) {
  return out / item.at("assets").at(key).at("href").get<std::string>();
}

// The standard scene at a small size, generated once for the suite.
class StandardScene : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<s2prep::testing::TempDir>("scenegen-std");
    scene_ = std::make_unique<sg::SceneSpec>(sg::standard_scene(240, 7));
    items_ =
        std::make_unique<std::vector<sg::GeneratedItem>>(sg::generate(*scene_, dir_->path(), ""));
  }
  static void TearDownTestSuite() {
    items_.reset();
    scene_.reset();
    dir_.reset();
  }
  static const fs::path& out() { return dir_->path(); }
  static const sg::GeneratedItem& find(const std::string& tile, const std::string& date_prefix,
                                       const std::string& baseline = "") {
    for (const auto& i : *items_) {
      const auto& p = i.item.at("properties");
      if (p.at("s2:mgrs_tile") == tile &&
          p.at("datetime").get<std::string>().rfind(date_prefix, 0) == 0 &&
          (baseline.empty() || p.at("s2:processing_baseline") == baseline)) {
        return i;
      }
    }
    throw std::runtime_error("no item " + tile + " " + date_prefix);
  }

  static std::unique_ptr<s2prep::testing::TempDir> dir_;
  static std::unique_ptr<sg::SceneSpec> scene_;
  static std::unique_ptr<std::vector<sg::GeneratedItem>> items_;
};
std::unique_ptr<s2prep::testing::TempDir> StandardScene::dir_;
std::unique_ptr<sg::SceneSpec> StandardScene::scene_;
std::unique_ptr<std::vector<sg::GeneratedItem>> StandardScene::items_;

TEST(Spectra, TypicalShapes) {
  const int red = 3, nir = 7, green = 2, swir16 = 10, swir22 = 11, blue = 1;
  EXPECT_LT(sg::cover_reflectance(sg::Cover::kVegetation, red), 0.06);
  EXPECT_GT(sg::cover_reflectance(sg::Cover::kVegetation, nir), 0.3);
  EXPECT_LT(sg::cover_reflectance(sg::Cover::kWater, nir), 0.02);
  EXPECT_LT(sg::cover_reflectance(sg::Cover::kDarkWater, blue),
            sg::cover_reflectance(sg::Cover::kWater, blue));
  EXPECT_GT(sg::cover_reflectance(sg::Cover::kSnow, green), 0.7);
  EXPECT_LT(sg::cover_reflectance(sg::Cover::kSnow, swir16), 0.1);
  EXPECT_LT(sg::cover_reflectance(sg::Cover::kSnow, swir22), 0.1);
  for (int b = 0; b < 12; ++b) {
    EXPECT_GE(sg::cloud_reflectance(b), 0.3);
    EXPECT_LE(sg::cloud_reflectance(b), 0.8);
    EXPECT_GT(sg::shadow_darkening(b), 0.3);
    EXPECT_LT(sg::shadow_darkening(b), 0.8);
  }
  // Soil and sand brighten with wavelength from blue to SWIR 1.6.
  EXPECT_GT(sg::cover_reflectance(sg::Cover::kBareSoil, swir16),
            sg::cover_reflectance(sg::Cover::kBareSoil, blue));
  EXPECT_GT(sg::cover_reflectance(sg::Cover::kSand, swir16), 0.4);
  // Shadows remove more in the NIR/SWIR than in the blue.
  EXPECT_GT(sg::shadow_darkening(swir16), sg::shadow_darkening(blue));
}

TEST(Dn, OffsetClampAndNodataReserved) {
  EXPECT_EQ(sg::to_dn(0.1234, false), 1234);
  EXPECT_EQ(sg::to_dn(0.1234, true), 2234);
  EXPECT_EQ(sg::to_dn(0.0, false), 1);  // never nodata
  EXPECT_EQ(sg::to_dn(9.0, true), 65535);
  EXPECT_FALSE(sg::baseline_has_offset("02.12"));
  EXPECT_FALSE(sg::baseline_has_offset("03.00"));
  EXPECT_TRUE(sg::baseline_has_offset("04.00"));
  EXPECT_TRUE(sg::baseline_has_offset("05.09"));
}

TEST_F(StandardScene, ItemsForEveryTileAndAcquisition) {
  // 7 acquisitions x 3 tiles (the swath-cut acquisition still touches every tile).
  EXPECT_EQ(items_->size(), 21u);
  std::set<std::string> ids;
  for (const auto& i : *items_) ids.insert(i.item.at("id").get<std::string>());
  EXPECT_EQ(ids.size(), items_->size());
}

TEST_F(StandardScene, CogsHaveTheRealLayout) {
  for (const auto& gi : *items_) {
    for (const auto& [key, asset] : gi.item.at("assets").items()) {
      if (asset.at("type") == "application/xml") continue;
      SCOPED_TRACE(gi.item.at("id").get<std::string>() + " " + key);
      auto d = open(out() / asset.at("href").get<std::string>());
      const auto shape = asset.at("proj:shape");
      const auto tr = asset.at("proj:transform");
      ASSERT_EQ(d->GetRasterCount(), 1);
      EXPECT_EQ(d->GetRasterYSize(), shape[0].get<int>());
      EXPECT_EQ(d->GetRasterXSize(), shape[1].get<int>());
      const double res = asset.at("gsd").get<double>();
      EXPECT_EQ(d->GetRasterXSize() * res, 2400.0);
      std::array<double, 6> gt{};
      ASSERT_EQ(d->GetGeoTransform(gt.data()), CE_None);
      EXPECT_EQ(gt[0], tr[2].get<double>());
      EXPECT_EQ(gt[1], tr[0].get<double>());
      EXPECT_EQ(gt[3], tr[5].get<double>());
      EXPECT_EQ(gt[5], tr[4].get<double>());
      EXPECT_EQ(gt[2], 0.0);
      EXPECT_EQ(gt[4], 0.0);
      EXPECT_EQ(gt[1], res);
      EXPECT_EQ(std::fmod(gt[0], res), 0.0);  // pixel edges on multiples of the resolution
      EXPECT_EQ(std::fmod(gt[3], res), 0.0);
      GDALRasterBand* b = d->GetRasterBand(1);
      EXPECT_EQ(b->GetRasterDataType(), key == "SCL" ? GDT_Byte : GDT_UInt16);
      int has_nodata = 0;
      EXPECT_EQ(b->GetNoDataValue(&has_nodata), 0.0);
      EXPECT_TRUE(has_nodata);
      EXPECT_GE(b->GetOverviewCount(), 1);
      int bx = 0, by = 0;
      b->GetBlockSize(&bx, &by);
      EXPECT_EQ(bx, by);
      EXPECT_LE(bx, 1024);
      EXPECT_LT(bx, d->GetRasterXSize());  // internally tiled
      const char* layout = d->GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE");
      ASSERT_NE(layout, nullptr);
      EXPECT_STREQ(layout, "COG");
      EXPECT_STREQ(d->GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE"), "DEFLATE");
      OGRSpatialReference srs;
      srs.importFromEPSG(gi.item.at("properties").at("proj:epsg").get<int>());
      ASSERT_NE(d->GetSpatialRef(), nullptr);
      EXPECT_TRUE(d->GetSpatialRef()->IsSame(&srs));
    }
  }
}

TEST(Cog, FullSizeBlocksAre1024) {
  sg::SceneSpec s = sg::standard_scene(1098, 3);
  s.tiles.resize(1);
  s.acquisitions.resize(1);
  s2prep::testing::TempDir dir("scenegen-1098");
  const auto items = sg::generate(s, dir.path(), "");
  ASSERT_EQ(items.size(), 1u);
  auto d = open(asset_path(dir.path(), items[0].item, "B04"));
  int bx = 0, by = 0;
  d->GetRasterBand(1)->GetBlockSize(&bx, &by);
  EXPECT_EQ(bx, 1024);
  EXPECT_EQ(by, 1024);
  EXPECT_GE(d->GetRasterBand(1)->GetOverviewCount(), 1);
}

TEST_F(StandardScene, BandsAreBlockMeansOfThe10mField) {
  for (const auto* gi :
       {&find("33UUP", "2021-06-15"), &find("33UUP", "2023-04-03"), &find("32UQU", "2023-08-12")}) {
    const sg::TileRender r = sg::render_tile(*scene_, gi->acquisition, gi->tile);
    const bool offset = sg::baseline_has_offset(
        gi->item.at("properties").at("s2:processing_baseline").get<std::string>());
    for (const char* name : {"B02", "B08", "B05", "B11", "B01", "B09"}) {
      SCOPED_TRACE(gi->item.at("id").get<std::string>() + " " + name);
      const int bi = s2prep::band_index(name);
      const int f = kBands[std::size_t(bi)].resolution_m / 10;
      const s2prep::FloatRaster field = sg::reflectance_10m(r, bi);
      const auto file = read_u16(asset_path(out(), gi->item, name));
      const int n = r.grid.width, m = n / f;
      ASSERT_EQ(file.size(), std::size_t(m) * m);
      int compared = 0, nodata = 0;
      for (int row = 0; row < m; ++row) {
        for (int col = 0; col < m; ++col) {
          const std::uint16_t got = file[std::size_t(row) * m + col];
          // Validity at the coarse pixel centre.
          const double x = r.grid.transform[0] + (col + 0.5) * f * 10;
          const double y = r.grid.transform[3] - (row + 0.5) * f * 10;
          if (!r.valid_at(x, y)) {
            ASSERT_EQ(got, 0);
            ++nodata;
            continue;
          }
          double sum = 0;
          for (int i = 0; i < f; ++i) {
            for (int j = 0; j < f; ++j)
              sum += field.data[std::size_t(row * f + i) * n + col * f + j];
          }
          ASSERT_EQ(got, expected_dn(float(sum / (f * f)), offset)) << row << "," << col;
          ++compared;
        }
      }
      EXPECT_GT(compared, m * m / 2);
      if (gi->item.at("properties").at("datetime").get<std::string>().rfind("2023-04-03", 0) == 0) {
        EXPECT_GT(nodata, 0);  // the swath edge crosses 33UUP
      }
    }
  }
}

TEST_F(StandardScene, BaselineOffsetOnlyFrom0400) {
  // The 04.00 product and its 05.00 reprocessing are the same sensing: identical DN.
  const auto& a = find("33UUP", "2022-06-20", "04.00");
  const auto& b = find("33UUP", "2022-06-20", "05.00");
  EXPECT_EQ(a.item.at("properties").at("datetime"), b.item.at("properties").at("datetime"));
  EXPECT_NE(a.item.at("id"), b.item.at("id"));
  EXPECT_EQ(read_u16(asset_path(out(), a.item, "B04")), read_u16(asset_path(out(), b.item, "B04")));

  // The same ground and sky at 02.12 and 04.00 differ by exactly 1000 DN.
  sg::SceneSpec s;
  s.seed = 5;
  s.tiles.push_back({"33UUP", 32633, 300000, 5400000, 120});
  sg::AcquisitionSpec acq;
  acq.datetime = "2021-05-01T10:00:00Z";
  acq.processing_time = "2021-05-01T12:00:00Z";
  acq.processing_baseline = "02.12";
  acq.clouds = {{300600, 5399400, 200, 300, 2.0}};
  s.acquisitions.push_back(acq);
  acq.processing_baseline = "04.00";
  acq.processing_time = "2021-05-02T12:00:00Z";
  s.acquisitions.push_back(acq);
  s2prep::testing::TempDir dir("scenegen-baseline");
  const auto items = sg::generate(s, dir.path(), "");
  ASSERT_EQ(items.size(), 2u);
  for (const char* band : {"B02", "B8A", "B12", "B09"}) {
    const auto old_dn = read_u16(asset_path(dir.path(), items[0].item, band));
    const auto new_dn = read_u16(asset_path(dir.path(), items[1].item, band));
    ASSERT_EQ(old_dn.size(), new_dn.size());
    for (std::size_t k = 0; k < old_dn.size(); ++k) {
      ASSERT_GT(old_dn[k], 0);
      ASSERT_EQ(int(new_dn[k]) - int(old_dn[k]), 1000) << band << " pixel " << k;
    }
  }
}

// Centroid (x, y in the grid's CRS) of the pixels of a 10 m raster equal to `value`.
std::array<double, 3> centroid(const std::vector<std::uint8_t>& v, const s2prep::Grid& g,
                               std::uint8_t value) {
  double sx = 0, sy = 0, count = 0;
  for (int r = 0; r < g.height; ++r) {
    for (int c = 0; c < g.width; ++c) {
      if (v[std::size_t(r) * g.width + c] != value) continue;
      sx += g.transform[0] + (c + 0.5) * 10;
      sy += g.transform[3] - (r + 0.5) * 10;
      ++count;
    }
  }
  return {sx / count, sy / count, count};
}

TEST(Shadow, FallsAwayFromTheSunAtHeightTimesTanZenith) {
  struct Case {
    double zenith, azimuth, height;
  };
  for (const Case& cs : {Case{40, 135, 1000}, Case{30, 200, 1500}, Case{55, 160, 500}}) {
    SCOPED_TRACE(cs.azimuth);
    sg::SceneSpec s;
    s.confusers = false;
    s.tiles.push_back({"33UUP", 32633, 300000, 5400000, 480});  // 4.8 km
    sg::AcquisitionSpec acq;
    acq.datetime = "2022-05-01T10:00:00Z";
    acq.processing_time = "2022-05-01T12:00:00Z";
    acq.sun_zenith_deg = cs.zenith;
    acq.sun_azimuth_deg = cs.azimuth;
    const double cx = 302400, cy = 5397600;  // tile centre
    acq.clouds = {{cx, cy, 250, cs.height, 3.0}};
    s.acquisitions.push_back(acq);
    s2prep::testing::TempDir dir("scenegen-shadow");
    const auto items = sg::generate(s, dir.path(), "");
    ASSERT_EQ(items.size(), 1u);
    const s2prep::Grid g = sg::tile_grid(s.tiles[0]);
    const auto cloud = centroid(read_u8(items[0].truth_cloud()), g, 1);
    const auto shadow = centroid(read_u8(items[0].truth_shadow()), g, 1);
    ASSERT_GT(cloud[2], 1000);
    ASSERT_GT(shadow[2], 1000);
    const double pi = std::acos(-1.0);
    const double d = cs.height * std::tan(cs.zenith * pi / 180);
    // Away from the sun: towards azimuth + 180 degrees (clockwise from north).
    const double ex = d * std::sin((cs.azimuth + 180) * pi / 180);
    const double ey = d * std::cos((cs.azimuth + 180) * pi / 180);
    EXPECT_NEAR(cloud[0], cx, 10);
    EXPECT_NEAR(cloud[1], cy, 10);
    EXPECT_NEAR(shadow[0] - cloud[0], ex, 10);
    EXPECT_NEAR(shadow[1] - cloud[1], ey, 10);

    // The shadowed ground is darker than its surroundings, relatively most in the NIR.
    const auto nir = read_u16(asset_path(dir.path(), items[0].item, "B08"));
    const auto blue = read_u16(asset_path(dir.path(), items[0].item, "B02"));
    const auto truth = read_u8(items[0].truth_shadow());
    const auto cover = read_u8(items[0].truth_cover());
    const auto clouds = read_u8(items[0].truth_cloud());
    double in_nir = 0, out_nir = 0, in_blue = 0, out_blue = 0, n_in = 0, n_out = 0;
    for (std::size_t k = 0; k < truth.size(); ++k) {
      if (cover[k] != std::uint8_t(sg::Cover::kVegetation) || clouds[k] != 0) continue;
      if (truth[k] == 1) {
        in_nir += nir[k], in_blue += blue[k], ++n_in;
      } else {
        out_nir += nir[k], out_blue += blue[k], ++n_out;
      }
    }
    ASSERT_GT(n_in, 100);
    const double nir_ratio = (in_nir / n_in) / (out_nir / n_out);
    const double blue_ratio = (in_blue / n_in) / (out_blue / n_out);
    EXPECT_LT(nir_ratio, 0.6);  // soft shadow edges included
    EXPECT_LT(nir_ratio, blue_ratio);
  }
}

TEST_F(StandardScene, SclAgreesWithTruth) {
  std::set<int> seen;
  for (const auto& gi : *items_) {
    SCOPED_TRACE(gi.item.at("id").get<std::string>());
    const auto scl = read_u8(asset_path(out(), gi.item, "SCL"));
    const auto cloud = read_u8(gi.truth_cloud());
    const auto shadow = read_u8(gi.truth_shadow());
    const auto dark = read_u8(gi.truth_dark());
    const auto cover = read_u8(gi.truth_cover());
    const int n = 240, m = 120;
    ASSERT_EQ(scl.size(), std::size_t(m) * m);
    for (int r = 0; r < m; ++r) {
      for (int c = 0; c < m; ++c) {
        const int v = scl[std::size_t(r) * m + c];
        seen.insert(v);
        std::set<int> cl, sh, dk, cv;
        for (int i = 0; i < 2; ++i) {
          for (int j = 0; j < 2; ++j) {
            const std::size_t k = std::size_t(2 * r + i) * n + 2 * c + j;
            cl.insert(cloud[k]), sh.insert(shadow[k]), dk.insert(dark[k]), cv.insert(cover[k]);
          }
        }
        if (cl == std::set<int>{255}) {
          EXPECT_EQ(v, 0);
        } else if (v == 1) {
          continue;  // saturated pixels override the class
        } else if (cl == std::set<int>{1}) {
          EXPECT_TRUE(v == 8 || v == 9) << v;
        } else if (cl == std::set<int>{2}) {
          EXPECT_EQ(v, 10);
        } else if (cl == std::set<int>{0} && sh == std::set<int>{1}) {
          EXPECT_EQ(v, 3);
        } else if (cl == std::set<int>{0} && sh == std::set<int>{0} && dk == std::set<int>{1}) {
          EXPECT_EQ(v, 2);
        } else if (cl == std::set<int>{0} && sh == std::set<int>{0} && dk == std::set<int>{0} &&
                   cv.size() == 1) {
          const auto c0 = sg::Cover(*cv.begin());
          const int want = c0 == sg::Cover::kVegetation                               ? 4
                           : c0 == sg::Cover::kSnow                                   ? 11
                           : (c0 == sg::Cover::kWater || c0 == sg::Cover::kDarkWater) ? 6
                                                                                      : 5;
          EXPECT_EQ(v, want);
        }
      }
    }
    // The item's percentages are those of its SCL.
    std::map<int, double> counts;
    for (auto v : scl) counts[v]++;
    const double valid = double(scl.size()) - counts[0];
    const auto& p = gi.item.at("properties");
    EXPECT_NEAR(p.at("s2:nodata_pixel_percentage").get<double>(), 100 * counts[0] / scl.size(),
                1e-9);
    EXPECT_NEAR(p.at("eo:cloud_cover").get<double>(),
                100 * (counts[8] + counts[9] + counts[10]) / valid, 1e-9);
    EXPECT_NEAR(p.at("s2:cloud_shadow_percentage").get<double>(), 100 * counts[3] / valid, 1e-9);
  }
  // Every class the generator promises appears somewhere in the standard scene.
  for (int cls : {0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11}) EXPECT_TRUE(seen.count(cls)) << cls;
}

TEST_F(StandardScene, SaturatedPixelsAreAtTheTopOfTheRange) {
  const auto& gi = find("33UUP", "2023-09-01");
  const sg::TileRender r = sg::render_tile(*scene_, gi.acquisition, gi.tile);
  const auto b04 = read_u16(asset_path(out(), gi.item, "B04"));
  int saturated = 0;
  for (std::size_t k = 0; k < b04.size(); ++k) {
    if (r.saturated.data[k]) {
      EXPECT_EQ(b04[k], 65535);
      ++saturated;
    } else {
      EXPECT_LT(b04[k], 65535);
    }
  }
  EXPECT_GT(saturated, 0);
}

TEST_F(StandardScene, VegetationAndWaterLookLikeThemselves) {
  const auto& gi = find("33UVP", "2023-09-01");  // clear
  const auto red = read_u16(asset_path(out(), gi.item, "B04"));
  const auto nir = read_u16(asset_path(out(), gi.item, "B08"));
  const auto cover = read_u8(gi.truth_cover());
  const auto dark = read_u8(gi.truth_dark());
  for (std::size_t k = 0; k < red.size(); ++k) {
    if (dark[k]) continue;
    const double r = (red[k] - 1000) / 10000.0, n = (nir[k] - 1000) / 10000.0;  // 05.09: offset
    const double v = (n - r) / (n + r);
    if (cover[k] == std::uint8_t(sg::Cover::kVegetation)) {
      ASSERT_GT(v, 0.6);
    } else if (cover[k] == std::uint8_t(sg::Cover::kWater)) {
      ASSERT_LT(v, 0);
    }
  }
}

TEST_F(StandardScene, OverlappingTilesOfOneZoneShowIdenticalPixels) {
  const auto& a = find("33UUP", "2023-08-12");
  const auto& b = find("33UVP", "2023-08-12");
  const auto pa = read_u16(asset_path(out(), a.item, "B08"));
  const auto pb = read_u16(asset_path(out(), b.item, "B08"));
  const s2prep::Grid ga = sg::tile_grid(scene_->tiles[a.tile]);
  const s2prep::Grid gb = sg::tile_grid(scene_->tiles[b.tile]);
  const int shift = int((gb.transform[0] - ga.transform[0]) / 10);
  ASSERT_GT(shift, 0);
  ASSERT_LT(shift, ga.width);
  int compared = 0;
  for (int r = 0; r < ga.height; ++r) {
    for (int c = shift; c < ga.width; ++c) {
      ASSERT_EQ(pa[std::size_t(r) * ga.width + c], pb[std::size_t(r) * gb.width + c - shift]);
      ++compared;
    }
  }
  EXPECT_GT(compared, 0);
}

TEST_F(StandardScene, NeighbourZoneSeesTheSameGround) {
  const auto& a = find("33UUP", "2023-09-01");
  const auto& b = find("32UQU", "2023-09-01");
  const auto ca = read_u8(a.truth_cover());
  const auto cb = read_u8(b.truth_cover());
  const s2prep::Grid ga = sg::tile_grid(scene_->tiles[a.tile]);
  const s2prep::Grid gb = sg::tile_grid(scene_->tiles[b.tile]);
  OGRSpatialReference s33, s32;
  s33.importFromEPSG(32633);
  s32.importFromEPSG(32632);
  s33.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  s32.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation> t(OGRCreateCoordinateTransformation(&s33, &s32));
  int agree = 0, total = 0;
  for (int r = 5; r < ga.height; r += 7) {
    for (int c = 5; c < ga.width; c += 7) {
      double x = ga.transform[0] + (c + 0.5) * 10, y = ga.transform[3] - (r + 0.5) * 10;
      ASSERT_TRUE(t->Transform(1, &x, &y));
      const int cb_col = int(std::floor((x - gb.transform[0]) / 10));
      const int cb_row = int(std::floor((gb.transform[3] - y) / 10));
      if (cb_col < 0 || cb_row < 0 || cb_col >= gb.width || cb_row >= gb.height) continue;
      ++total;
      agree += ca[std::size_t(r) * ga.width + c] == cb[std::size_t(cb_row) * gb.width + cb_col];
    }
  }
  ASSERT_GT(total, 50);                    // the tiles overlap
  EXPECT_GT(double(agree) / total, 0.85);  // differences only at parcel edges (grids differ)
}

std::unique_ptr<OGRGeometry> geometry_of(const nlohmann::json& geojson) {
  OGRGeometry* g = OGRGeometryFactory::createFromGeoJson(geojson.dump().c_str());
  return std::unique_ptr<OGRGeometry>(g);
}

TEST_F(StandardScene, ItemsLookLikePlanetaryComputer) {
  const std::regex id_re("S2[AB]_MSIL2A_\\d{8}T\\d{6}_R\\d{3}_T\\d{2}[A-Z]{3}_\\d{8}T\\d{6}");
  const std::regex uri_re(
      "S2[AB]_MSIL2A_\\d{8}T\\d{6}_N\\d{4}_R\\d{3}_T\\d{2}[A-Z]{3}_\\d{8}T\\d{6}\\.SAFE");
  for (const auto& gi : *items_) {
    const nlohmann::json j = nlohmann::json::parse(gi.item.dump());  // round-trips as JSON
    const std::string id = j.at("id");
    SCOPED_TRACE(id);
    EXPECT_TRUE(std::regex_match(id, id_re));
    EXPECT_EQ(j.at("type"), "Feature");
    EXPECT_EQ(j.at("collection"), "sentinel-2-l2a");
    const auto& p = j.at("properties");
    EXPECT_TRUE(s2prep::parse_time(p.at("datetime").get<std::string>()).has_value());
    EXPECT_TRUE(std::regex_match(p.at("s2:product_uri").get<std::string>(), uri_re));
    const std::string baseline = p.at("s2:processing_baseline");
    std::string n = "_N" + baseline.substr(0, 2) + baseline.substr(3, 2) + "_";
    EXPECT_NE(p.at("s2:product_uri").get<std::string>().find(n), std::string::npos);
    for (const char* key :
         {"platform", "s2:mgrs_tile", "sat:relative_orbit", "sat:orbit_state", "proj:epsg",
          "eo:cloud_cover", "s2:nodata_pixel_percentage", "s2:mean_solar_zenith",
          "s2:mean_solar_azimuth", "s2:high_proba_clouds_percentage",
          "s2:medium_proba_clouds_percentage", "s2:thin_cirrus_percentage",
          "s2:cloud_shadow_percentage", "s2:vegetation_percentage", "s2:water_percentage",
          "s2:snow_ice_percentage", "s2:dark_features_percentage",
          "s2:saturated_defective_pixel_percentage"}) {
      EXPECT_TRUE(p.contains(key)) << key;
    }
    // Assets: the 12 bands + SCL with PC's shape of metadata.
    for (const auto& b : kBands) {
      const auto& a = j.at("assets").at(std::string(b.name));
      EXPECT_EQ(a.at("type"), "image/tiff; application=geotiff; profile=cloud-optimized");
      EXPECT_EQ(a.at("roles"), nlohmann::json::array({"data"}));
      EXPECT_EQ(a.at("gsd").get<double>(), b.resolution_m);
      EXPECT_EQ(a.at("proj:transform").size(), 6u);
      EXPECT_EQ(a.at("proj:bbox").size(), 4u);
      EXPECT_EQ(a.at("eo:bands")[0].at("name"), std::string(b.name));
      EXPECT_TRUE(fs::exists(out() / a.at("href").get<std::string>()));
    }
    EXPECT_TRUE(j.at("assets").contains("SCL"));
    EXPECT_EQ(sg::item_dir(j, out(), ""), gi.dir);
    // SAFE metadata: the product's offsets exactly from 04.00, the granule's mean sun angles.
    std::ifstream product(out() / j["assets"]["product-metadata"]["href"].get<std::string>());
    const std::string product_text{std::istreambuf_iterator<char>(product), {}};
    EXPECT_EQ(product_text.find("<BOA_ADD_OFFSET band_id=\"3\">-1000</BOA_ADD_OFFSET>") !=
                  std::string::npos,
              baseline >= "04.00");
    EXPECT_NE(product_text.find("<PROCESSING_BASELINE>" + baseline + "</PROCESSING_BASELINE>"),
              std::string::npos);
    std::ifstream granule(out() / j["assets"]["granule-metadata"]["href"].get<std::string>());
    const std::string granule_text{std::istreambuf_iterator<char>(granule), {}};
    std::ostringstream zenith;
    zenith << "<ZENITH_ANGLE unit=\"deg\">" << p.at("s2:mean_solar_zenith").get<double>() << "<";
    EXPECT_NE(granule_text.find(zenith.str()), std::string::npos) << zenith.str();
    // Footprint: a valid polygon inside the bbox, shrunk by the nodata share.
    auto g = geometry_of(j.at("geometry"));
    ASSERT_NE(g, nullptr);
    EXPECT_TRUE(g->IsValid());
    OGREnvelope env;
    g->getEnvelope(&env);
    const auto bbox = j.at("bbox");
    EXPECT_NEAR(env.MinX, bbox[0].get<double>(), 1e-9);
    EXPECT_NEAR(env.MinY, bbox[1].get<double>(), 1e-9);
    EXPECT_NEAR(env.MaxX, bbox[2].get<double>(), 1e-9);
    EXPECT_NEAR(env.MaxY, bbox[3].get<double>(), 1e-9);
    EXPECT_GT(env.MinX, 10.0);
    EXPECT_LT(env.MaxX, 14.0);
    EXPECT_GT(env.MinY, 48.0);
    EXPECT_LT(env.MaxY, 49.5);
  }
}

TEST_F(StandardScene, DemoRegionNeedsTwoTilesAndTheSwathCutCannotCoverIt) {
  OGRGeometry* raw = nullptr;
  const std::string wkt = sg::demo_region_wkt(*scene_);
  ASSERT_EQ(OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &raw), OGRERR_NONE);
  std::unique_ptr<OGRGeometry> region(raw);
  ASSERT_TRUE(region->IsValid());
  // A clear date: both 33U tiles intersect the region, neither contains it, together they do.
  auto uup = geometry_of(find("33UUP", "2023-09-01").item.at("geometry"));
  auto uvp = geometry_of(find("33UVP", "2023-09-01").item.at("geometry"));
  EXPECT_TRUE(uup->Intersects(region.get()));
  EXPECT_TRUE(uvp->Intersects(region.get()));
  EXPECT_FALSE(uup->Contains(region.get()));
  EXPECT_FALSE(uvp->Contains(region.get()));
  std::unique_ptr<OGRGeometry> both(uup->Union(uvp.get()));
  EXPECT_TRUE(both->Contains(region.get()));
  // The swath-cut date: even all its footprints together leave part of the region uncovered.
  std::unique_ptr<OGRGeometry> cut;
  for (const auto& gi : *items_) {
    if (gi.item.at("properties").at("datetime").get<std::string>().rfind("2023-04-03", 0) != 0) {
      continue;
    }
    auto g = geometry_of(gi.item.at("geometry"));
    EXPECT_GT(gi.item.at("properties").at("s2:nodata_pixel_percentage").get<double>(),
              gi.item.at("properties").at("s2:mgrs_tile") == "32UQU" ? -1.0 : 0.0);
    cut = cut ? std::unique_ptr<OGRGeometry>(cut->Union(g.get())) : std::move(g);
  }
  ASSERT_TRUE(cut);
  EXPECT_TRUE(cut->Intersects(region.get()));
  EXPECT_FALSE(cut->Contains(region.get()));
}

TEST(Command, GenerateAndRegion) {
  if (!fs::exists(S2PREP_SCENEGEN_BIN)) GTEST_SKIP() << "s2prep-scenegen not built";
  s2prep::testing::TempDir dir("scenegen-cli");
  const std::string cmd = std::string(S2PREP_SCENEGEN_BIN) + " generate --size 120 --out " +
                          dir.path().string() +
                          " --href-base http://example.invalid/blob > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir / "items.json");
  const auto fc = nlohmann::json::parse(in);
  EXPECT_EQ(fc.at("type"), "FeatureCollection");
  EXPECT_EQ(fc.at("scenegen:href_base"), "http://example.invalid/blob");
  ASSERT_EQ(fc.at("features").size(), 21u);
  const std::string href = fc["features"][0]["assets"]["B02"]["href"];
  ASSERT_EQ(href.rfind("http://example.invalid/blob/", 0), 0u);
  EXPECT_TRUE(fs::exists(dir / href.substr(std::string("http://example.invalid/blob/").size())));
  EXPECT_TRUE(fs::exists(dir / "region.wkt"));

  // A subset: one tile at one date.
  s2prep::testing::TempDir sub("scenegen-cli-subset");
  const std::string sub_cmd = std::string(S2PREP_SCENEGEN_BIN) + " generate --size 120 --out " +
                              sub.path().string() + " --tile 33UVP --date 2023-09-01 > /dev/null";
  ASSERT_EQ(std::system(sub_cmd.c_str()), 0);
  std::ifstream sub_in(sub / "items.json");
  const auto sub_fc = nlohmann::json::parse(sub_in);
  ASSERT_EQ(sub_fc.at("features").size(), 1u);
  EXPECT_EQ(sub_fc["features"][0]["properties"]["s2:mgrs_tile"], "33UVP");
  EXPECT_NE(std::system((std::string(S2PREP_SCENEGEN_BIN) + " generate --out " +
                         sub.path().string() + " --tile NONE 2> /dev/null")
                            .c_str()),
            0);
}

}  // namespace
