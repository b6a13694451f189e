#include "geo/region.hpp"

#include <fmt/format.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include <s2prep/errors.hpp>
#include "geo/gdal_errors.hpp"

namespace s2prep::geo {
namespace {

namespace fs = std::filesystem;

// Straight edges in lon/lat are curves in the equal-area plane; a 100 km edge along a parallel
// at 60 degrees bows by ~300 m, enough to shift coverage fractions by tenths of a percent. Adding
// vertices every 0.02 degrees (~2 km) keeps that error negligible.
constexpr double kDensifyDegrees = 0.02;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string upper_first_word(std::string_view s) {
  std::string w;
  for (char c : s) {
    if (!std::isalpha(static_cast<unsigned char>(c))) break;
    w.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return w;
}

bool looks_like_wkt(std::string_view s) {
  static const char* const kKeywords[] = {"POLYGON",    "MULTIPOLYGON",       "POINT",
                                          "MULTIPOINT", "LINESTRING",         "MULTILINESTRING",
                                          "LINEARRING", "GEOMETRYCOLLECTION", "SRID"};
  const std::string w = upper_first_word(s);
  // "POLYGON ((", "POLYGON((", "POLYGON EMPTY", "SRID=4326;...", but not "point.gpkg".
  if (w.size() < s.size() &&
      std::string_view(" \t\r\n(=").find(s[w.size()]) == std::string_view::npos) {
    return false;
  }
  return std::any_of(std::begin(kKeywords), std::end(kKeywords),
                     [&](const char* k) { return w == k; });
}

// A one-line argument that is neither GeoJSON nor WKT: is it meant as a path (so that a missing
// file is reported as missing)? Anything with a separator, a file extension or no spaces is.
bool looks_like_path(std::string_view s) {
  if (s.find('/') != std::string_view::npos || s.find('\\') != std::string_view::npos) return true;
  if (std::none_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); })) {
    return true;
  }
  const auto dot = s.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == s.size() || s.size() - dot > 9) return false;
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(dot) + 1, s.end(),
                     [](unsigned char c) { return std::isalnum(c); });
}

// Strips nlohmann's "[json.exception.parse_error.101] " prefix: users need the position only.
std::string json_error_text(const std::exception& e) {
  std::string m = e.what();
  if (!m.empty() && m.front() == '[') {
    const auto close = m.find("] ");
    if (close != std::string::npos) m = m.substr(close + 2);
  }
  return m;
}

// The checks every region (and every member of a FeatureCollection) must pass. `label` names
// the input at fault in the sentence ("The inline geometry", "Feature 2 of the geometry file
// 'field.geojson'").
void validate(const Geometry& g, const std::string& label) {
  if (g.empty()) {
    throw InputError(
        fmt::format("{} is empty; give a polygon with at least three distinct corners.", label));
  }
  if (!g.is_areal()) {
    throw InputError(
        fmt::format("{} is a {}, but a region must be a polygon: give a Polygon or "
                    "MultiPolygon that outlines the area.",
                    label, g.type_name()));
  }
  const auto [min_x, min_y, max_x, max_y] = g.bounds();
  if (min_x < -180 || max_x > 180 || min_y < -90 || max_y > 90) {
    const double largest =
        std::max({std::abs(min_x), std::abs(max_x), std::abs(min_y), std::abs(max_y)});
    if (largest > 1000) {
      throw InputError(fmt::format(
          "{} has coordinates as large as {:.0f}, which look like projected metres (e.g. UTM), "
          "not degrees; give lon/lat coordinates in EPSG:4326.",
          label, largest));
    }
    if ((min_y < -90 || max_y > 90) && min_x >= -90 && max_x <= 90) {
      throw InputError(fmt::format(
          "{} has latitudes from {} to {}, outside [-90, 90], while its longitudes fit in "
          "[-90, 90]: the coordinates look swapped; give them as longitude first, then latitude.",
          label, min_y, max_y));
    }
    throw InputError(fmt::format(
        "{} has coordinates outside lon/lat ranges (longitude {} to {}, latitude {} to {}); "
        "give longitudes in [-180, 180] and latitudes in [-90, 90] (EPSG:4326).",
        label, min_x, max_x, min_y, max_y));
  }
  if (max_x - min_x > 180) {
    throw InputError(fmt::format(
        "{} spans {:.1f} degrees of longitude ({} to {}), which means it crosses the antimeridian; "
        "split it at longitude 180/-180 into two regions and run each separately.",
        label, max_x - min_x, min_x, max_x));
  }
  if (const auto inv = g.invalidity()) {
    throw InputError(fmt::format(
        "{} is not a valid polygon: {} at lon {:.6f}, lat {:.6f}; fix the ring there (rings "
        "must not cross themselves or each other).",
        label, inv->reason, inv->x, inv->y));
  }
}

// Geometry's parse errors start with "The geometry"; name the actual input instead.
std::string relabel(const std::exception& e, const std::string& label) {
  std::string m = e.what();
  const std::string prefix = "The geometry";
  if (m.rfind(prefix, 0) == 0) return label + m.substr(prefix.size());
  return label + ": " + m;
}

// "The geometry file 'x'" -> "the geometry file 'x'", to follow "Feature 2 of ".
std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// One feature of a geometry input, validated, in lon/lat.
struct InputFeature {
  std::string id;    // empty when it has none
  std::string name;  // the "name" property or field, empty when it has none
  Geometry geometry;
};

// A geometry input: how errors name it as a whole, and its features.
struct Input {
  std::string source;  // "The geometry file 'x'", "The inline geometry"
  std::vector<InputFeature> features;
};

// "Feature 2 ("north field") of the geometry file 'x'": `index` is 0-based, `of` in lower case.
std::string feature_label(std::size_t index, const std::string& id, const std::string& name,
                          const std::string& of) {
  const std::string& known = id.empty() ? name : id;
  return known.empty() ? fmt::format("Feature {} of {}", index + 1, of)
                       : fmt::format("Feature {} (\"{}\") of {}", index + 1, known, of);
}

// ---------------------------------------------------------------- GeoJSON and WKT text
// Read with our own parser rather than OGR's: its errors give the JSON position and the
// feature, and the reading of "id" and "name" is exactly GeoJSON's.

std::string json_text(const nlohmann::json& v) {
  if (v.is_null()) return {};
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string geojson_feature_id(const nlohmann::json& feature) {
  if (!feature.is_object()) return {};
  const auto id = feature.find("id");
  return id == feature.end() ? std::string() : json_text(*id);
}

std::string geojson_feature_name(const nlohmann::json& feature) {
  if (!feature.is_object()) return {};
  const auto props = feature.find("properties");
  if (props == feature.end() || !props->is_object()) return {};
  const auto n = props->find("name");
  return n != props->end() && n->is_string() ? n->get<std::string>() : std::string();
}

Geometry read_geojson_geometry(const nlohmann::json& j, const std::string& label,
                               const Transformer* to_lonlat) {
  Geometry g;
  try {
    g = Geometry::from_geojson(j);
  } catch (const InputError& e) {
    throw InputError(relabel(e, label));
  }
  if (to_lonlat) {
    try {
      g = g.transformed(*to_lonlat);
    } catch (const Error& e) {
      throw InputError(fmt::format(
          "{} has coordinates that cannot be transformed to lon/lat ({}); check its \"crs\".",
          label, e.what()));
    }
  }
  return g;
}

Geometry feature_geometry(const nlohmann::json& feature, const std::string& label,
                          const Transformer* to_lonlat) {
  // find(), not value(): value() throws nlohmann's own error when "type" is not a string.
  const auto type = feature.find("type");  // end() for anything but an object
  if (type == feature.end() || *type != "Feature") {
    throw InputError(fmt::format(
        "{} is not a GeoJSON Feature object; every member of \"features\" must be a Feature.",
        label));
  }
  const auto geom = feature.find("geometry");
  if (geom == feature.end() || geom->is_null()) {
    throw InputError(
        fmt::format("{} has no geometry (null); remove that feature or give it a Polygon.", label));
  }
  Geometry g = read_geojson_geometry(*geom, label, to_lonlat);
  validate(g, label);
  return g;
}

// GeoJSON of the 2008 specification may name its CRS in a "crs" member (RFC 7946 GeoJSON is
// always lon/lat): the transformation from it to lon/lat, or null for lon/lat.
std::unique_ptr<Transformer> declared_crs(const nlohmann::json& j, const std::string& source) {
  const auto crs = j.find("crs");
  if (crs == j.end() || crs->is_null()) return nullptr;
  std::string name;
  if (crs->is_object()) {
    const auto props = crs->find("properties");
    if (props != crs->end() && props->is_object()) {
      const auto n = props->find("name");
      if (n != props->end() && n->is_string()) name = n->get<std::string>();
    }
  }
  if (name.empty()) {
    throw InputError(fmt::format(
        "{} has a \"crs\" member without a CRS name; remove it (lon/lat is the default) or give "
        "{{\"type\": \"name\", \"properties\": {{\"name\": \"EPSG:3857\"}}}}.",
        source));
  }
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (upper.ends_with("CRS84") || upper == "EPSG:4326" || upper.ends_with("EPSG::4326")) {
    return nullptr;  // lon/lat already (GeoJSON's axis order whatever the CRS's official one)
  }
  try {
    return std::make_unique<Transformer>(name, "EPSG:4326");
  } catch (const Error& e) {
    throw InputError(fmt::format(
        "{} declares the coordinate reference system '{}' (\"crs\"), which cannot be used ({}); "
        "give an EPSG code such as \"EPSG:3857\", or remove \"crs\" for lon/lat.",
        source, name, e.what()));
  }
}

bool is_geojson_type(const std::string& type) {
  static const char* const kTypes[] = {
      "Point",   "MultiPoint",   "LineString",         "MultiLineString",  "Polygon",
      "Feature", "MultiPolygon", "GeometryCollection", "FeatureCollection"};
  return std::any_of(std::begin(kTypes), std::end(kTypes),
                     [&](const char* t) { return type == t; });
}

// The features of GeoJSON text. With `strict` false, returns nullopt for text that is not JSON
// or JSON that is not GeoJSON, which other readers may still understand (ESRI JSON, TopoJSON,
// GeoJSON sequences); with `strict`, such text is an InputError.
std::optional<std::vector<InputFeature>> parse_geojson(std::string_view text,
                                                       const std::string& source, bool strict) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
    if (!strict) return std::nullopt;
    throw InputError(fmt::format("{} is not valid JSON ({}); fix the GeoJSON syntax.", source,
                                 json_error_text(e)));
  }
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string() ||
      !is_geojson_type(j["type"].get<std::string>())) {
    if (!strict) return std::nullopt;
    throw InputError(fmt::format(
        "{} is JSON without a GeoJSON \"type\"; give a Polygon, MultiPolygon, Feature or "
        "FeatureCollection.",
        source));
  }
  const auto to_lonlat = declared_crs(j, source);
  const std::string type = j["type"].get<std::string>();
  const std::string of = lower_first(source);
  std::vector<InputFeature> features;
  if (type == "Feature") {
    features.push_back({geojson_feature_id(j), geojson_feature_name(j),
                        feature_geometry(j, source, to_lonlat.get())});
    return features;
  }
  if (type == "FeatureCollection") {
    const auto members = j.find("features");
    if (members == j.end() || !members->is_array()) {
      throw InputError(fmt::format(
          "{} is a FeatureCollection without a \"features\" array; add the features.", source));
    }
    if (members->empty()) {
      throw InputError(fmt::format(
          "{} is a FeatureCollection with no features; add at least one Polygon feature.", source));
    }
    for (std::size_t i = 0; i < members->size(); ++i) {
      const auto& f = (*members)[i];
      std::string id = geojson_feature_id(f), name = geojson_feature_name(f);
      Geometry g = feature_geometry(f, feature_label(i, id, name, of), to_lonlat.get());
      features.push_back({std::move(id), std::move(name), std::move(g)});
    }
    return features;
  }
  if (type == "GeometryCollection") {
    throw InputError(
        fmt::format("{} is a GeometryCollection; give its polygons as one MultiPolygon or as a "
                    "FeatureCollection.",
                    source));
  }
  Geometry g = read_geojson_geometry(j, source, to_lonlat.get());
  validate(g, source);
  features.push_back({{}, {}, std::move(g)});
  return features;
}

std::vector<InputFeature> parse_wkt(std::string_view text, const std::string& source) {
  Geometry g;
  try {
    g = Geometry::from_wkt(text);
  } catch (const InputError& e) {
    throw InputError(relabel(e, source));
  }
  validate(g, source);
  std::vector<InputFeature> features;
  features.push_back({{}, {}, std::move(g)});
  return features;
}

std::string_view without_bom(std::string_view s) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (s.starts_with(kBom)) s.remove_prefix(kBom.size());
  return s;
}

// ---------------------------------------------------------------- other vector formats (OGR)

void register_gdal_drivers() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

std::string ogr_field(const OGRFeature& feature, const char* field) {
  const int i = feature.GetFieldIndex(field);  // case-insensitive: KML's "Name" too
  if (i < 0 || !feature.IsFieldSetAndNotNull(i)) return {};
  return feature.GetFieldAsString(i);
}

// A layer without a CRS is taken as lon/lat, like GeoJSON; coordinates in metres then mean the
// CRS is missing (typically a Shapefile without its .prj).
void check_undeclared_crs(const Geometry& g, const std::string& label) {
  if (g.empty()) return;
  const auto [min_x, min_y, max_x, max_y] = g.bounds();
  const double largest =
      std::max({std::abs(min_x), std::abs(max_x), std::abs(min_y), std::abs(max_y)});
  if (largest > 1000) {
    throw InputError(fmt::format(
        "{} has coordinates as large as {:.0f}, but its layer declares no coordinate reference "
        "system; add it (for a Shapefile, its .prj file) or reproject the file to EPSG:4326.",
        label, largest));
  }
}

Geometry ogr_feature_geometry(const OGRGeometry& in, OGRCoordinateTransformation* to_lonlat,
                              const std::string& label) {
  std::unique_ptr<OGRGeometry> g(in.clone());
  if (g->hasCurveGeometry()) g.reset(g->getLinearGeometry());
  // KML's MultiGeometry of polygons arrives as a GeometryCollection; a collection with anything
  // but polygons stays one and is rejected below with its type.
  if (wkbFlatten(g->getGeometryType()) == wkbGeometryCollection) {
    g.reset(OGRGeometryFactory::forceToMultiPolygon(g.release()));
  }
  g->flattenTo2D();
  if (to_lonlat) {
    QuietGdalErrors quiet;
    if (g->transform(to_lonlat) != OGRERR_NONE) {
      throw InputError(fmt::format(
          "{} has coordinates that cannot be transformed to lon/lat{}; check the layer's "
          "coordinate reference system.",
          label, quiet.last()));
    }
  }
  std::vector<unsigned char> wkb(g->WkbSize());
  g->exportToWkb(wkbNDR, wkb.data(), wkbVariantIso);
  try {
    return Geometry::from_wkb(wkb.data(), wkb.size());
  } catch (const InputError& e) {
    throw InputError(relabel(e, label));
  }
}

// Every feature of every spatial layer of a vector dataset GDAL opens, in lon/lat; nullopt (and
// GDAL's reason in `why`) when GDAL cannot open `name` as vector data.
std::optional<std::vector<InputFeature>> read_ogr(const std::string& name,
                                                  const std::string& source, std::string& why) {
  register_gdal_drivers();
  GDALDatasetUniquePtr ds;
  {
    QuietGdalErrors quiet;
    ds.reset(GDALDataset::Open(name.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
    if (!ds) {
      why = quiet.last();
      return std::nullopt;
    }
  }
  OGRSpatialReference lonlat;
  lonlat.importFromEPSG(4326);
  lonlat.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  const std::string of = lower_first(source);
  std::vector<InputFeature> features;
  for (OGRLayer* layer : ds->GetLayers()) {
    if (layer->GetLayerDefn()->GetGeomFieldCount() == 0) continue;  // an attribute table
    const std::string layer_of = fmt::format("layer '{}' of {}", layer->GetName(), of);
    const OGRSpatialReference* srs = layer->GetSpatialRef();
    std::unique_ptr<OGRCoordinateTransformation> to_lonlat;
    if (srs) {
      QuietGdalErrors quiet;
      to_lonlat.reset(OGRCreateCoordinateTransformation(srs, &lonlat));
      if (!to_lonlat) {
        throw InputError(fmt::format(
            "The {} has a coordinate reference system that cannot be transformed to lon/lat{}; "
            "reproject it to EPSG:4326.",
            layer_of, quiet.last()));
      }
    }
    layer->ResetReading();
    std::size_t index = 0;
    while (OGRFeatureUniquePtr feature{layer->GetNextFeature()}) {
      std::string id = ogr_field(*feature, "id"), fname = ogr_field(*feature, "name");
      const std::string label = feature_label(index++, id, fname, layer_of);
      const OGRGeometry* in = feature->GetGeometryRef();
      if (!in) {
        throw InputError(
            fmt::format("{} has no geometry; remove that feature or give it a polygon.", label));
      }
      Geometry g = ogr_feature_geometry(*in, to_lonlat.get(), label);
      if (!srs) check_undeclared_crs(g, label);
      validate(g, label);
      features.push_back({std::move(id), std::move(fname), std::move(g)});
    }
  }
  if (features.empty()) {
    throw InputError(
        fmt::format("{} has no features with a geometry; add at least one polygon.", source));
  }
  return features;
}

const char* const kVectorAdvice =
    "give a GeoJSON, GeoPackage, Shapefile, KML or FlatGeobuf file (or any vector format GDAL "
    "reads), or an inline GeoJSON or WKT polygon in lon/lat";

Input read_file(const std::string& path) {
  Input input{fmt::format("The geometry file '{}'", path), {}};
  std::string why;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {  // a folder of Shapefiles, a FileGDB
    if (auto f = read_ogr(path, input.source, why)) {
      input.features = std::move(*f);
      return input;
    }
    throw InputError(fmt::format(
        "The geometry file '{}' is a directory that GDAL does not read as vector data{}; give the "
        "path of a vector file.",
        path, why));
  }
  std::ifstream in(path, std::ios::binary);
  std::string head(4096, '\0');
  if (in) in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (!in && !in.eof()) {
    throw InputError(fmt::format(
        "Cannot read the geometry file '{}'; check that it exists and is readable.", path));
  }
  head.resize(static_cast<std::size_t>(in.gcount()));
  const std::string_view start = trim(without_bom(head));
  const bool geojson = !start.empty() && start.front() == '{';
  const bool wkt = !start.empty() && looks_like_wkt(start);
  if (start.empty() && in.eof()) {
    throw InputError(fmt::format(
        "The geometry file '{}' is empty; give a GeoJSON or WKT polygon in lon/lat.", path));
  }
  if (geojson || wkt) {
    std::stringstream rest;
    rest << in.rdbuf();
    const std::string all = head + rest.str();
    const std::string_view text = trim(without_bom(all));
    if (wkt) {
      input.features = parse_wkt(text, input.source);
      return input;
    }
    if (auto f = parse_geojson(text, input.source, false)) {
      input.features = std::move(*f);
      return input;
    }
    if (auto f = read_ogr(path, input.source, why)) {  // ESRI JSON, TopoJSON, GeoJSON sequences
      input.features = std::move(*f);
      return input;
    }
    parse_geojson(text, input.source, true);  // throws the JSON reader's own error
  }
  if (auto f = read_ogr(path, input.source, why)) {
    input.features = std::move(*f);
    return input;
  }
  throw InputError(
      fmt::format("The geometry file '{}' is not GeoJSON, WKT or a vector format GDAL "
                  "reads{}; {}.",
                  path, why, kVectorAdvice));
}

Input read_input(std::string_view arg) {
  const std::string_view trimmed = trim(without_bom(trim(arg)));
  const bool one_line =
      !trimmed.empty() && trimmed.size() < 4096 && trimmed.find('\n') == std::string_view::npos;
  if (one_line) {
    std::error_code ec;
    if (fs::exists(fs::path(std::string(trimmed)), ec)) return read_file(std::string(trimmed));
  }
  const bool text = !trimmed.empty() && (trimmed.front() == '{' || looks_like_wkt(trimmed));
  if (one_line && !text) {
    const std::string path(trimmed);
    if (path.starts_with("/vsi")) {  // GDAL's virtual file systems: zip archives, object stores
      Input input{fmt::format("The geometry file '{}'", path), {}};
      std::string why;
      if (auto f = read_ogr(path, input.source, why)) {
        input.features = std::move(*f);
        return input;
      }
      throw InputError(fmt::format(
          "The geometry file '{}' cannot be opened as vector data by GDAL{}; check the path.", path,
          why));
    }
    if (looks_like_path(trimmed)) {
      throw InputError(
          fmt::format("The geometry file '{}' does not exist; {}.", path, kVectorAdvice));
    }
    const std::string shown =
        trimmed.size() > 60 ? std::string(trimmed.substr(0, 57)) + "..." : path;
    throw InputError(fmt::format(
        "The geometry '{}' is neither an existing file, nor GeoJSON (which starts with '{{'), nor "
        "WKT (which starts with a keyword such as POLYGON); {}.",
        shown, kVectorAdvice));
  }
  Input input{"The inline geometry", {}};
  if (trimmed.empty()) {
    throw InputError("The inline geometry is empty; give a GeoJSON or WKT polygon in lon/lat.");
  }
  if (trimmed.front() == '{') {
    input.features = *parse_geojson(trimmed, input.source, true);
  } else if (looks_like_wkt(trimmed)) {
    input.features = parse_wkt(trimmed, input.source);
  } else {
    throw InputError(fmt::format(
        "The inline geometry is neither GeoJSON (which starts with '{{') nor WKT (which starts "
        "with a keyword such as POLYGON); {}.",
        kVectorAdvice));
  }
  return input;
}

// Where `s` is cut to at most `max` bytes without splitting a UTF-8 sequence.
std::size_t utf8_cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s.size();
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

// Length of the valid UTF-8 sequence at s[i], 0 when invalid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xE  ? 3
                  : (c >> 3) == 0x1E ? 4
                                     : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

std::string safe_feature_name(std::string_view raw) {
  static constexpr std::string_view kUnsafe = "/\\:*?\"<>|";
  std::string out;
  for (std::size_t i = 0; i < raw.size();) {
    const std::size_t n = utf8_sequence(raw, i);
    if (n == 0) {
      out.push_back('_');
      ++i;
      continue;
    }
    if (n == 1) {
      const auto c = static_cast<unsigned char>(raw[i]);
      out.push_back(c < 0x20 || c == 0x7F || c == ' ' ||
                            kUnsafe.find(static_cast<char>(c)) != std::string_view::npos
                        ? '_'
                        : static_cast<char>(c));
    } else {
      out.append(raw.substr(i, n));
    }
    i += n;
  }
  const std::size_t first = out.find_first_not_of('.');
  if (first == std::string::npos) return {};
  out.erase(0, first);
  out.resize(utf8_cut(out, kMaxFeatureNameBytes));
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

Region Region::parse(std::string_view arg) {
  Input input = read_input(arg);
  Geometry all = std::move(input.features.front().geometry);
  for (std::size_t i = 1; i < input.features.size(); ++i) {
    all = all.union_with(input.features[i].geometry);
  }
  validate(all, input.source);
  return Region(std::move(all));
}

std::vector<NamedRegion> parse_features(std::string_view arg) {
  Input input = read_input(arg);
  std::vector<NamedRegion> regions;
  std::set<std::string> taken;  // lower-cased: case-insensitive file systems (macOS, Windows)
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  for (std::size_t i = 0; i < input.features.size(); ++i) {
    InputFeature& f = input.features[i];
    std::string base = safe_feature_name(f.id.empty() ? f.name : f.id);
    if (base.empty()) base = std::to_string(i + 1);
    // A name already given to an earlier feature gets the first free suffix "-2", "-3", ... in
    // input order, so the first feature keeps the plain name and reruns give the same folders.
    std::string name = base;
    for (int k = 2; taken.contains(lower(name)); ++k) name = fmt::format("{}-{}", base, k);
    taken.insert(lower(name));
    regions.push_back({std::move(name), Region(std::move(f.geometry))});
  }
  return regions;
}

Region::Region(Geometry lonlat) : lonlat_(std::move(lonlat)) {
  validate(lonlat_, "The region");
  const auto [lon, lat] = lonlat_.centroid();
  equal_area_crs_ = equal_area_crs_at(lon, lat);
  to_equal_area_ = std::make_shared<const Transformer>("EPSG:4326", equal_area_crs_);
  equal_area_ = to_equal_area(lonlat_);
}

double Region::area_m2() const { return equal_area_.area(); }

int Region::utm_epsg() const {
  const auto [lon, lat] = centroid();
  return utm_epsg_for(lon, lat);
}

Geometry Region::to_equal_area(const Geometry& lonlat_geometry) const {
  return lonlat_geometry.densified(kDensifyDegrees).transformed(*to_equal_area_);
}

}  // namespace s2prep::geo
