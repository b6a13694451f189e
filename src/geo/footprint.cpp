#include "geo/footprint.hpp"

#include <fmt/format.h>
#include <ogr_spatialref.h>

#include <algorithm>

#include <s2prep/errors.hpp>
#include "geo/gdal_errors.hpp"

namespace s2prep::geo {

// One footprint CRS: the way into it from lon/lat and the way out of it into the region's
// equal-area CRS.
struct FootprintProjector::Native {
  bool geographic = false;
  double segment = 0;  // kSegmentMetres in the CRS's own units
  // A box in this CRS that holds the whole region with room to spare: the footprint is cut to it
  // before densifying, which leaves footprint ∩ region as it is and spares the vertices of the
  // tile's far edges (a full-tile footprint is 110 km a side; a field is often 1 km).
  Geometry region_box;
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
    const auto [x0, y0, x1, y1] =
        region_.equal_area().transformed(Transformer(region_.equal_area_crs(), code)).bounds();
    const double margin = 1000.0 / srs.GetLinearUnits() + 0.01 * std::max(x1 - x0, y1 - y0);
    n->region_box = Geometry::box(x0 - margin, y0 - margin, x1 + margin, y1 + margin);
  }
  slot = std::move(n);
  return *slot;
}

Geometry FootprintProjector::to_equal_area(const Geometry& lonlat, std::optional<int> epsg) {
  if (!epsg) return region_.to_equal_area(lonlat);
  const Native& n = native(*epsg);
  if (n.geographic) return region_.to_equal_area(lonlat);
  return lonlat.transformed(*n.from_lonlat)
      .intersection(n.region_box)
      .densified(n.segment)
      .transformed(*n.to_equal_area);
}

}  // namespace s2prep::geo
