// Spectra and the in-memory rendering of one acquisition over one tile.

#include <ogr_spatialref.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"
#include "scenegen/detail.hpp"
#include "scenegen/scenegen.hpp"

namespace s2prep::scenegen {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Band order: B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12. Values follow the usual library
// spectra (green vegetation: red well ~0.04, red edge, NIR plateau ~0.35, water-absorption dip
// near 945 nm; soils rising with wavelength; clear water dark beyond 700 nm; snow bright in the
// visible and nearly black at 1.6/2.2 um; dry sand bright and rising into the SWIR).
constexpr std::array<double, 12> kVegetation{0.030, 0.040, 0.080, 0.040, 0.110, 0.250,
                                             0.320, 0.350, 0.360, 0.300, 0.200, 0.100};
constexpr std::array<double, 12> kBareSoil{0.080, 0.090, 0.120, 0.160, 0.180, 0.200,
                                           0.210, 0.220, 0.230, 0.220, 0.300, 0.260};
constexpr std::array<double, 12> kWater{0.060, 0.055, 0.045, 0.025, 0.020, 0.012,
                                        0.010, 0.008, 0.007, 0.005, 0.003, 0.002};
constexpr std::array<double, 12> kDarkWater{0.030, 0.025, 0.020, 0.012, 0.010, 0.006,
                                            0.005, 0.004, 0.004, 0.003, 0.002, 0.001};
constexpr std::array<double, 12> kSand{0.250, 0.280, 0.330, 0.380, 0.400, 0.420,
                                       0.430, 0.440, 0.450, 0.430, 0.500, 0.450};
constexpr std::array<double, 12> kSnow{0.850, 0.880, 0.870, 0.850, 0.830, 0.800,
                                       0.780, 0.750, 0.730, 0.600, 0.080, 0.060};
constexpr std::array<double, 12> kCloud{0.600, 0.620, 0.620, 0.620, 0.620, 0.620,
                                        0.620, 0.610, 0.610, 0.550, 0.450, 0.350};
constexpr std::array<double, 12> kShadowDarkening{0.50, 0.52, 0.56, 0.60, 0.62, 0.64,
                                                  0.66, 0.68, 0.68, 0.68, 0.70, 0.70};

struct Ground {
  Cover cover = Cover::kVegetation;
  float texture = 1;
  float terrain = 0;
  bool saturated = false;
};

// The ground at a point of the scene CRS: fields in rotated parcels, lakes from low-frequency
// noise, then the confuser patches on top.
Ground ground_at(const SceneSpec& scene, double x, double y) {
  const std::uint64_t seed = scene.seed;
  Ground g;
  const double lake = detail::fbm(seed + 11, x, y, 2500, 3);
  if (lake > 0.68) {
    g.cover = Cover::kWater;
    g.texture = float(0.95 + 0.1 * detail::value_noise(seed + 5, x, y, 200));
  } else {
    // Parcels about 240 m x 160 m on a grid rotated by 17 degrees, rows staggered.
    const double c = std::cos(17 * kPi / 180), s = std::sin(17 * kPi / 180);
    const double u = x * c - y * s, v = x * s + y * c;
    const auto iu = std::int64_t(std::floor(u / 240));
    const auto iv = std::int64_t(std::floor(v / 160 + ((iu & 1) ? 0.5 : 0.0)));
    const std::uint64_t h = detail::hash3(seed + 3, iu, iv);
    g.cover = detail::unit(h) < 0.62 ? Cover::kVegetation : Cover::kBareSoil;
    const double parcel = 0.88 + 0.24 * detail::unit(detail::mix(h));
    const double fine = 1 + 0.08 * (detail::fbm(seed + 17, x, y, 80, 3) - 0.5);
    g.texture = float(parcel * fine);
  }
  if (!scene.confusers) return g;
  for (std::size_t i = 0; i < scene.patches.size(); ++i) {
    const PatchSpec& p = scene.patches[i];
    const double dx = x - p.centre_x, dy = y - p.centre_y;
    if (std::abs(dx) > 1.3 * p.radius_m || std::abs(dy) > 1.3 * p.radius_m) continue;
    const double m =
        detail::blob_profile(detail::hash3(seed + 29, std::int64_t(i), 0), p.radius_m, dx, dy);
    switch (p.kind) {
      case PatchKind::kSand:
        if (m >= 0.5) g.cover = Cover::kSand;
        break;
      case PatchKind::kSnow:
        if (m >= 0.5) g.cover = Cover::kSnow;
        break;
      case PatchKind::kDarkWater:
        if (m >= 0.5) g.cover = Cover::kDarkWater;
        break;
      case PatchKind::kTerrainDark:
        g.terrain = std::max(g.terrain, float(m));
        break;
      case PatchKind::kSaturated:
        if (m >= 0.5) g.saturated = true;
        break;
    }
  }
  return g;
}

// Per-cloud values precomputed once per acquisition.
struct CloudPlacement {
  double cx, cy, sx, sy, radius, opacity;
  bool thin;
  std::uint64_t key;
};

std::vector<CloudPlacement> place_clouds(const SceneSpec& scene, const AcquisitionSpec& acq) {
  const double az = acq.sun_azimuth_deg * kPi / 180;
  const double tz = std::tan(acq.sun_zenith_deg * kPi / 180);
  std::vector<CloudPlacement> out;
  for (const CloudSpec& c : acq.clouds) {
    // Shadows fall away from the sun: the sun is at (sin az, cos az) in (east, north).
    const double d = c.height_m * tz;
    // Keyed by position, not by index, so a reprocessed duplicate has the same cloud shapes.
    const std::uint64_t key =
        detail::hash3(scene.seed + 41, std::llround(c.centre_x), std::llround(c.centre_y));
    out.push_back({c.centre_x, c.centre_y, c.centre_x - d * std::sin(az),
                   c.centre_y - d * std::cos(az), c.radius_m, std::min(1.0, c.optical_thickness),
                   c.optical_thickness < 1, key});
  }
  return out;
}

// Scene-CRS coordinates of every 10 m pixel centre of a tile in another CRS (row-major).
void scene_coordinates(const SceneSpec& scene, const TileSpec& tile, std::vector<double>& sx,
                       std::vector<double>& sy) {
  const int n = tile.size_px_10m;
  sx.resize(std::size_t(n) * n);
  sy.resize(std::size_t(n) * n);
  // Another UTM zone: project a coarse lattice exactly and interpolate bilinearly (the
  // projection is smooth; the error over 16 pixels is far below a millimetre).
  constexpr int kStep = 16;
  const int m = n / kStep + 2;
  std::vector<double> lx(std::size_t(m) * m), ly(std::size_t(m) * m);
  for (int j = 0; j < m; ++j) {
    for (int i = 0; i < m; ++i) {
      lx[std::size_t(j) * m + i] = tile.origin_x + (i * kStep + 0.5) * 10;
      ly[std::size_t(j) * m + i] = tile.origin_y - (j * kStep + 0.5) * 10;
    }
  }
  auto t = detail::make_transform(tile.epsg, scene.scene_crs());
  detail::transform_points(*t, lx, ly, tile.epsg, scene.scene_crs());
  for (int r = 0; r < n; ++r) {
    const int j = r / kStep;
    const double fy = double(r % kStep) / kStep;
    for (int c = 0; c < n; ++c) {
      const int i = c / kStep;
      const double fx = double(c % kStep) / kStep;
      const std::size_t a = std::size_t(j) * m + i, b = a + m;
      const std::size_t k = std::size_t(r) * n + c;
      sx[k] =
          (lx[a] * (1 - fx) + lx[a + 1] * fx) * (1 - fy) + (lx[b] * (1 - fx) + lx[b + 1] * fx) * fy;
      sy[k] =
          (ly[a] * (1 - fx) + ly[a + 1] * fx) * (1 - fy) + (ly[b] * (1 - fx) + ly[b + 1] * fx) * fy;
    }
  }
}

// The swath edge as a half-plane in the tile's CRS.
std::optional<std::array<double, 3>> half_plane(const SceneSpec& scene, const TileSpec& tile,
                                                const AcquisitionSpec& acq) {
  if (!acq.swath_edge) return std::nullopt;
  const SwathEdge& e = *acq.swath_edge;
  const double b = e.bearing_deg * kPi / 180;
  std::vector<double> x{e.x, e.x + 10000 * std::sin(b)};
  std::vector<double> y{e.y, e.y + 10000 * std::cos(b)};
  if (tile.epsg != scene.scene_crs()) {
    auto t = detail::make_transform(scene.scene_crs(), tile.epsg);
    detail::transform_points(*t, x, y, scene.scene_crs(), tile.epsg);
  }
  const double dx = x[1] - x[0], dy = y[1] - y[0];
  const double len = std::hypot(dx, dy);
  // Right-hand normal of the heading (dx, dy) is (dy, -dx).
  double nx = dy / len, ny = -dx / len;
  if (e.nodata_right) nx = -nx, ny = -ny;
  return std::array<double, 3>{nx, ny, -(nx * x[0] + ny * y[0])};
}

constexpr std::array<int, 12> kSclPriority{1, 9, 8, 10, 3, 2, 11, 6, 5, 4, 7, 0};
int scl_rank(int v) {
  for (int i = 0; i < int(kSclPriority.size()); ++i) {
    if (kSclPriority[i] == v) return i;
  }
  return int(kSclPriority.size());
}

}  // namespace

double cover_reflectance(Cover cover, int band) {
  const auto b = std::size_t(band);
  switch (cover) {
    case Cover::kVegetation:
      return kVegetation.at(b);
    case Cover::kBareSoil:
      return kBareSoil.at(b);
    case Cover::kWater:
      return kWater.at(b);
    case Cover::kDarkWater:
      return kDarkWater.at(b);
    case Cover::kSand:
      return kSand.at(b);
    case Cover::kSnow:
      return kSnow.at(b);
  }
  throw std::invalid_argument("unknown land cover");
}
double cloud_reflectance(int band) { return kCloud.at(std::size_t(band)); }
double shadow_darkening(int band) { return kShadowDarkening.at(std::size_t(band)); }

bool baseline_has_offset(const std::string& processing_baseline) {
  try {
    return std::stod(processing_baseline) >= 4.0 - 1e-9;
  } catch (const std::exception&) {
    throw InputError("The processing baseline '" + processing_baseline +
                     "' is not a number like 04.00; give the baseline as NN.NN.");
  }
}

std::uint16_t to_dn(double reflectance, bool offset) {
  const double dn = std::round(reflectance * 10000) + (offset ? 1000 : 0);
  return std::uint16_t(std::clamp(dn, 1.0, 65535.0));
}

Grid tile_grid(const TileSpec& tile, int resolution_m) {
  Grid g;
  g.epsg = tile.epsg;
  g.transform = {tile.origin_x, double(resolution_m), 0, tile.origin_y, 0, -double(resolution_m)};
  g.width = g.height = tile.size_px_10m * 10 / resolution_m;
  return g;
}

bool TileRender::valid_at(double x, double y) const {
  if (!valid_half_plane) return true;
  const auto& h = *valid_half_plane;
  return h[0] * x + h[1] * y + h[2] >= 0;
}

TileRender render_tile(const SceneSpec& scene, std::size_t acquisition, std::size_t tile_index) {
  const TileSpec& tile = scene.tiles.at(tile_index);
  const AcquisitionSpec& acq = scene.acquisitions.at(acquisition);
  if (tile.size_px_10m <= 0 || tile.size_px_10m % 6 != 0) {
    throw InputError("Tile " + tile.mgrs_tile + " has size " + std::to_string(tile.size_px_10m) +
                     " px; give a positive multiple of 6 so the 20 m and 60 m grids align.");
  }
  if (std::fmod(tile.origin_x, 60) != 0 || std::fmod(tile.origin_y, 60) != 0) {
    throw InputError("Tile " + tile.mgrs_tile +
                     " has its origin off the 60 m lattice; give "
                     "an upper-left corner whose coordinates are multiples of 60 m.");
  }
  TileRender out;
  out.grid = tile_grid(tile);
  out.offset = baseline_has_offset(acq.processing_baseline);
  out.valid_half_plane = half_plane(scene, tile, acq);
  const Grid& g = out.grid;
  out.cover = ByteRaster(g, 1);
  out.saturated = ByteRaster(g, 1);
  out.texture = FloatRaster(g, 1);
  out.terrain = FloatRaster(g, 1);
  out.cloud_alpha = FloatRaster(g, 1);
  out.shadow = FloatRaster(g, 1);
  out.cloud_thin = ByteRaster(g, 1);
  out.truth_cloud = ByteRaster(g, 1);
  out.truth_shadow = ByteRaster(g, 1);
  out.truth_dark = ByteRaster(g, 1);
  out.scl = ByteRaster(g, 1);

  // Tiles in the scene CRS need no lookup table (saves 16 bytes per pixel on full tiles).
  const bool same_crs = tile.epsg == scene.scene_crs();
  std::vector<double> sx, sy;
  if (!same_crs) scene_coordinates(scene, tile, sx, sy);
  const std::vector<CloudPlacement> clouds = place_clouds(scene, acq);
  const int n = g.width;

  detail::parallel_for(n, detail::default_threads(), [&](int row_begin, int row_end) {
    for (int r = row_begin; r < row_end; ++r) {
      for (int c = 0; c < n; ++c) {
        const std::size_t k = std::size_t(r) * n + c;
        const double x = same_crs ? tile.origin_x + (c + 0.5) * 10 : sx[k];
        const double y = same_crs ? tile.origin_y - (r + 0.5) * 10 : sy[k];
        const Ground gr = ground_at(scene, x, y);
        out.cover.data[k] = std::uint8_t(gr.cover);
        out.texture.data[k] = gr.texture;
        out.terrain.data[k] = gr.terrain;
        out.saturated.data[k] = gr.saturated ? 1 : 0;

        double alpha = 0, shadow = 0;
        bool thin = false;
        for (const CloudPlacement& cl : clouds) {
          const double a =
              cl.opacity * detail::blob_profile(cl.key, cl.radius, x - cl.cx, y - cl.cy);
          if (a > alpha) alpha = a, thin = cl.thin;
          shadow = std::max(
              shadow, cl.opacity * detail::blob_profile(cl.key, cl.radius, x - cl.sx, y - cl.sy));
        }
        out.cloud_alpha.data[k] = float(alpha);
        out.shadow.data[k] = float(shadow);
        out.cloud_thin.data[k] = thin ? 1 : 0;

        const double px = g.transform[0] + (c + 0.5) * 10, py = g.transform[3] - (r + 0.5) * 10;
        if (!out.valid_at(px, py)) {
          out.truth_cloud.data[k] = out.truth_shadow.data[k] = out.truth_dark.data[k] = 255;
          out.scl.data[k] = scl::kNoData;
          continue;
        }
        const bool cloud = alpha >= kCloudTruthOpacity;
        const bool shade = !cloud && shadow >= kShadowTruthStrength;
        const bool dark = gr.terrain >= 0.5;
        out.truth_cloud.data[k] = cloud ? (thin ? 2 : 1) : 0;
        out.truth_shadow.data[k] = shade ? 1 : 0;
        out.truth_dark.data[k] = dark ? 1 : 0;
        int cls;
        if (gr.saturated)
          cls = scl::kSaturatedDefective;
        else if (cloud)
          cls = thin ? scl::kThinCirrus : (alpha >= 0.6 ? scl::kCloudHigh : scl::kCloudMedium);
        else if (shade)
          cls = scl::kCloudShadow;
        else if (dark)
          cls = scl::kDarkArea;
        else if (gr.cover == Cover::kSnow)
          cls = scl::kSnowIce;
        else if (gr.cover == Cover::kWater || gr.cover == Cover::kDarkWater)
          cls = scl::kWater;
        else if (gr.cover == Cover::kVegetation)
          cls = scl::kVegetation;
        else
          cls = scl::kNotVegetated;
        out.scl.data[k] = std::uint8_t(cls);
      }
    }
  });
  return out;
}

FloatRaster reflectance_10m(const TileRender& render, int band) {
  if (band < 0 || band >= kBandCount) throw std::out_of_range("band index");
  FloatRaster out(render.grid, 1);
  const double cloud = cloud_reflectance(band), shade = shadow_darkening(band);
  const bool visible_saturates = band >= 1 && band <= 3;  // B02, B03, B04
  const std::size_t count = out.data.size();
  for (std::size_t k = 0; k < count; ++k) {
    if (visible_saturates && render.saturated.data[k]) {
      out.data[k] = 7.0F;  // beyond the DN range: clamps to 65535
      continue;
    }
    double r = cover_reflectance(Cover(render.cover.data[k]), band) * render.texture.data[k];
    r *= 1 - kTerrainDarkening * render.terrain.data[k];
    r *= 1 - shade * render.shadow.data[k];
    const double a = render.cloud_alpha.data[k];
    out.data[k] = float((1 - a) * r + a * cloud);
  }
  return out;
}

FloatRaster reflectance_at(const TileRender& render, int band, int resolution_m) {
  FloatRaster fine = reflectance_10m(render, band);
  if (resolution_m == 10) return fine;
  const int f = resolution_m / 10;
  if (f * 10 != resolution_m || render.grid.width % f != 0) {
    throw std::invalid_argument("resolution must divide the tile into whole 10 m blocks");
  }
  Grid g = render.grid;
  g.width /= f;
  g.height /= f;
  g.transform[1] = resolution_m;
  g.transform[5] = -resolution_m;
  FloatRaster out(g, 1);
  const int n = render.grid.width;
  for (int r = 0; r < g.height; ++r) {
    for (int c = 0; c < g.width; ++c) {
      double sum = 0;
      for (int i = 0; i < f; ++i) {
        const float* row = fine.data.data() + std::size_t(r * f + i) * n + c * f;
        for (int j = 0; j < f; ++j) sum += row[j];
      }
      out.data[std::size_t(r) * g.width + c] = float(sum / (f * f));
    }
  }
  return out;
}

Raster<std::uint16_t> band_dn(const TileRender& render, int band) {
  const int res = kBands.at(std::size_t(band)).resolution_m;
  const FloatRaster field = reflectance_at(render, band, res);
  Raster<std::uint16_t> out(field.grid, 1);
  const Grid& g = field.grid;
  for (int r = 0; r < g.height; ++r) {
    const double y = g.transform[3] + (r + 0.5) * g.transform[5];
    for (int c = 0; c < g.width; ++c) {
      const double x = g.transform[0] + (c + 0.5) * g.transform[1];
      const std::size_t k = std::size_t(r) * g.width + c;
      out.data[k] = render.valid_at(x, y) ? to_dn(field.data[k], render.offset) : 0;
    }
  }
  return out;
}

ByteRaster scl_20m(const TileRender& render) {
  Grid g = render.grid;
  g.width /= 2;
  g.height /= 2;
  g.transform[1] = 20;
  g.transform[5] = -20;
  ByteRaster out(g, 1);
  const int n = render.grid.width;
  for (int r = 0; r < g.height; ++r) {
    const double y = g.transform[3] - (r + 0.5) * 20;
    for (int c = 0; c < g.width; ++c) {
      const double x = g.transform[0] + (c + 0.5) * 20;
      if (!render.valid_at(x, y)) continue;  // stays 0
      std::array<int, 4> v{};
      for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 2; ++j) {
          v[std::size_t(i * 2 + j)] = render.scl.data[std::size_t(2 * r + i) * n + 2 * c + j];
        }
      }
      int best = 0, best_count = 0;
      for (int a : v) {
        if (a == scl::kNoData) continue;
        const int count = int(std::count(v.begin(), v.end(), a));
        if (count > best_count || (count == best_count && scl_rank(a) < scl_rank(best))) {
          best = a;
          best_count = count;
        }
      }
      out.data[std::size_t(r) * g.width + c] = std::uint8_t(best);
    }
  }
  return out;
}

}  // namespace s2prep::scenegen
