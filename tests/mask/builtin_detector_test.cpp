// Unit tests of the built-in cloud and shadow detector on small constructed scenes: typical
// L2A reflectance spectra (vegetation, sand, snow, water, cloud) painted as shapes, shadows
// drawn by hand at an offset computed here from the sun geometry.

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>

#include <s2prep/errors.hpp>
#include "mask/builtin_detector.hpp"

namespace s2prep::mask {
namespace {

using Spectrum = std::array<double, 12>;  // reflectance, B01..B12

// Typical surface reflectance (rounded from USGS/ASTER library spectra at the S2 bands).
constexpr Spectrum kVegetation{0.03, 0.04, 0.07, 0.04, 0.10, 0.25,
                               0.30, 0.33, 0.35, 0.35, 0.18, 0.09};
constexpr Spectrum kSoil{0.08, 0.10, 0.14, 0.18, 0.21, 0.23, 0.25, 0.26, 0.27, 0.27, 0.32, 0.28};
constexpr Spectrum kSand{0.20, 0.22, 0.32, 0.42, 0.46, 0.48, 0.50, 0.51, 0.52, 0.52, 0.60, 0.55};
constexpr Spectrum kSnow{0.85, 0.85, 0.84, 0.82, 0.80, 0.78, 0.76, 0.74, 0.72, 0.65, 0.08, 0.05};
constexpr Spectrum kWater{0.06, 0.05, 0.06, 0.03,  0.02,  0.015,
                          0.01, 0.01, 0.01, 0.005, 0.005, 0.003};
constexpr Spectrum kCloud{0.55, 0.55, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54, 0.40, 0.45, 0.35};
// Conifer forest on a north slope: dark in every band like a shadow, but no cloud casts it.
constexpr Spectrum kDarkTerrain{0.02, 0.02, 0.03, 0.02, 0.04, 0.07,
                                0.08, 0.09, 0.09, 0.09, 0.05, 0.025};
// Share of the light that still reaches a shadowed surface (diffuse sky light, bluer).
constexpr Spectrum kShadowFactor{0.45, 0.45, 0.35, 0.3, 0.25, 0.22, 0.2, 0.2, 0.2, 0.2, 0.15, 0.15};

Spectrum blend(const Spectrum& a, const Spectrum& b, double share_of_b) {
  Spectrum out;
  for (int i = 0; i < 12; ++i) out[i] = (1 - share_of_b) * a[i] + share_of_b * b[i];
  return out;
}

Grid test_grid(int width, int height) {
  Grid g;
  g.epsg = 32633;
  g.transform = {500000, 10, 0, 5000000, 0, -10};
  g.width = width;
  g.height = height;
  return g;
}

class Scene {
 public:
  Scene(int width, int height, const Spectrum& background)
      : stack_(test_grid(width, height), 12, 0) {
    fill([](int, int) { return true; }, background);
  }

  // Paints `s` where `inside(row, col)`, with +-2 % deterministic texture.
  void fill(const std::function<bool(int, int)>& inside, const Spectrum& s) {
    for_each(inside, [&](int r, int c) {
      const double texture = 1.0 + 0.02 * std::sin(r * 1.7 + c * 0.9) * std::cos(c * 1.3);
      for (int b = 0; b < 12; ++b) {
        stack_.at(b, r, c) = std::uint16_t(std::max(1.0, std::lround(s[b] * texture * 1e4) * 1.0));
      }
    });
  }
  // Darkens what is there, as a cloud shadow does.
  void shade(const std::function<bool(int, int)>& inside) {
    for_each(inside, [&](int r, int c) {
      for (int b = 0; b < 12; ++b) {
        auto& dn = stack_.at(b, r, c);
        dn = std::uint16_t(std::max(1.0, std::round(dn * kShadowFactor[b])));
      }
    });
  }
  void set_nodata(int r, int c) { stack_.at(0, r, c) = 0; }
  const BandStack& stack() const { return stack_; }

 private:
  void for_each(const std::function<bool(int, int)>& inside,
                const std::function<void(int, int)>& paint) {
    for (int r = 0; r < stack_.grid.height; ++r) {
      for (int c = 0; c < stack_.grid.width; ++c) {
        if (inside(r, c)) paint(r, c);
      }
    }
  }
  BandStack stack_;
};

auto disc(double row, double col, double radius) {
  return [=](int r, int c) {
    return (r - row) * (r - row) + (c - col) * (c - col) <= radius * radius;
  };
}
auto rect(int row0, int col0, int row1, int col1) {
  return [=](int r, int c) { return r >= row0 && r < row1 && c >= col0 && c < col1; };
}

// Share of pixels in `region` where `predicate(value)` holds.
double share(const FloatRaster& p, const std::function<bool(int, int)>& region,
             const std::function<bool(float)>& predicate) {
  int n = 0, hit = 0;
  for (int r = 0; r < p.grid.height; ++r) {
    for (int c = 0; c < p.grid.width; ++c) {
      if (!region(r, c)) continue;
      ++n;
      hit += predicate(p.at(0, r, c));
    }
  }
  return n ? double(hit) / n : 0.0;
}

auto above(double t) {
  return [t](float v) { return v > t; };
}
auto below(double t) {
  return [t](float v) { return v < t; };
}

TEST(BuiltinCloud, ThickCloudHighClearLandLow) {
  Scene scene(120, 60, kVegetation);
  scene.fill(rect(0, 40, 60, 80), kSoil);
  scene.fill(disc(30, 100, 12), kCloud);
  const FloatRaster p = builtin_cloud_probability(scene.stack());
  // The rim is left out: the opening trims one-pixel bumps of the digital disc.
  EXPECT_EQ(share(p, disc(30, 100, 11), above(0.9)), 1.0);
  EXPECT_EQ(share(p, rect(0, 0, 60, 35), below(0.05)), 1.0);   // vegetation
  EXPECT_EQ(share(p, rect(0, 40, 60, 80), below(0.05)), 1.0);  // soil
  for (float v : p.data) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
}

TEST(BuiltinCloud, ThinCloudInBetween) {
  Scene scene(40, 40, kVegetation);
  scene.fill(rect(0, 0, 40, 20), blend(kVegetation, kCloud, 0.3));
  scene.fill(rect(0, 20, 40, 40), blend(kVegetation, kCloud, 0.6));
  const FloatRaster p = builtin_cloud_probability(scene.stack());
  // Thin cloud sits between clear land and thick cloud, and thicker is more probable.
  EXPECT_EQ(share(p, rect(0, 0, 40, 20), [](float v) { return v > 0.2 && v < 0.9; }), 1.0);
  EXPECT_EQ(share(p, rect(0, 20, 40, 40), above(0.9)), 1.0);
}

TEST(BuiltinCloud, SnowIsNotCloud) {
  Scene scene(40, 40, kSnow);
  const FloatRaster p = builtin_cloud_probability(scene.stack());
  EXPECT_EQ(share(p, rect(0, 0, 40, 40), below(0.1)), 1.0);
}

TEST(BuiltinCloud, BrightSandMostlyNotCloud) {
  Scene scene(40, 40, kSand);
  // A brighter, whiter dune sand as well: the hardest confuser without a thermal band.
  constexpr Spectrum kWhiteSand{0.25, 0.30, 0.35, 0.40, 0.42, 0.44,
                                0.45, 0.46, 0.47, 0.45, 0.53, 0.48};
  scene.fill(rect(0, 20, 40, 40), kWhiteSand);
  const FloatRaster p = builtin_cloud_probability(scene.stack());
  EXPECT_EQ(share(p, rect(0, 0, 40, 20), below(0.1)), 1.0);
  EXPECT_GT(share(p, rect(0, 20, 40, 40), below(0.3)), 0.9);
}

TEST(BuiltinCloud, ClearWaterLowCloudOverWaterHigh) {
  Scene scene(40, 40, kWater);
  scene.fill(rect(0, 20, 40, 40), blend(kWater, kCloud, 0.5));
  const FloatRaster p = builtin_cloud_probability(scene.stack());
  EXPECT_EQ(share(p, rect(0, 0, 40, 20), below(0.05)), 1.0);
  EXPECT_EQ(share(p, rect(0, 20, 40, 40), above(0.7)), 1.0);
}

TEST(BuiltinCloud, NodataIsOne) {
  Scene scene(10, 10, kVegetation);
  scene.set_nodata(3, 4);
  const FloatRaster p = builtin_cloud_probability(scene.stack());
  EXPECT_EQ(p.at(0, 3, 4), 1.0f);
  EXPECT_LT(p.at(0, 3, 5), 0.05f);
}

TEST(BuiltinCloud, WrongBandCountIsInputError) {
  BandStack stack(test_grid(4, 4), 11, 100);
  EXPECT_THROW(builtin_cloud_probability(stack), InputError);
}

TEST(BuiltinShadow, OffsetPointsAwayFromTheSun) {
  // Sun in the south (azimuth 180): shadow to the north, i.e. up (negative row).
  const PixelOffset north = shadow_offset({45, 180}, 1000, 10);
  EXPECT_NEAR(north.col, 0.0, 1e-9);
  EXPECT_NEAR(north.row, -100.0, 1e-9);  // 1000 m * tan 45 / 10 m
  // Sun in the east: shadow to the west (negative column).
  const PixelOffset west = shadow_offset({60, 90}, 500, 10);
  EXPECT_NEAR(west.col, -500 * std::sqrt(3.0) / 10, 1e-9);
  EXPECT_NEAR(west.row, 0.0, 1e-9);
}

TEST(BuiltinShadow, DarknessMarksDepressionsOnly) {
  Scene scene(80, 80, kVegetation);
  scene.shade(disc(40, 40, 10));
  const FloatRaster cloud(scene.stack().grid, 1, 0.0f);
  const FloatRaster dark = builtin_darkness(scene.stack(), cloud, 0.3);
  EXPECT_GT(share(dark, disc(40, 40, 9), above(0.9)), 0.99);
  EXPECT_EQ(share(
                dark, [](int r, int c) { return (r - 40) * (r - 40) + (c - 40) * (c - 40) > 144; },
                below(0.1)),
            1.0);
}

// A cloud at 1000 m with the sun at zenith 40, azimuth 135 (south-east): its shadow lies
// 1000 * tan(40 deg) / 10 = 83.91 px away towards the north-west, i.e. 59.33 px up and left.
constexpr double kShift = 59.33;

TEST(BuiltinShadow, FindsShadowAtTheRightOffset) {
  Scene scene(260, 260, kVegetation);
  const double row = 180, col = 180, radius = 16;
  scene.shade(disc(row - kShift, col - kShift, radius));
  scene.fill(disc(row, col, radius), kCloud);
  // Confusers: dark water and dark terrain that no cloud explains.
  scene.fill(rect(20, 180, 60, 240), kWater);
  scene.fill(rect(180, 20, 240, 80), kDarkTerrain);

  const BuiltinResult result = builtin_detect(scene.stack(), {40, 135}, 0.3);
  EXPECT_GT(share(result.shadow, disc(row - kShift, col - kShift, radius - 2), above(0.5)), 0.95);
  // Nothing outside the shadow (with a 3 px tolerance at its edge) is called shadow.
  EXPECT_EQ(share(
                result.shadow,
                [&](int r, int c) { return !disc(row - kShift, col - kShift, radius + 3)(r, c); },
                below(0.2)),
            1.0);
  EXPECT_EQ(share(result.cloud, disc(row, col, radius - 1), above(0.9)), 1.0);
  EXPECT_EQ(share(result.cloud, rect(20, 180, 60, 240), below(0.05)), 1.0);
  EXPECT_EQ(share(result.cloud, rect(180, 20, 240, 80), below(0.05)), 1.0);
}

TEST(BuiltinShadow, EachCloudGetsItsOwnHeight) {
  // Sun at zenith 30, azimuth 180 (due south): shadows fall straight up (north) by
  // h * tan(30 deg) / 10 m = 57.74 px at 1000 m and 161.66 px at 2800 m.
  Scene scene(240, 300, kVegetation);
  scene.shade(disc(200 - 57.74, 60, 12));
  scene.fill(disc(200, 60, 12), kCloud);
  scene.shade(disc(260 - 161.66, 180, 14));
  scene.fill(disc(260, 180, 14), kCloud);
  const FloatRaster shadow = builtin_detect(scene.stack(), {30, 180}, 0.3).shadow;
  EXPECT_GT(share(shadow, disc(200 - 57.74, 60, 10), above(0.5)), 0.95);
  EXPECT_GT(share(shadow, disc(260 - 161.66, 180, 12), above(0.5)), 0.95);
  EXPECT_EQ(share(
                shadow,
                [](int r, int c) {
                  return !disc(200 - 57.74, 60, 15)(r, c) && !disc(260 - 161.66, 180, 17)(r, c);
                },
                below(0.2)),
            1.0);
}

TEST(BuiltinShadow, HeightsOutsideTheSearchRangeAreNotMatched) {
  Scene scene(260, 260, kVegetation);
  scene.shade(disc(180 - kShift, 180 - kShift, 16));
  scene.fill(disc(180, 180, 16), kCloud);
  BuiltinOptions options;
  options.max_cloud_height_m = 600;  // the cloud is at 1000 m
  const FloatRaster shadow = builtin_detect(scene.stack(), {40, 135}, 0.3, options).shadow;
  EXPECT_EQ(share(
                shadow, [](int, int) { return true; }, below(0.2)),
            1.0);
  options.max_cloud_height_m = 1200;
  options.height_step_m = 50;  // 1000 m is on the lattice
  const FloatRaster found = builtin_detect(scene.stack(), {40, 135}, 0.3, options).shadow;
  EXPECT_GT(share(found, disc(180 - kShift, 180 - kShift, 14), above(0.5)), 0.95);
}

TEST(BuiltinShadow, LargeDarkAreaOnTheSunLineIsNotTakenForShadow) {
  // A dark terrain patch large enough to hold the whole projected cloud lies on the shadow
  // line beyond the true shadow; a plain "fraction of dark pixels" score would match it too.
  Scene scene(300, 300, kVegetation);
  const double row = 250, col = 250, radius = 10;
  scene.fill(rect(20, 20, 120, 120), kDarkTerrain);
  scene.shade(disc(row - kShift, col - kShift, radius));
  scene.fill(disc(row, col, radius), kCloud);
  const FloatRaster shadow = builtin_detect(scene.stack(), {40, 135}, 0.3).shadow;
  EXPECT_GT(share(shadow, disc(row - kShift, col - kShift, radius - 2), above(0.5)), 0.95);
  EXPECT_EQ(share(shadow, rect(20, 20, 120, 120), below(0.2)), 1.0);
}

TEST(BuiltinShadow, ShadowOnWaterLineDoesNotPaintWater) {
  // The cloud's shadow would fall on a lake; the water's darkness must not be read as shadow.
  Scene scene(200, 200, kVegetation);
  scene.fill(rect(0, 0, 100, 100), kWater);
  scene.fill(disc(150, 150, 12), kCloud);
  const FloatRaster shadow = builtin_detect(scene.stack(), {40, 135}, 0.3).shadow;
  EXPECT_EQ(share(shadow, rect(0, 0, 100, 100), below(0.2)), 1.0);
}

TEST(BuiltinShadow, NoCloudNoShadowAndNodataIsOne) {
  Scene scene(60, 60, kVegetation);
  scene.fill(rect(10, 10, 30, 30), kDarkTerrain);
  scene.fill(rect(35, 35, 55, 55), kWater);
  scene.set_nodata(0, 0);
  const BuiltinResult result = builtin_detect(scene.stack(), {30, 150}, 0.3);
  EXPECT_EQ(result.shadow.at(0, 0, 0), 1.0f);
  EXPECT_EQ(result.cloud.at(0, 0, 0), 1.0f);
  EXPECT_EQ(share(
                result.shadow, [](int r, int c) { return r + c > 0; }, below(0.01)),
            1.0);
}

TEST(BuiltinShadow, BadSunOrGridIsInputError) {
  Scene scene(20, 20, kVegetation);
  const FloatRaster cloud(scene.stack().grid, 1, 0.0f);
  EXPECT_THROW(builtin_shadow_probability(scene.stack(), cloud, {95, 180}, 0.3), InputError);
  BuiltinOptions tiny_step;
  tiny_step.height_step_m = 0.001;
  EXPECT_THROW(builtin_shadow_probability(scene.stack(), cloud, {30, 180}, 0.3, tiny_step),
               InputError);
  const FloatRaster wrong(test_grid(10, 10), 1, 0.0f);
  EXPECT_THROW(builtin_shadow_probability(scene.stack(), wrong, {30, 180}, 0.3), InputError);
}

}  // namespace
}  // namespace s2prep::mask
