#include "geo/region_raster.hpp"

#include <gdal.h>
#include <gdal_alg.h>
#include <ogr_api.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>

#include <s2prep/errors.hpp>
#include "geo/gdal_errors.hpp"

namespace s2prep::geo {
namespace {

// A straight lon/lat edge is a curve on the grid; vertices every 0.001 degrees (~100 m, ten
// pixels) keep the curve within a small fraction of a pixel of its chords.
constexpr double kDensifyDegrees = 0.001;

struct DatasetClose {
  void operator()(GDALDatasetH d) const { GDALClose(d); }
};
struct GeometryDestroy {
  void operator()(OGRGeometryH g) const { OGR_G_DestroyGeometry(g); }
};

}  // namespace

ByteRaster region_pixels(const Region& region, const Grid& grid) {
  ByteRaster out(grid, 1, 0);
  if (grid.width <= 0 || grid.height <= 0) return out;
  static std::once_flag registered;
  std::call_once(registered, [] { GDALAllRegister(); });
  const Transformer to_grid("EPSG:4326", grid.crs());
  const std::string wkt = region.lonlat().densified(kDensifyDegrees).transformed(to_grid).to_wkt();
  QuietGdalErrors quiet;
  OGRGeometryH raw = nullptr;
  const char* text = wkt.c_str();
  if (OGR_G_CreateFromWkt(const_cast<char**>(&text), nullptr, &raw) != OGRERR_NONE || !raw) {
    throw Error("The region could not be drawn on the output grid" + quiet.last() + ".");
  }
  std::unique_ptr<std::remove_pointer_t<OGRGeometryH>, GeometryDestroy> geometry(raw);
  // The MEM driver over `out`'s own pixels, so nothing is copied.
  char open[256];
  std::snprintf(open, sizeof open, "MEM:::DATAPOINTER=%p,PIXELS=%d,LINES=%d,BANDS=1,DATATYPE=Byte",
                static_cast<void*>(out.data.data()), grid.width, grid.height);
  std::unique_ptr<std::remove_pointer_t<GDALDatasetH>, DatasetClose> ds(GDALOpen(open, GA_Update));
  if (!ds) throw Error("The region could not be drawn on the output grid" + quiet.last() + ".");
  double transform[6];
  for (int i = 0; i < 6; ++i) transform[i] = grid.transform[i];
  GDALSetGeoTransform(ds.get(), transform);
  int band = 1;
  double burn = 1;
  OGRGeometryH geometries[] = {geometry.get()};
  char* touched[] = {const_cast<char*>("ALL_TOUCHED=TRUE"), nullptr};
  if (GDALRasterizeGeometries(ds.get(), 1, &band, 1, geometries, nullptr, nullptr, &burn, touched,
                              nullptr, nullptr) != CE_None) {
    throw Error("The region could not be drawn on the output grid" + quiet.last() + ".");
  }
  return out;
}

}  // namespace s2prep::geo
