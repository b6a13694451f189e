#pragma once
// RAII wrappers around GEOS geometries (C API, reentrant) and PROJ coordinate transformations
// (through GDAL/OGR), in the vocabulary the workflow needs: regions, footprints, areas.

#include <array>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

typedef struct GEOSGeom_t GEOSGeometry;

namespace s2prep::geo {

class Transformer;

// Why a geometry is invalid, and where (in the geometry's own coordinates).
struct Invalidity {
  std::string reason;  // GEOS's wording, e.g. "Self-intersection"
  double x = 0;
  double y = 0;
};

// An owned GEOS geometry. Cheap to move, deep-copied on copy.
//
// Threading: every thread gets its own GEOS context (created on first use, released when the
// thread ends). A Geometry must only be used on the thread that created it — GEOS contexts are
// not shareable and the error text of a failed operation is collected per context. To hand a
// geometry to another thread, pass its WKT (or GeoJSON) and rebuild it there.
class Geometry {
 public:
  Geometry();  // empty geometry collection
  Geometry(const Geometry& other);
  Geometry& operator=(const Geometry& other);
  Geometry(Geometry&&) noexcept;
  Geometry& operator=(Geometry&&) noexcept;
  ~Geometry();

  // Takes ownership of a geometry created with this thread's GEOS context.
  static Geometry adopt(GEOSGeometry* g);
  static Geometry from_wkt(std::string_view wkt);  // throws InputError on bad WKT
  // A GeoJSON geometry object; a third coordinate (height) is dropped.
  static Geometry from_geojson(const nlohmann::json& geometry);
  static Geometry from_wkb(const unsigned char* wkb, std::size_t size);  // 2D ISO WKB
  static Geometry box(double min_x, double min_y, double max_x, double max_y);

  bool empty() const;
  bool is_areal() const;                 // Polygon or MultiPolygon
  std::string type_name() const;         // GEOS's type name: "Polygon", "LineString", ...
  double area() const;                   // in the units of its coordinates
  std::array<double, 4> bounds() const;  // min_x, min_y, max_x, max_y
  std::array<double, 2> centroid() const;
  Geometry intersection(const Geometry& other) const;
  Geometry union_with(const Geometry& other) const;
  Geometry difference(const Geometry& other) const;
  bool intersects(const Geometry& other) const;
  // Empty string when valid, else GEOS's reason with its location ("Self-intersection[x y]").
  std::string invalid_reason() const;
  std::optional<Invalidity> invalidity() const;  // nullopt when valid
  Geometry make_valid() const;
  // Adds vertices so that no segment is longer than `max_segment` (coordinate units).
  Geometry densified(double max_segment) const;
  Geometry transformed(const Transformer& t) const;
  std::string to_wkt() const;
  nlohmann::json to_geojson() const;

  const GEOSGeometry* get() const { return geom_; }

 private:
  explicit Geometry(GEOSGeometry* g) : geom_(g) {}
  GEOSGeometry* geom_ = nullptr;
};

// Transforms x/y coordinates between two CRSs; lon/lat is always in x=lon, y=lat order.
// Like OGRCoordinateTransformation underneath, one Transformer must not be used by two threads
// at once.
class Transformer {
 public:
  // `from`/`to`: "EPSG:4326", "EPSG:32633", or a PROJ string.
  Transformer(const std::string& from, const std::string& to);
  ~Transformer();
  Transformer(Transformer&&) noexcept;
  Transformer& operator=(Transformer&&) noexcept;
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  void transform(double& x, double& y) const;  // throws Error on failure
  std::array<double, 2> operator()(double x, double y) const {
    transform(x, y);
    return {x, y};
  }

 private:
  friend class Geometry;
  void transform_unguarded(double& x, double& y) const;  // GDAL errors not silenced

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// EPSG code of the WGS 84 / UTM zone containing lon/lat (326zz north, 327zz south), with the
// Norway (32V) and Svalbard (31X-37X) exceptions that the MGRS grid of Sentinel-2 follows.
int utm_epsg_for(double lon, double lat);

// A Lambert azimuthal equal-area projection centred on the given lon/lat, as a PROJ string.
std::string equal_area_crs_at(double lon, double lat);

}  // namespace s2prep::geo
