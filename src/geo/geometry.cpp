#include "geo/geometry.hpp"

#include <fmt/format.h>
#include <geos_c.h>
#include <ogr_spatialref.h>

#include <cmath>
#include <string>
#include <utility>

#include <s2prep/errors.hpp>
#include "core/json_limits.hpp"
#include "geo/gdal_errors.hpp"

namespace s2prep::geo {
namespace {

// One GEOS context per thread: the reentrant API needs a handle for every call, and a handle
// must not be used by two threads at once. The handle also collects the text of the last error
// so that a failed call can be reported with GEOS's own explanation (e.g. a WKT parse error).
class Context {
 public:
  Context() : handle_(GEOS_init_r()) {
    GEOSContext_setErrorMessageHandler_r(handle_, &Context::on_error, this);
    GEOSContext_setNoticeMessageHandler_r(handle_, &Context::on_notice, nullptr);
  }
  ~Context() {
    finished_ = true;
    GEOS_finish_r(handle_);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  GEOSContextHandle_t handle() const { return handle_; }
  // The last error message, cleared by the call.
  std::string take_error() {
    std::string e = std::move(last_error_);
    last_error_.clear();
    return e;
  }

  // Set once this thread's context is gone. A trivially destructible thread_local, so it stays
  // readable while objects destroyed after the context (the main thread's function-local
  // statics) still hold geometries.
  static thread_local bool finished_;

 private:
  static void on_error(const char* message, void* self) {
    static_cast<Context*>(self)->last_error_ = message ? message : "";
  }
  static void on_notice(const char*, void*) {}

  GEOSContextHandle_t handle_;
  std::string last_error_;
};

thread_local bool Context::finished_ = false;

Context& context() {
  thread_local Context ctx;
  return ctx;
}

GEOSContextHandle_t H() { return context().handle(); }

// Geometries that outlive their thread's context (e.g. function-local statics, destroyed after
// the main thread's thread_locals) are freed through a short-lived context: GEOS geometries are
// not tied to the context that made them, only the calls need one.
void destroy(GEOSGeometry* g) {
  if (!g) return;
  if (!Context::finished_) {
    GEOSGeom_destroy_r(H(), g);
    return;
  }
  GEOSContextHandle_t h = GEOS_init_r();
  GEOSGeom_destroy_r(h, g);
  GEOS_finish_r(h);
}

// Throws Error for a GEOS call that returned nothing (GEOS's own message included).
GEOSGeometry* check(GEOSGeometry* g, const char* what) {
  if (!g) {
    throw Error(fmt::format("Geometry operation '{}' failed: {}.", what, context().take_error()));
  }
  return g;
}

struct GeosString {
  char* s = nullptr;
  ~GeosString() {
    if (s) GEOSFree_r(H(), s);
  }
};

// Set operations fail with a TopologyException on invalid input; footprints from catalogues are
// occasionally slightly invalid, so retry once on repaired copies before giving up.
template <typename Op>
GEOSGeometry* robust_binary(const GEOSGeometry* a, const GEOSGeometry* b, Op op, const char* what) {
  if (GEOSGeometry* r = op(H(), a, b)) return r;
  context().take_error();
  Geometry va = Geometry::adopt(check(GEOSMakeValid_r(H(), a), "make valid"));
  Geometry vb = Geometry::adopt(check(GEOSMakeValid_r(H(), b), "make valid"));
  return check(op(H(), va.get(), vb.get()), what);
}

}  // namespace

// ---------------------------------------------------------------- Geometry

Geometry::Geometry()
    : geom_(check(GEOSGeom_createEmptyCollection_r(H(), GEOS_GEOMETRYCOLLECTION), "empty")) {}

Geometry::Geometry(const Geometry& other)
    : geom_(check(GEOSGeom_clone_r(H(), other.geom_), "clone")) {}

Geometry& Geometry::operator=(const Geometry& other) {
  if (this != &other) {
    GEOSGeometry* copy = check(GEOSGeom_clone_r(H(), other.geom_), "clone");
    destroy(geom_);
    geom_ = copy;
  }
  return *this;
}

Geometry::Geometry(Geometry&& other) noexcept : geom_(other.geom_) { other.geom_ = nullptr; }

Geometry& Geometry::operator=(Geometry&& other) noexcept {
  if (this != &other) {
    destroy(geom_);
    geom_ = other.geom_;
    other.geom_ = nullptr;
  }
  return *this;
}

Geometry::~Geometry() { destroy(geom_); }

Geometry Geometry::adopt(GEOSGeometry* g) { return Geometry(check(g, "adopt")); }

Geometry Geometry::from_wkt(std::string_view wkt) {
  GEOSWKTReader* reader = GEOSWKTReader_create_r(H());
  GEOSGeometry* g = GEOSWKTReader_read_r(H(), reader, std::string(wkt).c_str());
  GEOSWKTReader_destroy_r(H(), reader);
  if (!g) {
    throw InputError(fmt::format(
        "The geometry is not valid WKT ({}); give a WKT POLYGON or MULTIPOLYGON in lon/lat.",
        context().take_error()));
  }
  return Geometry(g);
}

namespace {

// Positions with a height (or more values) are cut to x, y: GEOS 3.11's GeoJSON reader rejects
// them, and every measure here is planar.
void drop_extra_coordinates(nlohmann::json& coordinates) {
  if (!coordinates.is_array()) return;
  if (!coordinates.empty() && coordinates.front().is_number()) {
    if (coordinates.size() > 2) coordinates.erase(coordinates.begin() + 2, coordinates.end());
    return;
  }
  for (auto& c : coordinates) drop_extra_coordinates(c);
}

void drop_extra_coordinates_of_geometry(nlohmann::json& geometry) {
  if (!geometry.is_object()) return;
  if (auto c = geometry.find("coordinates"); c != geometry.end()) drop_extra_coordinates(*c);
  if (auto gs = geometry.find("geometries"); gs != geometry.end() && gs->is_array()) {
    for (auto& g : *gs) drop_extra_coordinates_of_geometry(g);
  }
}

// GEOS 3.11's GeoJSON reader dereferences the first value of every position in a line, ring or
// polygon without checking it: an empty position ([]) there crashes it. Point's own position
// may be empty (an empty point).
void reject_short_positions(const nlohmann::json& coordinates, int levels_above_positions) {
  if (!coordinates.is_array()) return;  // GEOS reports it
  if (levels_above_positions == 0) {
    if (coordinates.size() < 2) {
      throw InputError(fmt::format(
          "The geometry has a position with fewer than two coordinates ({}); give every "
          "position as [lon, lat].",
          coordinates.dump()));
    }
    return;
  }
  for (const auto& c : coordinates) reject_short_positions(c, levels_above_positions - 1);
}

void reject_short_positions_of_geometry(const nlohmann::json& geometry) {
  if (!geometry.is_object()) return;
  const auto type = geometry.find("type");
  const auto c = geometry.find("coordinates");
  if (type != geometry.end() && type->is_string() && c != geometry.end()) {
    static const std::pair<const char*, int> kLevels[] = {{"LineString", 1},
                                                          {"MultiPoint", 1},
                                                          {"Polygon", 2},
                                                          {"MultiLineString", 2},
                                                          {"MultiPolygon", 3}};
    for (const auto& [name, levels] : kLevels) {
      if (*type == name) reject_short_positions(*c, levels);
    }
  }
  if (auto gs = geometry.find("geometries"); gs != geometry.end() && gs->is_array()) {
    for (const auto& g : *gs) reject_short_positions_of_geometry(g);
  }
}

}  // namespace

Geometry Geometry::from_geojson(const nlohmann::json& geometry) {
  // dump() recurses once per level: a geometry nested 100 000 deep would overflow the stack.
  if (json_depth(geometry) > kMaxJsonDepth) {
    throw InputError(fmt::format(
        "The geometry nests deeper than {} levels; give a GeoJSON Polygon or MultiPolygon with "
        "lon/lat coordinates.",
        kMaxJsonDepth));
  }
  reject_short_positions_of_geometry(geometry);
  nlohmann::json flat = geometry;
  drop_extra_coordinates_of_geometry(flat);
  GEOSGeoJSONReader* reader = GEOSGeoJSONReader_create_r(H());
  GEOSGeometry* g = GEOSGeoJSONReader_readGeometry_r(H(), reader, flat.dump().c_str());
  GEOSGeoJSONReader_destroy_r(H(), reader);
  if (!g) {
    throw InputError(
        fmt::format("The geometry is not a valid GeoJSON geometry ({}); give a GeoJSON Polygon or "
                    "MultiPolygon with lon/lat coordinates.",
                    context().take_error()));
  }
  return Geometry(g);
}

Geometry Geometry::from_wkb(const unsigned char* wkb, std::size_t size) {
  GEOSWKBReader* reader = GEOSWKBReader_create_r(H());
  GEOSGeometry* g = GEOSWKBReader_read_r(H(), reader, wkb, size);
  GEOSWKBReader_destroy_r(H(), reader);
  if (!g) {
    throw InputError(fmt::format("The geometry is not valid WKB ({}); fix or remove that geometry.",
                                 context().take_error()));
  }
  return Geometry(g);
}

Geometry Geometry::box(double min_x, double min_y, double max_x, double max_y) {
  return Geometry(check(GEOSGeom_createRectangle_r(H(), min_x, min_y, max_x, max_y), "box"));
}

bool Geometry::empty() const { return GEOSisEmpty_r(H(), geom_) == 1; }

bool Geometry::is_areal() const {
  const int t = GEOSGeomTypeId_r(H(), geom_);
  return t == GEOS_POLYGON || t == GEOS_MULTIPOLYGON;
}

std::string Geometry::type_name() const {
  GeosString s{GEOSGeomType_r(H(), geom_)};
  return s.s ? std::string(s.s) : std::string("unknown");
}

double Geometry::area() const {
  double a = 0;
  if (!GEOSArea_r(H(), geom_, &a)) throw Error("Geometry operation 'area' failed.");
  return a;
}

std::array<double, 4> Geometry::bounds() const {
  if (empty()) return {0, 0, 0, 0};
  std::array<double, 4> b{};
  if (!GEOSGeom_getXMin_r(H(), geom_, &b[0]) || !GEOSGeom_getYMin_r(H(), geom_, &b[1]) ||
      !GEOSGeom_getXMax_r(H(), geom_, &b[2]) || !GEOSGeom_getYMax_r(H(), geom_, &b[3])) {
    throw Error("Geometry operation 'bounds' failed.");
  }
  return b;
}

std::array<double, 2> Geometry::centroid() const {
  Geometry c(check(GEOSGetCentroid_r(H(), geom_), "centroid"));
  if (c.empty()) return {0, 0};
  std::array<double, 2> xy{};
  GEOSGeomGetX_r(H(), c.geom_, &xy[0]);
  GEOSGeomGetY_r(H(), c.geom_, &xy[1]);
  return xy;
}

Geometry Geometry::intersection(const Geometry& other) const {
  return Geometry(robust_binary(geom_, other.geom_, GEOSIntersection_r, "intersection"));
}

Geometry Geometry::union_with(const Geometry& other) const {
  return Geometry(robust_binary(geom_, other.geom_, GEOSUnion_r, "union"));
}

Geometry Geometry::difference(const Geometry& other) const {
  return Geometry(robust_binary(geom_, other.geom_, GEOSDifference_r, "difference"));
}

bool Geometry::intersects(const Geometry& other) const {
  const char r = GEOSIntersects_r(H(), geom_, other.geom_);
  if (r == 2) return !intersection(other).empty();  // invalid input: decide on repaired copies
  return r == 1;
}

std::optional<Invalidity> Geometry::invalidity() const {
  char* reason = nullptr;
  GEOSGeometry* location = nullptr;
  const char r = GEOSisValidDetail_r(H(), geom_, 0, &reason, &location);
  if (r == 1) return std::nullopt;
  if (r == 2) {
    return Invalidity{"validity check failed: " + context().take_error(), 0, 0};
  }
  Invalidity inv;
  if (reason) {
    inv.reason = reason;
    GEOSFree_r(H(), reason);
  }
  if (location) {
    Geometry loc(location);
    GEOSGeomGetX_r(H(), loc.geom_, &inv.x);
    GEOSGeomGetY_r(H(), loc.geom_, &inv.y);
  }
  return inv;
}

std::string Geometry::invalid_reason() const {
  const auto inv = invalidity();
  if (!inv) return {};
  return fmt::format("{}[{} {}]", inv->reason, inv->x, inv->y);
}

Geometry Geometry::make_valid() const {
  return Geometry(check(GEOSMakeValid_r(H(), geom_), "make valid"));
}

Geometry Geometry::densified(double max_segment) const {
  return Geometry(check(GEOSDensify_r(H(), geom_, max_segment), "densify"));
}

Geometry Geometry::transformed(const Transformer& t) const {
  struct State {
    const Transformer* t;
    std::string error;
  } state{&t, {}};
  auto callback = [](double* x, double* y, void* user) -> int {
    auto* s = static_cast<State*>(user);
    try {
      s->t->transform_unguarded(*x, *y);
      return 1;
    } catch (const std::exception& e) {
      s->error = e.what();
      return 0;
    }
  };
  QuietGdalErrors quiet;  // once for all points: pushing a handler per point doubles the cost
  GEOSGeometry* g = GEOSGeom_transformXY_r(H(), geom_, callback, &state);
  if (!g) {
    context().take_error();
    throw Error(state.error.empty() ? std::string("Geometry operation 'transform' failed.")
                                    : state.error);
  }
  return Geometry(g);
}

std::string Geometry::to_wkt() const {
  GEOSWKTWriter* writer = GEOSWKTWriter_create_r(H());
  GEOSWKTWriter_setTrim_r(H(), writer, 1);
  GEOSWKTWriter_setRoundingPrecision_r(H(), writer, 12);
  GeosString s{GEOSWKTWriter_write_r(H(), writer, geom_)};
  GEOSWKTWriter_destroy_r(H(), writer);
  if (!s.s) throw Error("Geometry operation 'to WKT' failed.");
  return s.s;
}

nlohmann::json Geometry::to_geojson() const {
  GEOSGeoJSONWriter* writer = GEOSGeoJSONWriter_create_r(H());
  GeosString s{GEOSGeoJSONWriter_writeGeometry_r(H(), writer, geom_, -1)};
  GEOSGeoJSONWriter_destroy_r(H(), writer);
  if (!s.s) throw Error("Geometry operation 'to GeoJSON' failed: " + context().take_error());
  return nlohmann::json::parse(s.s);
}

// ---------------------------------------------------------------- Transformer

struct Transformer::Impl {
  OGRSpatialReference from;
  OGRSpatialReference to;
  std::unique_ptr<OGRCoordinateTransformation> ct;
  std::string description;
};

namespace {

void set_crs(OGRSpatialReference& srs, const std::string& text) {
  QuietGdalErrors quiet;
  if (srs.SetFromUserInput(text.c_str()) != OGRERR_NONE) {
    throw Error(fmt::format("Unknown coordinate reference system '{}'{}.", text, quiet.last()));
  }
  // EPSG:4326 is lat/lon in its official axis order; everything here is x=lon, y=lat.
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
}

}  // namespace

Transformer::Transformer(const std::string& from, const std::string& to)
    : impl_(std::make_unique<Impl>()) {
  set_crs(impl_->from, from);
  set_crs(impl_->to, to);
  QuietGdalErrors quiet;
  impl_->ct.reset(OGRCreateCoordinateTransformation(&impl_->from, &impl_->to));
  if (!impl_->ct) {
    throw Error(
        fmt::format("No coordinate transformation from '{}' to '{}'{}.", from, to, quiet.last()));
  }
  impl_->description = fmt::format("from '{}' to '{}'", from, to);
}

Transformer::~Transformer() = default;
Transformer::Transformer(Transformer&&) noexcept = default;
Transformer& Transformer::operator=(Transformer&&) noexcept = default;

void Transformer::transform(double& x, double& y) const {
  QuietGdalErrors quiet;
  transform_unguarded(x, y);
}

void Transformer::transform_unguarded(double& x, double& y) const {
  const double x0 = x, y0 = y;
  int ok = 0;
  if (!impl_->ct->Transform(1, &x, &y, nullptr, &ok) || !ok || !std::isfinite(x) ||
      !std::isfinite(y)) {
    throw Error(fmt::format("Cannot transform the point ({}, {}) {}.", x0, y0, impl_->description));
  }
}

// ---------------------------------------------------------------- CRS helpers

int utm_epsg_for(double lon, double lat) {
  // Longitude 180 belongs to zone 60 (the last), not to a zone 61.
  int zone = static_cast<int>(std::floor((lon + 180.0) / 6.0)) + 1;
  if (zone > 60) zone = 60;
  if (zone < 1) zone = 1;
  // Band V (56-64 N): zone 32 is widened westwards to cover south-western Norway.
  if (lat >= 56.0 && lat < 64.0 && lon >= 3.0 && lon < 12.0) zone = 32;
  // Band X (72-84 N, Svalbard): zones 32, 34 and 36 are absent; 31, 33, 35, 37 are widened.
  if (lat >= 72.0 && lat < 84.0 && lon >= 0.0 && lon < 42.0) {
    if (lon < 9.0) {
      zone = 31;
    } else if (lon < 21.0) {
      zone = 33;
    } else if (lon < 33.0) {
      zone = 35;
    } else {
      zone = 37;
    }
  }
  return (lat >= 0.0 ? 32600 : 32700) + zone;
}

std::string equal_area_crs_at(double lon, double lat) {
  return fmt::format(
      "+proj=laea +lat_0={:.9f} +lon_0={:.9f} +x_0=0 +y_0=0 +datum=WGS84 "
      "+units=m +no_defs",
      lat, lon);
}

}  // namespace s2prep::geo
