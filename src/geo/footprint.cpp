#include "geo/footprint.hpp"

#include <fmt/format.h>
#include <ogr_spatialref.h>

#include "core/errors.hpp"
#include "geo/gdal_errors.hpp"

namespace s2prep::geo {

// One footprint CRS: the way into it from lon/lat and the way out of it into the region's
// equal-area CRS.
struct FootprintProjector::Native {
  bool geographic = false;
  double segment = 0;  // kSegmentMetres in the CRS's own units
  std::unique_ptr<Transformer> from_lonlat;
  std::unique_ptr<Transformer> to_equal_area;
};

FootprintProjector::FootprintProjector(const Region& region) : region_(region) {}
FootprintProjector::~FootprintProjector() = default;

const FootprintProjector::Native& FootprintProjector::native(int epsg) {
  auto& slot = natives_[epsg];
  if (slot) return *slot;
  const std::string code = fmt::format("EPSG:{}", epsg);
  OGRSpatialReference srs;
  {
    QuietGdalErrors quiet;
    if (srs.importFromEPSG(epsg) != OGRERR_NONE) {
      natives_.erase(epsg);
      throw Error(fmt::format("Unknown coordinate reference system '{}'{}.", code, quiet.last()));
    }
  }
  auto n = std::make_unique<Native>();
  n->geographic = srs.IsGeographic();
  if (!n->geographic) {
    n->segment = kSegmentMetres / srs.GetLinearUnits();
    n->from_lonlat = std::make_unique<Transformer>("EPSG:4326", code);
    n->to_equal_area = std::make_unique<Transformer>(code, region_.equal_area_crs());
  }
  slot = std::move(n);
  return *slot;
}

Geometry FootprintProjector::to_equal_area(const Geometry& lonlat, std::optional<int> epsg) {
  if (!epsg) return region_.to_equal_area(lonlat);
  const Native& n = native(*epsg);
  if (n.geographic) return region_.to_equal_area(lonlat);
  return lonlat.transformed(*n.from_lonlat).densified(n.segment).transformed(*n.to_equal_area);
}

}  // namespace s2prep::geo
