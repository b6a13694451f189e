#pragma once
// Synthetic Sentinel-2 L2A scenes with known truth: Cloud-Optimized GeoTIFFs laid out and
// described like Planetary Computer's `sentinel-2-l2a` collection, for tests, benchmarks and the
// offline demo.
//
// A scene is a set of MGRS-like tiles (each on its own UTM grid) observed at several
// acquisitions. The ground (land cover, texture, confusers) is a function of position in one
// scene CRS, so overlapping tiles — also across a UTM zone boundary — show the same ground.
// Clouds are placed in the scene CRS per acquisition and cast shadows along the sun direction.
// Every raster written is derived from one 10 m reflectance field per band, so 20 m and 60 m
// bands are exact block means of it and tests can recompute any pixel.

#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/raster.hpp"

namespace s2prep::scenegen {

// ---------------------------------------------------------------------------------------------
// Spectra (surface reflectance, 0..1, per band in kBands order).

enum class Cover : std::uint8_t {
  kVegetation = 1,
  kBareSoil = 2,
  kWater = 3,
  kDarkWater = 4,  // confuser: darker than shadowed land in every band
  kSand = 5,       // confuser: bright, rising into the SWIR
  kSnow = 6,       // confuser: bright in the visible, very dark in B11/B12
};

// Typical published spectra (USGS/ASTER spectral library shapes sampled at S2 band centres).
double cover_reflectance(Cover cover, int band);
// A thick cloud: bright and nearly flat, lower in the SWIR.
double cloud_reflectance(int band);
// Fraction of the surface signal removed under full cloud shadow: only diffuse skylight is left,
// which is bluer, so the NIR/SWIR lose most.
double shadow_darkening(int band);
// Fraction removed in terrain-dark areas (steep slopes facing away from the sun), all bands.
inline constexpr double kTerrainDarkening = 0.6;
// Pixels below this cloud opacity count as clear in the truth and the SCL.
inline constexpr double kCloudTruthOpacity = 0.2;
// Pixels at or above this shadow strength count as cloud shadow.
inline constexpr double kShadowTruthStrength = 0.5;

// True for processing baselines >= 04.00 ("04.00", "05.09"): DN carry a +1000 offset.
bool baseline_has_offset(const std::string& processing_baseline);
// Reflectance to a digital number: round(r * 10000) (+1000 with the offset), clamped to
// [1, 65535]; 0 is reserved for nodata.
std::uint16_t to_dn(double reflectance, bool offset);

// ---------------------------------------------------------------------------------------------
// Scene description. Coordinates of clouds, patches and swath edges are in the scene CRS
// (SceneSpec::scene_epsg, default the first tile's), metres.

struct TileSpec {
  std::string mgrs_tile;  // "33UUP"
  int epsg = 0;           // 326xx / 327xx
  double origin_x = 0;    // upper-left corner, a multiple of 60 m
  double origin_y = 0;
  int size_px_10m = 1098;  // real tiles are 10980; must be a multiple of 6
  double extent_m() const { return size_px_10m * 10.0; }
};

struct CloudSpec {
  double centre_x = 0;
  double centre_y = 0;
  double radius_m = 500;
  double height_m = 1500;        // cloud base height above ground: sets the shadow offset
  double optical_thickness = 2;  // < 1: thin (semi-transparent, SCL 10); >= 1: opaque core
};

// A straight swath edge: pixels to the right of the line through (x, y) heading `bearing_deg`
// (clockwise from grid north) are outside the swath (nodata). Bearing 192° with the default
// points south-south-west, so the east side is cut, as at a descending orbit's eastern edge.
struct SwathEdge {
  double x = 0;
  double y = 0;
  double bearing_deg = 192;
  bool nodata_right = false;  // false: the left side of the heading (here: east) is nodata
};

struct AcquisitionSpec {
  std::string datetime;  // sensing time, ISO 8601 UTC ("2023-06-01T10:15:59.024Z")
  std::string platform = "Sentinel-2A";
  std::string processing_baseline = "05.09";
  std::string processing_time;  // ISO 8601 UTC; newer for a reprocessed duplicate
  int relative_orbit = 22;
  std::string orbit_state = "descending";
  double sun_zenith_deg = 35;
  double sun_azimuth_deg = 155;  // clockwise from north; shadows fall towards azimuth + 180°
  std::vector<CloudSpec> clouds;
  std::optional<SwathEdge> swath_edge;
  std::vector<std::string> tiles;  // tiles observed; empty: all
};

enum class PatchKind : std::uint8_t { kSand, kSnow, kDarkWater, kTerrainDark, kSaturated };

// A confuser blob on the ground, present at every acquisition.
struct PatchSpec {
  PatchKind kind = PatchKind::kSand;
  double centre_x = 0;
  double centre_y = 0;
  double radius_m = 300;
};

struct SceneSpec {
  std::vector<TileSpec> tiles;
  std::vector<AcquisitionSpec> acquisitions;
  std::uint64_t seed = 1;
  int scene_epsg = 0;  // 0: the first tile's
  std::vector<PatchSpec> patches;
  bool confusers = true;  // false: patches are ignored (plain vegetation/soil/water ground)
  int scene_crs() const { return scene_epsg != 0 ? scene_epsg : tiles.at(0).epsg; }
};

// ---------------------------------------------------------------------------------------------
// Rendering in memory: everything a tile's files are made of, on the tile's 10 m grid.

struct TileRender {
  Grid grid;            // the tile's 10 m grid
  bool offset = false;  // baseline >= 04.00
  // Valid where a*x + b*y + c >= 0 (tile CRS); all valid when absent.
  std::optional<std::array<double, 3>> valid_half_plane;
  ByteRaster cover;         // Cover
  ByteRaster saturated;     // 1: saturated pixels (SCL 1, DN 65535 in B02-B04)
  FloatRaster texture;      // multiplicative ground texture, about 0.85..1.15
  FloatRaster terrain;      // 0..1 strength of terrain darkening
  FloatRaster cloud_alpha;  // 0..1 cloud opacity
  FloatRaster shadow;       // 0..1 cloud shadow strength
  ByteRaster cloud_thin;    // 1 where the most opaque cloud over a pixel is thin
  // Truth (255 = nodata): cloud 0 clear / 1 cloud / 2 thin cloud; shadow 0/1 (visible cloud
  // shadow, not under a cloud); dark 0/1 (terrain-dark confuser).
  ByteRaster truth_cloud;
  ByteRaster truth_shadow;
  ByteRaster truth_dark;
  ByteRaster scl;  // SCL on the 10 m grid (the file is its 20 m aggregate)

  bool valid_at(double x, double y) const;
  bool valid_pixel(int row, int col) const { return truth_cloud.at(0, row, col) != 255; }
};

// Renders acquisition `acquisition` over tile `tile`.
TileRender render_tile(const SceneSpec& scene, std::size_t acquisition, std::size_t tile);
// The 10 m reflectance field of one band (also outside the swath: validity is separate).
FloatRaster reflectance_10m(const TileRender& render, int band);
// The field block-averaged to `resolution_m` (10, 20 or 60).
FloatRaster reflectance_at(const TileRender& render, int band, int resolution_m);
// The band's digital numbers at its native resolution, exactly as written to its COG: DN of the
// block mean, 0 where the pixel centre is outside the swath.
Raster<std::uint16_t> band_dn(const TileRender& render, int band);
// SCL at 20 m: the most frequent class of each 2x2 block (ties to the higher-priority class:
// nodata, saturated, cloud, shadow, ...); 0 where the pixel centre is outside the swath.
ByteRaster scl_20m(const TileRender& render);
// A tile's 10 m grid.
Grid tile_grid(const TileSpec& tile, int resolution_m = 10);

// ---------------------------------------------------------------------------------------------
// Writing files and STAC Items.

struct GeneratedItem {
  nlohmann::json item;          // a Planetary-Computer-style STAC Item
  std::filesystem::path dir;    // folder holding the item's COGs and truth rasters
  std::string relative_dir;     // dir relative to out_dir ('/'-separated)
  std::size_t acquisition = 0;  // indices into the SceneSpec
  std::size_t tile = 0;
  // Truth rasters on the 10 m grid (uint8 COGs, nodata 255), not referenced by the Item.
  std::filesystem::path truth_cloud() const { return dir / "truth_cloud.tif"; }
  std::filesystem::path truth_shadow() const { return dir / "truth_shadow.tif"; }
  std::filesystem::path truth_dark() const { return dir / "truth_dark.tif"; }
  std::filesystem::path truth_cover() const { return dir / "truth_cover.tif"; }
};

struct GenerateOptions {
  int threads = 0;  // 0: hardware concurrency
};

// Writes every (acquisition, tile) item under out_dir; asset hrefs are href_base + "/" + the
// path relative to out_dir (href_base may be empty: then hrefs are relative paths). Throws
// DataError when GDAL cannot write a file, InputError for an inconsistent spec.
std::vector<GeneratedItem> generate(const SceneSpec& scene, const std::filesystem::path& out_dir,
                                    const std::string& href_base, GenerateOptions options = {});

// The items as a GeoJSON FeatureCollection, with the href base recorded as "scenegen:href_base".
nlohmann::json feature_collection(const std::vector<GeneratedItem>& items,
                                  const std::string& href_base);

// The folder of a generated item (where its truth rasters are) from the Item alone: the folder
// of its product-metadata asset, with href_base replaced by out_dir. Throws InputError when
// the Item was not written by `generate` with that href base.
std::filesystem::path item_dir(const nlohmann::json& item, const std::filesystem::path& out_dir,
                               const std::string& href_base);

// The Item id Planetary Computer would give: S2A_MSIL2A_<sensing>_R<orbit>_T<tile>_<processing>.
std::string item_id(const AcquisitionSpec& acquisition, const TileSpec& tile);

// ---------------------------------------------------------------------------------------------
// Presets.

// Three tiles: 33UUP and 33UVP (UTM 33, overlapping by ~10 %) and 32UQU (UTM 32, overlapping
// 33UUP geographically); seven acquisitions: baselines 02.12 and >= 04.00, a reprocessed
// duplicate, a swath-edge cut that leaves the demo region partly uncovered, clouds with shadows
// at known heights, thin cirrus, and confusers (sand, snow, dark water, terrain-dark, a few
// saturated pixels). `size_px_10m` must be a multiple of 6 (>= 120).
SceneSpec standard_scene(int size_px_10m = 1098, std::uint64_t seed = 7);
inline SceneSpec demo_scene() { return standard_scene(1098, 7); }
// A lon/lat polygon (WKT) of about a fifth of a tile's width across the 33UUP/33UVP overlap, so
// that it needs both tiles, inside the swath-cut acquisition's nodata in part.
std::string demo_region_wkt(const SceneSpec& scene);

}  // namespace s2prep::scenegen
