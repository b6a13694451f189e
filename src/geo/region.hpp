#pragma once
// The user's region of interest: parsed from --geometry, validated, and measured.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "geo/geometry.hpp"

namespace s2prep::geo {

class Region {
 public:
  // `arg` is a path to a vector file, or inline GeoJSON or WKT (lon/lat). Files: GeoJSON
  // (Polygon, MultiPolygon, Feature, FeatureCollection; a "crs" member is honoured), a WKT
  // file, or anything GDAL/OGR reads as vector data (GeoPackage, Shapefile, KML, FlatGeobuf, ...,
  // all spatial layers, any CRS: transformed to lon/lat). A leading UTF-8 byte-order mark and
  // heights (third coordinates) are accepted. All features are unioned. Throws InputError with
  // one sentence naming the input (file, layer, feature) and the problem: a file that does not
  // exist or cannot be read, unparsable text, empty or non-areal geometry, invalid ring (with
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

// One feature of a geometry input, for one grid and one set of outputs per feature.
struct NamedRegion {
  // A safe folder name: from the feature's "id", else its "name" property (GeoJSON) or field
  // (other formats), else its 1-based position in the input.
  std::string name;
  Region region;
};

// The features of a geometry input (same inputs and errors as Region::parse), each validated on
// its own, in input order; a plain geometry (WKT, a GeoJSON geometry) is one feature.
std::vector<NamedRegion> parse_features(std::string_view arg);

// `raw` made into a folder name: characters that are unsafe in paths, URLs or shells (path
// separators, control characters, whitespace, :*?"<>|, invalid UTF-8) become '_', leading and
// trailing dots are dropped (no ".", "..", hidden folders), and the result is cut to at most
// kMaxFeatureNameBytes bytes on a UTF-8 boundary. Empty when nothing usable remains.
std::string safe_feature_name(std::string_view raw);
inline constexpr std::size_t kMaxFeatureNameBytes = 64;

}  // namespace s2prep::geo
