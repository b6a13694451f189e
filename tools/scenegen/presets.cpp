// The standard scene used by tests, benchmarks and the demo.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <s2prep/errors.hpp>
#include "scenegen/detail.hpp"
#include "scenegen/scenegen.hpp"

namespace s2prep::scenegen {
namespace {

// Geometry of the standard scene, all in UTM 33N (EPSG:32633), the scene CRS.
constexpr double kX0 = 300000;  // 33UUP upper-left corner (about 12.28 E, 48.7 N)
constexpr double kY0 = 5400000;

double snap60(double v) { return std::round(v / 60) * 60; }

struct Layout {
  double e;        // tile extent, m
  double overlap;  // 33UUP/33UVP overlap, m
  double region_cx, region_cy, region_half;
};

Layout layout(int size_px_10m) {
  Layout l;
  l.e = size_px_10m * 10.0;
  l.overlap = std::max(60.0, std::floor(l.e * 0.1 / 60) * 60);
  l.region_cx = kX0 + l.e - l.overlap / 2;
  l.region_cy = kY0 - l.e / 2;
  l.region_half = l.e * 0.1;
  return l;
}

}  // namespace

SceneSpec standard_scene(int size_px_10m, std::uint64_t seed) {
  if (size_px_10m < 120 || size_px_10m % 6 != 0) {
    throw InputError("The scene size " + std::to_string(size_px_10m) +
                     " px is not a multiple of 6 of at least 120; give e.g. 1098 or 10980.");
  }
  const Layout l = layout(size_px_10m);
  const double e = l.e;
  SceneSpec s;
  s.seed = seed;
  s.scene_epsg = 32633;

  // Two tiles of zone 33 overlapping by ~10 % of their width (as real MGRS tiles do, ~10 km),
  // and a zone-32 tile centred on 33UUP's western edge, so both zones see the same ground.
  s.tiles.push_back({"33UUP", 32633, kX0, kY0, size_px_10m});
  s.tiles.push_back({"33UVP", 32633, kX0 + e - l.overlap, kY0, size_px_10m});
  {
    auto t = detail::make_transform(32633, 32632);
    std::vector<double> x{kX0}, y{kY0 - e / 2};
    detail::transform_points(*t, x, y, 32633, 32632);
    s.tiles.push_back({"32UQU", 32632, snap60(x[0] - e / 2), snap60(y[0] + e / 2), size_px_10m});
  }

  // Confusers, fixed on the ground.
  auto at = [&](double fx, double fy) { return std::array<double, 2>{kX0 + fx * e, kY0 - fy * e}; };
  auto patch = [&](PatchKind k, double fx, double fy, double fr) {
    const auto p = at(fx, fy);
    s.patches.push_back({k, p[0], p[1], std::max(40.0, fr * e)});
  };
  patch(PatchKind::kSand, 0.22, 0.28, 0.05);
  patch(PatchKind::kSaturated, 0.22, 0.28, 0.006);
  patch(PatchKind::kSnow, 1.35, 0.3, 0.05);
  patch(PatchKind::kDarkWater, 0.3, 0.72, 0.04);
  patch(PatchKind::kTerrainDark, 0.7, 0.2, 0.04);
  patch(PatchKind::kTerrainDark, 1.5, 0.75, 0.05);
  patch(PatchKind::kSand, -0.3, 0.6, 0.05);  // in 32UQU only

  // Cloud heights scale with the tile so shadows stay inside small test tiles; at the real
  // tile size (10980 px) they are 1-3 km, as for low and middle clouds.
  auto cloud = [&](double fx, double fy, double fr, double fh, double ot = 2.0) {
    const auto p = at(fx, fy);
    return CloudSpec{p[0], p[1], fr * e, fh * e, ot};
  };
  const double rx = (l.region_cx - kX0) / e;  // demo region centre as a tile fraction

  AcquisitionSpec a1;
  a1.datetime = "2021-06-15T10:15:59.024Z";
  a1.platform = "Sentinel-2A";
  a1.processing_baseline = "02.12";
  a1.processing_time = "2021-06-15T17:24:31Z";
  a1.relative_orbit = 22;
  a1.sun_zenith_deg = 28;
  a1.sun_azimuth_deg = 148;
  a1.clouds = {cloud(0.3, 0.45, 0.05, 0.15), cloud(0.55, 0.62, 0.04, 0.25),
               cloud(1.4, 0.5, 0.06, 0.2)};
  s.acquisitions.push_back(a1);

  AcquisitionSpec a2;
  a2.datetime = "2021-07-10T10:05:59.024Z";
  a2.platform = "Sentinel-2B";
  a2.processing_baseline = "03.00";
  a2.processing_time = "2021-07-10T14:11:09Z";
  a2.relative_orbit = 65;
  a2.sun_zenith_deg = 29;
  a2.sun_azimuth_deg = 145;
  a2.clouds = {cloud(0.8, 0.3, 0.1, 0.5, 0.5)};  // thin cirrus only
  s.acquisitions.push_back(a2);

  AcquisitionSpec a3;
  a3.datetime = "2022-06-20T10:15:59.024Z";
  a3.platform = "Sentinel-2A";
  a3.processing_baseline = "04.00";
  a3.processing_time = "2022-06-20T16:42:10Z";
  a3.relative_orbit = 22;
  a3.sun_zenith_deg = 27;
  a3.sun_azimuth_deg = 150;
  a3.clouds = {cloud(rx - 0.06, 0.45, 0.04, 0.12), cloud(0.2, 0.8, 0.08, 0.6, 0.6),
               cloud(1.6, 0.3, 0.05, 0.18)};
  s.acquisitions.push_back(a3);

  // The same sensing, reprocessed later: a duplicate a selector must resolve.
  AcquisitionSpec a4 = a3;
  a4.processing_baseline = "05.00";
  a4.processing_time = "2023-03-02T08:12:44Z";
  s.acquisitions.push_back(a4);

  AcquisitionSpec a5;
  a5.datetime = "2023-04-03T10:05:49.024Z";
  a5.platform = "Sentinel-2B";
  a5.processing_baseline = "05.09";
  a5.processing_time = "2023-04-03T13:31:02Z";
  a5.relative_orbit = 65;
  a5.sun_zenith_deg = 45;
  a5.sun_azimuth_deg = 160;
  a5.clouds = {cloud(0.25, 0.6, 0.05, 0.15)};
  // The swath's eastern edge runs through the demo region: its east part has no data.
  a5.swath_edge = SwathEdge{l.region_cx, l.region_cy, 192, false};
  s.acquisitions.push_back(a5);

  AcquisitionSpec a6;
  a6.datetime = "2023-08-12T10:15:59.024Z";
  a6.platform = "Sentinel-2A";
  a6.processing_baseline = "05.09";
  a6.processing_time = "2023-08-12T15:02:27Z";
  a6.relative_orbit = 22;
  a6.sun_zenith_deg = 36;
  a6.sun_azimuth_deg = 156;
  a6.clouds = {cloud(0.15, 0.2, 0.07, 0.1),    cloud(0.45, 0.35, 0.06, 0.2),
               cloud(rx, 0.55, 0.05, 0.15),    cloud(0.6, 0.85, 0.08, 0.3),
               cloud(1.3, 0.6, 0.07, 0.25),    cloud(-0.2, 0.4, 0.06, 0.2),
               cloud(1.1, 0.15, 0.1, 0.7, 0.4)};
  s.acquisitions.push_back(a6);

  AcquisitionSpec a7;
  a7.datetime = "2023-09-01T10:10:31.024Z";
  a7.platform = "Sentinel-2B";
  a7.processing_baseline = "05.09";
  a7.processing_time = "2023-09-01T12:55:40Z";
  a7.relative_orbit = 65;
  a7.sun_zenith_deg = 42;
  a7.sun_azimuth_deg = 158;
  s.acquisitions.push_back(a7);  // clear
  return s;
}

std::string demo_region_wkt(const SceneSpec& scene) {
  const int size = scene.tiles.at(0).size_px_10m;
  const Layout l = layout(size);
  std::vector<double> x{l.region_cx - l.region_half, l.region_cx + l.region_half,
                        l.region_cx + l.region_half, l.region_cx - l.region_half};
  std::vector<double> y{l.region_cy - l.region_half, l.region_cy - l.region_half,
                        l.region_cy + l.region_half, l.region_cy + l.region_half};
  auto t = detail::make_transform(32633, 4326);
  detail::transform_points(*t, x, y, 32633, 4326);
  std::string wkt = "POLYGON((";
  char buf[64];
  for (int i = 0; i <= 4; ++i) {
    std::snprintf(buf, sizeof buf, "%s%.7f %.7f", i ? ", " : "", x[std::size_t(i % 4)],
                  y[std::size_t(i % 4)]);
    wkt += buf;
  }
  return wkt + "))";
}

}  // namespace s2prep::scenegen
