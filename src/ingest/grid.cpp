#include "ingest/grid.hpp"

#include <gdal.h>
#include <ogr_srs_api.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <s2prep/errors.hpp>
#include "geo/geometry.hpp"
#include "ingest/acquisition_reader.hpp"
#include "ingest/gdal_env.hpp"

namespace s2prep::ingest {

namespace {

// Lon/lat edges longer than this (degrees) get intermediate vertices: about 1 km, where the
// curvature of a projected edge is far below a millimetre.
constexpr double kDensifyStepDeg = 0.01;

// Snapping must not turn 499999.9999999 into a whole extra pixel.
constexpr double kSnapTolerance = 1e-6;

void collect_rings(const nlohmann::json& coords, int depth,
                   std::vector<const nlohmann::json*>& rings) {
  if (depth == 0) {
    rings.push_back(&coords);
    return;
  }
  for (const auto& c : coords) collect_rings(c, depth - 1, rings);
}

// A tile grid the readers can work on: north-up, finite, at most stac::kMaxAssetSide pixels on a
// side (the catalogue's numbers become allocation sizes and integer pixel positions).
Grid checked_tile_grid(Grid g, const std::string& where) {
  const auto& t = g.transform;
  const bool finite = std::all_of(t.begin(), t.end(), [](double v) { return std::isfinite(v); });
  if (!finite || !(t[1] > 0) || !(t[5] < 0) || t[2] != 0 || t[4] != 0) {
    throw DataError("The grid of " + where +
                    " is not a north-up grid with positive pixel sizes; s2prep cannot read it.");
  }
  if (g.width < 1 || g.height < 1 || g.width > stac::kMaxAssetSide ||
      g.height > stac::kMaxAssetSide) {
    throw DataError("The grid of " + where + " is " + std::to_string(g.width) + " x " +
                    std::to_string(g.height) + " pixels, outside 1 to " +
                    std::to_string(stac::kMaxAssetSide) +
                    " on a side; the catalogue's item is not a usable Sentinel-2 tile.");
  }
  if (g.epsg <= 0) throw DataError("The grid of " + where + " has no valid EPSG code.");
  return g;
}

double floor_to(double v, double step) { return std::floor(v / step + kSnapTolerance) * step; }
double ceil_to(double v, double step) { return std::ceil(v / step - kSnapTolerance) * step; }

}  // namespace

std::array<double, 4> projected_bounds(const nlohmann::json& g, int epsg) {
  const std::string type = g.value("type", "");
  std::vector<const nlohmann::json*> rings;
  if (type == "Polygon") {
    collect_rings(g.at("coordinates"), 1, rings);
  } else if (type == "MultiPolygon") {
    collect_rings(g.at("coordinates"), 2, rings);
  } else if (type == "GeometryCollection") {
    std::array<double, 4> b{
        std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
    for (const auto& part : g.at("geometries")) {
      const auto pb = projected_bounds(part, epsg);
      b = {std::min(b[0], pb[0]), std::min(b[1], pb[1]), std::max(b[2], pb[2]),
           std::max(b[3], pb[3])};
    }
    return b;
  } else {
    throw InputError("The region is a GeoJSON " + type +
                     ", not a Polygon or MultiPolygon: give an areal geometry.");
  }
  const geo::Transformer to_crs("EPSG:4326", "EPSG:" + std::to_string(epsg));
  double min_x = std::numeric_limits<double>::infinity(), min_y = min_x;
  double max_x = -min_x, max_y = -min_x;
  auto add = [&](double lon, double lat) {
    const auto [x, y] = to_crs(lon, lat);
    min_x = std::min(min_x, x);
    max_x = std::max(max_x, x);
    min_y = std::min(min_y, y);
    max_y = std::max(max_y, y);
  };
  for (const auto* ring : rings) {
    for (std::size_t i = 0; i < ring->size(); ++i) {
      const double lon0 = (*ring)[i].at(0).get<double>(), lat0 = (*ring)[i].at(1).get<double>();
      add(lon0, lat0);
      if (i + 1 == ring->size()) break;
      const double lon1 = (*ring)[i + 1].at(0).get<double>(),
                   lat1 = (*ring)[i + 1].at(1).get<double>();
      const int steps = static_cast<int>(
          std::ceil(std::max(std::abs(lon1 - lon0), std::abs(lat1 - lat0)) / kDensifyStepDeg));
      for (int s = 1; s < steps; ++s) {
        const double t = double(s) / steps;
        add(lon0 + t * (lon1 - lon0), lat0 + t * (lat1 - lat0));
      }
    }
  }
  if (!(min_x <= max_x && min_y <= max_y))
    throw InputError("The region has no coordinates: give a non-empty polygon.");
  return {min_x, min_y, max_x, max_y};
}

Grid snapped_grid(int epsg, const std::array<double, 4>& b, double res) {
  const double x0 = floor_to(b[0], res), y0 = floor_to(b[1], res);
  const double x1 = ceil_to(b[2], res), y1 = ceil_to(b[3], res);
  Grid g;
  g.epsg = epsg;
  g.transform = {x0, res, 0.0, y1, 0.0, -res};
  g.width = std::max(1, static_cast<int>(std::lround((x1 - x0) / res)));
  g.height = std::max(1, static_cast<int>(std::lround((y1 - y0) / res)));
  return g;
}

Grid layout_grid(const geo::Region& region) {
  const int epsg = region.utm_epsg();
  return snapped_grid(epsg, projected_bounds(region.lonlat().to_geojson(), epsg),
                      kOutputResolution);
}

Grid asset_grid(const stac::Item& item, const std::string& asset_key, const std::string& href) {
  const auto it = item.assets.find(asset_key);
  if (it == item.assets.end()) {
    throw DataError("Item " + item.id + " has no asset " + asset_key +
                    ": it cannot define the tile grid.");
  }
  const stac::Asset& a = it->second;
  const std::optional<int> epsg = a.epsg ? a.epsg : item.epsg;
  if (epsg && a.transform && a.shape) {
    Grid g;
    g.epsg = *epsg;
    g.transform = *a.transform;
    g.height = (*a.shape)[0];
    g.width = (*a.shape)[1];
    return checked_tile_grid(g, "asset " + asset_key + " of item " + item.id);
  }
  configure_gdal();
  ErrorCapture errors;
  const bool remote = href.rfind("http://", 0) == 0 || href.rfind("https://", 0) == 0;
  const std::string path = remote ? "/vsicurl/" + href : href;
  DatasetPtr ds(
      GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  const std::string where =
      "asset " + asset_key + " of item " + item.id + " (" + redact_urls(href) + ")";
  if (!ds)
    throw DataError("Could not open " + where + " to read its grid: " + errors.failure_text() +
                    ".");
  Grid g;
  if (GDALGetGeoTransform(ds.get(), g.transform.data()) != CE_None) {
    throw DataError("The file of " + where + " has no geotransform.");
  }
  g.width = GDALGetRasterXSize(ds.get());
  g.height = GDALGetRasterYSize(ds.get());
  OGRSpatialReferenceH srs = GDALGetSpatialRef(ds.get());
  const char* code = srs ? OSRGetAuthorityCode(srs, nullptr) : nullptr;
  if (code == nullptr && !epsg) throw DataError("The file of " + where + " has no EPSG code.");
  g.epsg = code ? std::atoi(code) : *epsg;
  return checked_tile_grid(g, where);
}

Grid item_tile_grid(const stac::Item& item,
                    const std::function<std::string(const std::string&, bool)>& sign) {
  const std::string key = default_asset_key(item, "B02");
  const auto asset = item.assets.find(key);
  std::string href;
  if (asset != item.assets.end()) {
    const stac::Asset& a = asset->second;
    // Signed only when the file must be opened: most items declare the grid.
    const bool declared = (a.epsg || item.epsg) && a.transform && a.shape;
    href = sign && !declared ? sign(a.href, false) : a.href;
  }
  return asset_grid(item, key, href);  // names the item and asset when there is none
}

Grid crop_to_bounds(const Grid& tile, const std::array<double, 4>& b, const std::string& what) {
  const double res_x = tile.transform[1], res_y = -tile.transform[5];
  const double c0 = std::floor((b[0] - tile.transform[0]) / res_x + kSnapTolerance);
  const double c1 = std::ceil((b[2] - tile.transform[0]) / res_x - kSnapTolerance);
  const double r0 = std::floor((tile.transform[3] - b[3]) / res_y + kSnapTolerance);
  const double r1 = std::ceil((tile.transform[3] - b[1]) / res_y - kSnapTolerance);
  const int col0 = static_cast<int>(std::max(0.0, c0)), row0 = static_cast<int>(std::max(0.0, r0));
  const int col1 = static_cast<int>(std::min<double>(tile.width, c1));
  const int row1 = static_cast<int>(std::min<double>(tile.height, r1));
  if (col1 <= col0 || row1 <= row0) {
    throw DataError("The region does not overlap " + what + ": it has no pixels to read there.");
  }
  return tile.sub_grid(Window{col0, row0, col1 - col0, row1 - row0});
}

Grid crop_to_region(const Grid& tile, const geo::Region& region, const std::string& what) {
  return crop_to_bounds(tile, projected_bounds(region.lonlat().to_geojson(), tile.epsg), what);
}

namespace {

// One axis of the context: [lo, hi) in output pixels, output = [0, size), imagery = [e0, e1).
std::pair<int, int> context_axis(int size, int e0, int e1, int margin, int min_size) {
  int lo = std::min(0, std::max(-margin, e0));
  int hi = std::max(size, std::min(size + margin, e1));
  const int need = min_size - (hi - lo);
  if (need <= 0) return {lo, hi};
  // Half to each side (the odd one to the right / bottom); what one side has no imagery for
  // goes to the other; what neither has goes half and half beyond the imagery.
  const int room_lo = std::max(0, lo - e0), room_hi = std::max(0, e1 - hi);
  int take_lo = std::min(room_lo, need / 2);
  const int take_hi = std::min(room_hi, need - take_lo);
  take_lo = std::min(room_lo, need - take_hi);
  lo -= take_lo;
  hi += take_hi;
  const int rest = need - take_lo - take_hi;
  lo -= rest / 2;
  hi += rest - rest / 2;
  return {lo, hi};
}

// Imagery edges far outside any grid (no limit), kept within int range.
constexpr int kNoLimit = 1 << 29;

int clamp_to_int(double v) { return static_cast<int>(std::clamp<double>(v, -kNoLimit, kNoLimit)); }

}  // namespace

Grid context_grid(const Grid& output, int margin, int min_size) {
  const double inf = std::numeric_limits<double>::infinity();
  return context_grid(output, {-inf, -inf, inf, inf}, margin, min_size);
}

Grid context_grid(const Grid& output, const std::array<double, 4>& imagery, int margin,
                  int min_size) {
  const double res_x = output.transform[1], res_y = -output.transform[5];
  // The imagery in output pixels, snapped outward: a partly covered pixel has imagery.
  const int c0 =
      clamp_to_int(std::floor((imagery[0] - output.transform[0]) / res_x + kSnapTolerance));
  const int c1 =
      clamp_to_int(std::ceil((imagery[2] - output.transform[0]) / res_x - kSnapTolerance));
  const int r0 =
      clamp_to_int(std::floor((output.transform[3] - imagery[3]) / res_y + kSnapTolerance));
  const int r1 =
      clamp_to_int(std::ceil((output.transform[3] - imagery[1]) / res_y - kSnapTolerance));
  const auto [left, right] = context_axis(output.width, c0, c1, margin, min_size);
  const auto [top, bottom] = context_axis(output.height, r0, r1, margin, min_size);
  return output.sub_grid(Window{left, top, right - left, bottom - top});
}

std::array<double, 4> imagery_bounds(const std::vector<Grid>& tiles, int epsg) {
  const double inf = std::numeric_limits<double>::infinity();
  std::array<double, 4> b{inf, inf, -inf, -inf};
  auto add = [&](double x, double y) {
    b = {std::min(b[0], x), std::min(b[1], y), std::max(b[2], x), std::max(b[3], y)};
  };
  for (const Grid& t : tiles) {
    if (t.epsg == epsg) {
      add(t.min_x(), t.min_y());
      add(t.max_x(), t.max_y());
      continue;
    }
    const geo::Transformer to_crs(t.crs(), "EPSG:" + std::to_string(epsg));
    // 100 steps per edge: about 1 km on a real tile, where the bulge of a projected edge is far
    // below a millimetre.
    constexpr int kSteps = 100;
    for (int i = 0; i <= kSteps; ++i) {
      const double f = double(i) / kSteps;
      const double x = t.min_x() + f * (t.max_x() - t.min_x());
      const double y = t.min_y() + f * (t.max_y() - t.min_y());
      for (const auto& [px, py] : {std::pair{x, t.min_y()}, std::pair{x, t.max_y()},
                                   std::pair{t.min_x(), y}, std::pair{t.max_x(), y}}) {
        const auto [tx, ty] = to_crs(px, py);
        add(tx, ty);
      }
    }
  }
  return b;
}

}  // namespace s2prep::ingest
