// Bands read onto a grid in another UTM zone than their tile's: every band equals GDAL's own
// exact bilinear warp (the `gdalwarp` binary with `-et 0` and the kernel scale of the pixel
// sizes) onto the same grid, whether the grid is read alone or as the window of a larger context
// grid.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/bands.hpp"
#include "fixtures.hpp"
#include "geo/geometry.hpp"
#include "ingest/gdal_env.hpp"
#include "ingest/grid.hpp"
#include "ingest/reader.hpp"
#include "scenegen/scenegen.hpp"

using namespace s2prep;
using namespace s2prep::ingest;
using namespace s2prep::ingest::test;

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6f", v);
  return buf;
}

// `gdalwarp -et 0 -r bilinear -srcnodata 0 -dstnodata 0` onto `g`, run as GDAL's own program,
// with the kernel scale set to the ratio of pixel sizes (`-wo XSCALE/YSCALE`). Left to itself,
// gdalwarp estimates the scale per chunk from the bounding box of the source window, which
// depends on the window: on the real patch below, B02 warped onto the output grid and onto a
// 512 px grid around it then cropped differs by 34 DN even with -et 0, and on the output grid it
// is smoothed by a kernel 9 % wider than bilinear (the grid is rotated by 5.3 degrees of
// meridian convergence between the zones).
std::vector<std::uint16_t> gdalwarp_exact(const fs::path& src, const Grid& g, const fs::path& out) {
  double src_res = 0;
  {
    Ds ds(GDALOpen(src.c_str(), GA_ReadOnly));
    EXPECT_TRUE(ds) << src;
    if (!ds) return {};
    std::array<double, 6> gt{};
    GDALGetGeoTransform(ds.get(), gt.data());
    src_res = gt[1];
  }
  const std::string scale = num(src_res / g.resolution());
  const std::string cmd =
      "gdalwarp -q -overwrite -et 0 -r bilinear -srcnodata 0 -dstnodata 0 "
      "-wo XSCALE=" +
      scale + " -wo YSCALE=" + scale +
      " -ot UInt16 -of GTiff -t_srs EPSG:" + std::to_string(g.epsg) + " -te " + num(g.min_x()) +
      " " + num(g.min_y()) + " " + num(g.max_x()) + " " + num(g.max_y()) + " -tr " +
      num(g.resolution()) + " " + num(g.resolution()) + " '" + src.string() + "' '" + out.string() +
      "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return read_all<std::uint16_t>(out);
}

struct Agreement {
  int max_diff = 0;
  std::size_t off = 0;  // pixels more than 1 DN apart
  std::size_t valid = 0;
};

// `ours` is a window `w` of a raster `stride` pixels wide.
Agreement compare(const std::vector<std::uint16_t>& ref, const std::uint16_t* ours, const Window& w,
                  int stride) {
  Agreement a;
  for (int r = 0; r < w.height; ++r) {
    for (int c = 0; c < w.width; ++c) {
      const int e = ref[std::size_t(r) * w.width + c];
      const int v = ours[std::size_t(w.row + r) * stride + w.col + c];
      const int d = std::abs(e - v);
      a.max_diff = std::max(a.max_diff, d);
      if (d > 1) ++a.off;
      if (e != 0) ++a.valid;
    }
  }
  return a;
}

// Reads `src` onto `output` alone and as the window of each context grid; each must agree with
// the exact warp within 1 DN.
void expect_exact_warp(const fs::path& src, const std::string& band, const Grid& output,
                       const std::vector<Grid>& contexts, const fs::path& tmp) {
  SCOPED_TRACE(band);
  const auto ref = gdalwarp_exact(src, output, tmp / (band + "_gdalwarp.tif"));
  ASSERT_EQ(ref.size(), std::size_t(output.pixel_count()));
  const BandSource source{"item", band, src.string(), {}};
  ReadInfo info;
  const auto alone = read_band<std::uint16_t>(source, output, Resampling::Bilinear, {}, &info);
  EXPECT_TRUE(info.warped);
  const Agreement a =
      compare(ref, alone.data.data(), Window{0, 0, output.width, output.height}, output.width);
  EXPECT_LE(a.max_diff, 1) << a.off << " pixels off";
  // Most of the grid has data: the comparison is not between two empty rasters.
  EXPECT_GT(a.valid, std::size_t(output.pixel_count()) / 2);
  for (const Grid& context : contexts) {
    const auto wide = read_band<std::uint16_t>(source, context, Resampling::Bilinear);
    const Agreement b = compare(ref, wide.data.data(), context.window_of(output), context.width);
    EXPECT_LE(b.max_diff, 1) << b.off << " pixels off, context " << context.width << " x "
                             << context.height;
  }
}

}  // namespace

// A real BigEarthNet patch in zone 35, east of 30 E: its ground lies in zone 36 too.
TEST(WarpAcrossZones, RealPatchEqualsExactGdalwarpWithAnyContext) {
  const std::string name = "S2B_MSIL2A_20170924T93020_69_24";
  const fs::path dir = fs::path(S2PREP_SHARED_DIR) / "fixtures" / "bigearthnet" / name;
  if (!fs::exists(dir)) GTEST_SKIP() << "no ../shared/fixtures/bigearthnet/" << name;
  configure_gdal();
  TempDir tmp;
  // 100 x 100 px of 10 m in UTM 36 inside the patch (1.2 km square in UTM 35).
  Grid output;
  output.epsg = 32636;
  output.transform = {377200, 10, 0, 6968300, 0, -10};
  output.width = output.height = 100;
  const std::vector<Grid> contexts = {context_grid(output, 64), context_grid(output, 64, 768)};
  for (const auto& b : kBands) {
    const fs::path p = dir / (name + "_" + std::string(b.name) + ".tif");
    ASSERT_TRUE(fs::exists(p)) << p;
    expect_exact_warp(p, std::string(b.name), output, contexts, tmp.path);
  }
}

// The same on a generated tile of zone 33 read onto a grid of zone 32, so it runs everywhere.
TEST(WarpAcrossZones, GeneratedTileEqualsExactGdalwarpWithAnyContext) {
  configure_gdal();
  TempDir tmp;
  scenegen::SceneSpec scene = scenegen::standard_scene(600, 5);
  scene.tiles = {scene.tiles.at(0)};  // 33UUP
  ASSERT_EQ(scene.tiles[0].epsg, 32633);
  scenegen::AcquisitionSpec acq = scene.acquisitions.at(0);
  acq.tiles.clear();
  scene.acquisitions = {acq};
  const auto generated = scenegen::generate(scene, tmp.path, tmp.path.string(), {1});
  ASSERT_EQ(generated.size(), 1u);
  const auto item = stac::Item::from_json(generated[0].item);

  // 300 x 300 px of 10 m in UTM 32 around the tile's centre.
  const Grid tile = scenegen::tile_grid(scene.tiles[0]);
  const geo::Transformer to_zone32("EPSG:32633", "EPSG:32632");
  const auto [cx, cy] =
      to_zone32((tile.min_x() + tile.max_x()) / 2, (tile.min_y() + tile.max_y()) / 2);
  Grid output;
  output.epsg = 32632;
  output.transform = {std::round(cx / 10) * 10 - 1500, 10, 0,
                      std::round(cy / 10) * 10 + 1500, 0,  -10};
  output.width = output.height = 300;
  const std::vector<Grid> contexts = {context_grid(output, 64), context_grid(output, 64, 768)};
  for (const auto& b : kBands) {
    const std::string band(b.name);
    expect_exact_warp(item.assets.at(band).href, band, output, contexts, tmp.path);
  }
}
