#include "output/cog_writer.hpp"

#include <gdal.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <s2prep/errors.hpp>

namespace fs = std::filesystem;
using namespace s2prep;
using namespace s2prep::output;

namespace {

struct Closer {
  void operator()(GDALDatasetH d) const { GDALClose(d); }
};
using Ds = std::unique_ptr<std::remove_pointer_t<GDALDatasetH>, Closer>;

class CogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GDALAllRegister();
    dir_ = fs::temp_directory_path() /
           ("s2prep_cog_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static Grid grid(int w, int h) {
    Grid g;
    g.epsg = 32633;
    g.transform = {500000, 10, 0, 5600000, 0, -10};
    g.width = w;
    g.height = h;
    return g;
  }
  std::vector<fs::path> files() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    return out;
  }
  fs::path dir_;
};

BandStack sample_stack(const Grid& g) {
  BandStack r(g, 12, 0);
  for (int b = 0; b < 12; ++b)
    for (int y = 0; y < g.height; ++y)
      for (int x = 0; x < g.width; ++x)
        r.at(b, y, x) = static_cast<std::uint16_t>((x * 7 + y * 13 + b * 101) % 9000);
  r.at(0, 0, 0) = 0;  // a nodata pixel
  return r;
}

}  // namespace

TEST_F(CogWriterTest, ReflectanceRasterIsACogWithBandsNodataScaleAndPixels) {
  const Grid g = grid(700, 600);  // larger than a block: tiles and overviews
  const BandStack r = sample_stack(g);
  const fs::path p = dir_ / "raster.tif";
  write_cog(r, p, reflectance_cog_options());

  Ds ds(GDALOpen(p.c_str(), GA_ReadOnly));
  ASSERT_TRUE(ds);
  EXPECT_STREQ(GDALGetMetadataItem(ds.get(), "LAYOUT", "IMAGE_STRUCTURE"), "COG");
  const char* compression = GDALGetMetadataItem(ds.get(), "COMPRESSION", "IMAGE_STRUCTURE");
  ASSERT_NE(compression, nullptr);
  EXPECT_EQ(std::string(compression), cog_compression());
  EXPECT_EQ(cog_compression(), "ZSTD");  // Debian's GDAL 3.6 has it
  const char* predictor = GDALGetMetadataItem(ds.get(), "PREDICTOR", "IMAGE_STRUCTURE");
  ASSERT_NE(predictor, nullptr);
  EXPECT_STREQ(predictor, "2");
  ASSERT_EQ(GDALGetRasterCount(ds.get()), 12);
  const char* names[] = {"B01", "B02", "B03", "B04", "B05", "B06",
                         "B07", "B08", "B8A", "B09", "B11", "B12"};
  for (int b = 0; b < 12; ++b) {
    GDALRasterBandH band = GDALGetRasterBand(ds.get(), b + 1);
    EXPECT_STREQ(GDALGetDescription(band), names[b]);
    int has = 0;
    EXPECT_EQ(GDALGetRasterNoDataValue(band, &has), 0.0);
    EXPECT_TRUE(has);
    EXPECT_DOUBLE_EQ(GDALGetRasterScale(band, &has), 0.0001);
    EXPECT_TRUE(has);
    EXPECT_DOUBLE_EQ(GDALGetRasterOffset(band, &has), 0.0);
    EXPECT_EQ(GDALGetRasterDataType(band), GDT_UInt16);
    int bx = 0, by = 0;
    GDALGetBlockSize(band, &bx, &by);
    EXPECT_EQ(bx, 512);
    EXPECT_EQ(by, 512);
    EXPECT_GE(GDALGetOverviewCount(band), 1);
    std::vector<std::uint16_t> px(g.pixel_count());
    ASSERT_EQ(GDALRasterIO(band, GF_Read, 0, 0, g.width, g.height, px.data(), g.width, g.height,
                           GDT_UInt16, 0, 0),
              CE_None);
    EXPECT_TRUE(std::equal(px.begin(), px.end(), r.band(b)));
  }
  double gt[6];
  GDALGetGeoTransform(ds.get(), gt);
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(gt[i], g.transform[i]);
  EXPECT_TRUE(verify_cog(p, g, 12, PixelType::UInt16));
  EXPECT_EQ(files(), std::vector<fs::path>{"raster.tif"});  // no temporaries left
}

TEST_F(CogWriterTest, MaskAndProbabilityRasters) {
  const Grid g = grid(50, 40);
  ByteRaster m(g, 1, 0);
  m.at(0, 3, 4) = 1;
  m.at(0, 5, 5) = 255;
  write_cog(m, dir_ / "mask.tif", mask_cog_options("mask"));
  FloatRaster f(g, 1, 0.25f);
  write_cog(f, dir_ / "prob.tif", probability_cog_options("cloud_probability"));

  Ds ds(GDALOpen((dir_ / "mask.tif").c_str(), GA_ReadOnly));
  ASSERT_TRUE(ds);
  int has = 0;
  EXPECT_EQ(GDALGetRasterNoDataValue(GDALGetRasterBand(ds.get(), 1), &has), 255.0);
  EXPECT_TRUE(has);
  EXPECT_STREQ(GDALGetDescription(GDALGetRasterBand(ds.get(), 1)), "mask");
  Ds pd(GDALOpen((dir_ / "prob.tif").c_str(), GA_ReadOnly));
  ASSERT_TRUE(pd);
  EXPECT_STREQ(GDALGetMetadataItem(pd.get(), "PREDICTOR", "IMAGE_STRUCTURE"), "3");
  EXPECT_TRUE(verify_cog(dir_ / "mask.tif", g, 1, PixelType::Byte));
  EXPECT_TRUE(verify_cog(dir_ / "prob.tif", g, 1, PixelType::Float32));
  std::string why;
  EXPECT_FALSE(verify_cog(dir_ / "prob.tif", g, 1, PixelType::Byte, &why));
  EXPECT_NE(why.find("type"), std::string::npos) << why;
  EXPECT_FALSE(verify_cog(dir_ / "mask.tif", grid(50, 41), 1, PixelType::Byte));
  EXPECT_FALSE(verify_cog(dir_ / "mask.tif", g, 2, PixelType::Byte));
  Grid shifted = g;
  shifted.transform[0] += 10;
  EXPECT_FALSE(verify_cog(dir_ / "mask.tif", shifted, 1, PixelType::Byte));
  Grid other_zone = g;
  other_zone.epsg = 32634;
  EXPECT_FALSE(verify_cog(dir_ / "mask.tif", other_zone, 1, PixelType::Byte));
  EXPECT_FALSE(verify_cog(dir_ / "missing.tif", g, 1, PixelType::Byte));
}

TEST_F(CogWriterTest, VerifyDetectsATruncatedFile) {
  const Grid g = grid(1100, 1100);
  const BandStack r = sample_stack(g);
  const fs::path p = dir_ / "raster.tif";
  write_cog(r, p, reflectance_cog_options());
  ASSERT_TRUE(verify_cog(p, g, 12, PixelType::UInt16));
  const auto size = fs::file_size(p);
  fs::resize_file(p, size * 2 / 3);
  std::string why;
  EXPECT_FALSE(verify_cog(p, g, 12, PixelType::UInt16, &why));
  EXPECT_FALSE(why.empty());
  fs::resize_file(p, size - 1);
  EXPECT_FALSE(verify_cog(p, g, 12, PixelType::UInt16));
}

TEST_F(CogWriterTest, VerifyRejectsAPlainGeoTiff) {
  const Grid g = grid(20, 20);
  const fs::path p = dir_ / "plain.tif";
  Ds ds(GDALCreate(GDALGetDriverByName("GTiff"), p.c_str(), 20, 20, 1, GDT_Byte, nullptr));
  ASSERT_TRUE(ds);
  auto gt = g.transform;
  GDALSetGeoTransform(ds.get(), gt.data());
  GDALSetProjection(ds.get(), "EPSG:32633");
  ds.reset();
  std::string why;
  EXPECT_FALSE(verify_cog(p, g, 1, PixelType::Byte, &why));
}

TEST_F(CogWriterTest, FailingWriteLeavesNoFinalAndNoTemporaryFile) {
  const Grid g = grid(30, 30);
  ByteRaster m(g, 1, 0);
  // Writing into a folder that does not exist fails inside GDAL.
  EXPECT_THROW(write_cog(m, dir_ / "missing" / "mask.tif", mask_cog_options("mask")), DataError);
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
  // A raster whose data does not match its grid is refused before anything is written.
  ByteRaster bad(g, 1, 0);
  bad.data.resize(10);
  EXPECT_THROW(write_cog(bad, dir_ / "bad.tif", mask_cog_options("mask")), DataError);
  // Wrong number of descriptions.
  EXPECT_THROW(write_cog(m, dir_ / "m.tif", reflectance_cog_options()), DataError);
  EXPECT_TRUE(files().empty());
}

TEST_F(CogWriterTest, RewriteReplacesAtomically) {
  const Grid g = grid(30, 30);
  ByteRaster a(g, 1, 1), b(g, 1, 2);
  const fs::path p = dir_ / "mask.tif";
  write_cog(a, p, mask_cog_options("mask"));
  write_cog(b, p, mask_cog_options("mask"));
  Ds ds(GDALOpen(p.c_str(), GA_ReadOnly));
  ASSERT_TRUE(ds);
  std::uint8_t v = 0;
  ASSERT_EQ(
      GDALRasterIO(GDALGetRasterBand(ds.get(), 1), GF_Read, 5, 5, 1, 1, &v, 1, 1, GDT_Byte, 0, 0),
      CE_None);
  EXPECT_EQ(v, 2);
  EXPECT_EQ(files(), std::vector<fs::path>{"mask.tif"});
}

TEST_F(CogWriterTest, WindowIsWrittenLikeTheCroppedRaster) {
  const Grid g = grid(700, 600);
  const BandStack r = sample_stack(g);
  const Window w{37, 21, 550, 530};  // larger than a block, not block-aligned
  // The crop, plainly, and its grid by hand.
  Grid cg = g;
  cg.transform[0] = 500000 + 37 * 10;
  cg.transform[3] = 5600000 - 21 * 10;
  cg.width = w.width;
  cg.height = w.height;
  BandStack crop(cg, 12, 0);
  for (int b = 0; b < 12; ++b)
    for (int y = 0; y < w.height; ++y)
      for (int x = 0; x < w.width; ++x) crop.at(b, y, x) = r.at(b, w.row + y, w.col + x);

  const fs::path windowed = dir_ / "windowed.tif", cropped = dir_ / "cropped.tif";
  write_cog(r, w, windowed, reflectance_cog_options());
  write_cog(crop, cropped, reflectance_cog_options());
  EXPECT_TRUE(verify_cog(windowed, cg, 12, PixelType::UInt16));
  Ds ds(GDALOpen(windowed.c_str(), GA_ReadOnly));
  ASSERT_TRUE(ds);
  for (int b = 0; b < 12; ++b) {
    std::vector<std::uint16_t> px(cg.pixel_count());
    ASSERT_EQ(GDALRasterIO(GDALGetRasterBand(ds.get(), b + 1), GF_Read, 0, 0, cg.width, cg.height,
                           px.data(), cg.width, cg.height, GDT_UInt16, 0, 0),
              CE_None);
    EXPECT_TRUE(std::equal(px.begin(), px.end(), crop.band(b))) << "band " << b;
  }
  // Same bytes as writing the copy: the window changes nothing but the memory used.
  auto bytes = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes(windowed), bytes(cropped));

  // A float raster too (other pixel size, other line offset).
  FloatRaster f(g, 1, 0.f);
  for (std::size_t i = 0; i < f.data.size(); ++i) f.data[i] = float(i % 1000) / 1000.f;
  FloatRaster fcrop(cg, 1, 0.f);
  for (int y = 0; y < w.height; ++y)
    for (int x = 0; x < w.width; ++x) fcrop.at(0, y, x) = f.at(0, w.row + y, w.col + x);
  write_cog(f, w, dir_ / "fw.tif", probability_cog_options("p"));
  write_cog(fcrop, dir_ / "fc.tif", probability_cog_options("p"));
  EXPECT_EQ(bytes(dir_ / "fw.tif"), bytes(dir_ / "fc.tif"));
}

// A whole tile is written from the GeoTIFF the bands were streamed into, block by block: the file
// must be byte for byte the one written from the same pixels in memory, whatever the file itself
// carries (here: its own metadata, other band descriptions, no nodata), and a half-written
// file never takes the name.
TEST_F(CogWriterTest, WindowOfAGeoTiffIsWrittenLikeTheSamePixelsInMemory) {
  const Grid g = grid(700, 600);
  const BandStack r = sample_stack(g);
  const fs::path source = dir_ / "stack.tif";
  {
    const char* co[] = {"TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", nullptr};
    Ds ds(GDALCreate(GDALGetDriverByName("GTiff"), source.c_str(), g.width, g.height, 12,
                     GDT_UInt16, const_cast<char**>(co)));
    ASSERT_TRUE(ds);
    GDALSetMetadataItem(ds.get(), "SOMETHING", "else", nullptr);
    for (int b = 0; b < 12; ++b) {
      GDALRasterBandH band = GDALGetRasterBand(ds.get(), b + 1);
      GDALSetDescription(band, "not the band name");
      ASSERT_EQ(
          GDALRasterIO(band, GF_Write, 0, 0, g.width, g.height,
                       const_cast<std::uint16_t*>(r.band(b)), g.width, g.height, GDT_UInt16, 0, 0),
          CE_None);
    }
  }
  auto bytes = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (const Window& w : {Window{0, 0, 700, 600}, Window{37, 21, 550, 530}}) {
    const fs::path from_file = dir_ / "from_file.tif", from_memory = dir_ / "from_memory.tif";
    write_cog(source, g, w, from_file, reflectance_cog_options());
    write_cog(r, w, from_memory, reflectance_cog_options());
    const std::string file_bytes = bytes(from_file);
    ASSERT_GT(file_bytes.size(), 1000u);
    EXPECT_EQ(file_bytes, bytes(from_memory)) << w.col << "," << w.row;
    EXPECT_TRUE(verify_cog(from_file, g.sub_grid(w), 12, PixelType::UInt16));
    Ds ds(GDALOpen(from_file.c_str(), GA_ReadOnly));
    ASSERT_TRUE(ds);
    EXPECT_EQ(GDALGetMetadataItem(ds.get(), "SOMETHING", nullptr), nullptr);
    EXPECT_STREQ(GDALGetDescription(GDALGetRasterBand(ds.get(), 3)), "B03");
    std::vector<std::uint16_t> px(std::size_t(w.width) * w.height);
    ASSERT_EQ(GDALRasterIO(GDALGetRasterBand(ds.get(), 5), GF_Read, 0, 0, w.width, w.height,
                           px.data(), w.width, w.height, GDT_UInt16, 0, 0),
              CE_None);
    for (int y = 0; y < w.height; y += 17)
      for (int x = 0; x < w.width; x += 13)
        ASSERT_EQ(px[std::size_t(y) * w.width + x], r.at(4, w.row + y, w.col + x));
  }
  // A source of the wrong size is refused before anything is written.
  EXPECT_THROW(write_cog(source, grid(701, 600), Window{0, 0, 10, 10}, dir_ / "x.tif",
                         reflectance_cog_options()),
               DataError);
  EXPECT_THROW(
      write_cog(source, g, Window{0, 0, 701, 10}, dir_ / "x.tif", reflectance_cog_options()),
      DataError);
  EXPECT_FALSE(fs::exists(dir_ / "x.tif"));
}

TEST_F(CogWriterTest, WindowLeavingTheRasterIsRefused) {
  const Grid g = grid(50, 40);
  const ByteRaster r(g, 1, 1);
  EXPECT_THROW(write_cog(r, Window{10, 0, 41, 40}, dir_ / "m.tif", mask_cog_options("mask")),
               DataError);
  EXPECT_THROW(write_cog(r, Window{-1, 0, 10, 10}, dir_ / "m.tif", mask_cog_options("mask")),
               DataError);
  EXPECT_THROW(write_cog(r, Window{0, 0, 0, 10}, dir_ / "m.tif", mask_cog_options("mask")),
               DataError);
  EXPECT_TRUE(files().empty());
}
