// geo::parse_features on a vector file (the --geometry argument naming a file GDAL/OGR reads):
// the first byte picks the file's format, the rest is its content, served from GDAL's
// in-memory file system. Every failure must be an s2prep::Error sentence. GDAL itself is not
// instrumented: what is checked is our handling of whatever its drivers hand back (layers
// without a CRS, curves, collections, empty and invalid geometries, odd field values).
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <set>
#include <string>

#include <s2prep/errors.hpp>
#include "geo/region.hpp"

namespace {

// The formats users hand over (the extension steers GDAL's choice of driver, as for a file).
struct Format {
  const char* extension;
  const char* driver;
};
constexpr Format kFormats[] = {
    {"geojson", "GeoJSON"},   {"json", "ESRIJSON"},
    {"topojson", "TopoJSON"}, {"geojsons", "GeoJSONSeq"},
    {"gpkg", "GPKG"},         {"kml", "KML"},
    {"fgb", "FlatGeobuf"},    {"shp.zip", "ESRI Shapefile"},
    {"gml", "GML"},           {"gpx", "GPX"},
    {"csv", "CSV"},
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Only the drivers of the formats above (and the SQLite driver GPKG builds on): probing every
  // raster driver would spend the time on code that never sees a --geometry file's bytes.
  GDALAllRegister();
  std::set<std::string> wanted{"SQLite"};
  for (const auto& f : kFormats) wanted.insert(f.driver);
  std::string skip;
  for (int i = 0; i < GDALGetDriverCount(); ++i) {
    const std::string name = GDALGetDriverShortName(GDALGetDriver(i));
    if (!wanted.count(name) && name.find(' ') == std::string::npos) skip += name + " ";
  }
  CPLSetConfigOption("GDAL_SKIP", skip.c_str());
  GDALAllRegister();  // applies GDAL_SKIP; the reader's own registration applies it again
  CPLSetErrorHandler(CPLQuietErrorHandler);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Format& format = kFormats[data[0] % std::size(kFormats)];
  const std::string path = std::string("/vsimem/fuzz/region.") + format.extension;
  VSIFCloseL(VSIFileFromMemBuffer(path.c_str(), const_cast<GByte*>(data + 1), size - 1, FALSE));
  try {
    for (const auto& feature : s2prep::geo::parse_features(path)) {
      (void)feature.region.utm_epsg();
    }
  } catch (const s2prep::Error&) {
  }
  VSIUnlink(path.c_str());
  return 0;
}
