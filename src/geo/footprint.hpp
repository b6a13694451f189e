#pragma once
// Item footprints as they lie on the ground. A Sentinel-2 footprint is computed in its tile's
// UTM zone, where its edges are straight, and published as those vertices reprojected to
// lon/lat. Read as straight lines in lon/lat, a 110 km edge at 54 N lies up to ~330 m off the
// real one, enough to turn a tile that covers 98.8 % of a region into one that "covers" 99.2 %.

#include <map>
#include <memory>
#include <optional>

#include "geo/geometry.hpp"
#include "geo/region.hpp"

namespace s2prep::geo {

// Projects footprints into one region's equal-area CRS, reading each footprint's edges as
// straight in the CRS it was computed in. Keeps a reference to the region; like Region, it
// belongs to the thread that made it.
class FootprintProjector {
 public:
  explicit FootprintProjector(const Region& region);
  ~FootprintProjector();
  FootprintProjector(const FootprintProjector&) = delete;
  FootprintProjector& operator=(const FootprintProjector&) = delete;

  // `lonlat`: the footprint's vertices in lon/lat, as an item publishes them. `epsg`: the CRS
  // whose straight lines its edges are (an item's proj:epsg). The footprint is densified there
  // (a vertex every kSegmentMetres) and each vertex projected to the region's equal-area CRS.
  // The result is for measuring against the region: parts of the footprint farther than ~1 km
  // from the region (beyond a box around it in that CRS) are cut off first.
  // Without an EPSG code, or with a geographic one, the edges are taken as straight in lon/lat
  // (Region::to_equal_area): that is what the footprint says when nothing else is known.
  // Throws Error for an EPSG code PROJ does not know.
  Geometry to_equal_area(const Geometry& lonlat, std::optional<int> epsg);

  // Between two vertices this far apart a straight UTM edge bends by millimetres in the
  // equal-area plane, so a few hundred metres is plenty; only the stretch of the footprint
  // around the region is densified, so a field's candidates stay at a few dozen vertices.
  static constexpr double kSegmentMetres = 300.0;

 private:
  struct Native;
  const Native& native(int epsg);

  const Region& region_;
  std::map<int, std::unique_ptr<Native>> natives_;
};

}  // namespace s2prep::geo
