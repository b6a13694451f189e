#include <s2prep/grid.hpp>

#include <ogr_spatialref.h>

#include <cmath>

#include <s2prep/errors.hpp>

namespace s2prep {

Grid Grid::sub_grid(const Window& w) const {
  Grid g = *this;
  g.transform[0] = transform[0] + w.col * transform[1] + w.row * transform[2];
  g.transform[3] = transform[3] + w.col * transform[4] + w.row * transform[5];
  g.width = w.width;
  g.height = w.height;
  return g;
}

Window Grid::window_of(const Grid& inner) const {
  const double col = (inner.transform[0] - transform[0]) / transform[1];
  const double row = (inner.transform[3] - transform[3]) / transform[5];
  return Window{static_cast<int>(std::lround(col)), static_cast<int>(std::lround(row)), inner.width,
                inner.height};
}

std::string Grid::crs_wkt() const {
  OGRSpatialReference srs;
  if (srs.importFromEPSG(epsg) != OGRERR_NONE) {
    throw InputError("EPSG:" + std::to_string(epsg) +
                     " is not a CRS PROJ knows; check the grid's EPSG code.");
  }
  char* text = nullptr;
  const char* options[] = {"FORMAT=WKT2_2018", nullptr};
  srs.exportToWkt(&text, options);
  std::string wkt = text ? text : "";
  CPLFree(text);
  return wkt;
}

}  // namespace s2prep
