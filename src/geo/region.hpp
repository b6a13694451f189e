#pragma once
// The user's region of interest: parsed from --geometry, validated, and measured.

#include <memory>
#include <string>
#include <string_view>

#include "geo/geometry.hpp"

namespace s2prep::geo {

class Region {
 public:
  // `arg` is a path to a GeoJSON file, or inline GeoJSON or WKT. Accepts Polygon, MultiPolygon,
  // Feature, FeatureCollection (geometries unioned). Throws InputError with one sentence naming
  // the problem: unreadable file, unparsable text, empty or non-areal geometry, invalid ring (with
  // GEOS's location), coordinates outside lon/lat ranges, a region across the antimeridian.
  static Region parse(std::string_view arg);
  // Validates like parse() (same errors, without naming a file or feature).
  explicit Region(Geometry lonlat);

  const Geometry& lonlat() const { return lonlat_; }
  // The region in an equal-area projection centred on it (square metres).
  const Geometry& equal_area() const { return equal_area_; }
  const std::string& equal_area_crs() const { return equal_area_crs_; }
  double area_m2() const;
  std::array<double, 4> bbox() const { return lonlat_.bounds(); }
  std::array<double, 2> centroid() const { return lonlat_.centroid(); }
  // UTM zone of the centroid: the CRS of the default output grid.
  int utm_epsg() const;

  // A lon/lat footprint projected into this region's equal-area CRS.
  Geometry to_equal_area(const Geometry& lonlat_geometry) const;

  // Like Geometry, a Region belongs to the thread that made it (its geometries and its cached
  // transformation are not shareable between threads).

 private:
  Geometry lonlat_;
  std::string equal_area_crs_;
  std::shared_ptr<const Transformer> to_equal_area_;  // lon/lat -> equal_area_crs_, cached
  Geometry equal_area_;
};

}  // namespace s2prep::geo
