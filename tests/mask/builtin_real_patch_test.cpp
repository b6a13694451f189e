// The built-in detector on real cloud-free L2A patches (BigEarthNet, ../shared/fixtures): real
// ground must not be called cloud or shadow. Skips when ../shared is absent.

#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/bands.hpp"
#include "mask/builtin_detector.hpp"

namespace s2prep::mask {
namespace {

namespace fs = std::filesystem;

struct DatasetCloser {
  void operator()(GDALDataset* d) const { GDALClose(d); }
};

// The 12 bands of a 1.2 km patch on its 120 x 120 px 10 m grid; coarser bands repeated onto it.
// The patches are from 2017 (baseline 02.05): no offset to remove.
BandStack read_patch(const fs::path& dir) {
  GDALAllRegister();
  constexpr int kSize = 120;
  Grid grid;
  grid.width = grid.height = kSize;
  grid.transform = {0, 10, 0, 0, 0, -10};
  BandStack stack(grid, kBandCount, 0);
  for (int b = 0; b < kBandCount; ++b) {
    const fs::path file =
        dir / (dir.filename().string() + "_" + std::string(kBands[b].name) + ".tif");
    std::unique_ptr<GDALDataset, DatasetCloser> ds(
        GDALDataset::FromHandle(GDALOpen(file.c_str(), GA_ReadOnly)));
    if (!ds) throw std::runtime_error("cannot open " + file.string());
    // Nearest-neighbour upsampling by GDAL itself.
    if (ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, ds->GetRasterXSize(), ds->GetRasterYSize(),
                                       stack.band(b), kSize, kSize, GDT_UInt16, 0, 0) != CE_None) {
      throw std::runtime_error("cannot read " + file.string());
    }
  }
  return stack;
}

TEST(BuiltinRealPatch, CloudFreeGroundStaysClear) {
  const fs::path root = fs::path(S2PREP_SHARED_DIR) / "fixtures" / "bigearthnet";
  if (!fs::is_directory(root)) GTEST_SKIP() << "no " << root;
  int patches = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    ++patches;
    const BandStack stack = read_patch(entry.path());
    const BuiltinResult result = builtin_detect(stack, {35, 160}, 0.3);
    int cloudy = 0, shadowed = 0;
    float max_cloud = 0;
    for (std::size_t i = 0; i < stack.band_size(); ++i) {
      cloudy += result.cloud.data[i] > 0.3f;
      shadowed += result.shadow.data[i] > 0.2f;
      max_cloud = std::max(max_cloud, result.cloud.data[i]);
    }
    std::printf("%s: cloud > 0.3 on %d px, shadow > 0.2 on %d px, max cloud %.3f\n",
                entry.path().filename().c_str(), cloudy, shadowed, max_cloud);
    EXPECT_LE(cloudy, int(stack.band_size() / 200)) << entry.path();  // 0.5 %
    EXPECT_EQ(shadowed, 0) << entry.path();
  }
  EXPECT_GT(patches, 0);
}

TEST(BuiltinRealPatch, CloudPastedOnRealGroundCastsItsShadow) {
  const fs::path root = fs::path(S2PREP_SHARED_DIR) / "fixtures" / "bigearthnet";
  if (!fs::is_directory(root)) GTEST_SKIP() << "no " << root;
  // Sun due south at zenith 45: a cloud at 350 m shades the ground 35 px north of it.
  constexpr double kCloud[12]{0.55, 0.55, 0.54, 0.54, 0.54, 0.54,
                              0.54, 0.54, 0.54, 0.40, 0.45, 0.35};
  constexpr double kShade[12]{0.45, 0.45, 0.35, 0.3, 0.25, 0.22, 0.2, 0.2, 0.2, 0.2, 0.15, 0.15};
  const int row = 85, col = 60, radius = 12, shift = 35;
  auto in_disc = [](int r, int c, int r0, int c0, int rad) {
    return (r - r0) * (r - r0) + (c - c0) * (c - c0) <= rad * rad;
  };
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    BandStack stack = read_patch(entry.path());
    for (int r = 0; r < stack.grid.height; ++r) {
      for (int c = 0; c < stack.grid.width; ++c) {
        for (int b = 0; b < kBandCount; ++b) {
          auto& dn = stack.at(b, r, c);
          if (in_disc(r, c, row, col, radius)) dn = std::uint16_t(kCloud[b] * 1e4);
          if (in_disc(r, c, row - shift, col, radius)) {
            dn = std::uint16_t(std::max(1.0, dn * kShade[b]));
          }
        }
      }
    }
    const BuiltinResult result = builtin_detect(stack, {45, 180}, 0.3);
    int cloud_hits = 0, cloud_px = 0, shadow_hits = 0, shadow_px = 0, stray = 0;
    for (int r = 0; r < stack.grid.height; ++r) {
      for (int c = 0; c < stack.grid.width; ++c) {
        const bool cloud_core = in_disc(r, c, row, col, radius - 1);
        const bool shadow_core = in_disc(r, c, row - shift, col, radius - 2);
        cloud_px += cloud_core;
        cloud_hits += cloud_core && result.cloud.at(0, r, c) > 0.3f;
        shadow_px += shadow_core;
        shadow_hits += shadow_core && result.shadow.at(0, r, c) > 0.2f;
        stray += !in_disc(r, c, row - shift, col, radius + 2) && result.shadow.at(0, r, c) > 0.2f;
      }
    }
    EXPECT_EQ(cloud_hits, cloud_px) << entry.path();
    EXPECT_GE(shadow_hits, 0.9 * shadow_px) << entry.path();
    EXPECT_EQ(stray, 0) << entry.path();
  }
}

}  // namespace
}  // namespace s2prep::mask
