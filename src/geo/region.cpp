#include "geo/region.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/errors.hpp"

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
  return std::any_of(std::begin(kKeywords), std::end(kKeywords),
                     [&](const char* k) { return w == k; });
}

bool looks_like_path(std::string_view s) {
  if (s.find('\n') != std::string_view::npos) return false;
  auto ends_with = [&](std::string_view suffix) {
    if (s.size() < suffix.size()) return false;
    std::string tail(s.substr(s.size() - suffix.size()));
    std::transform(tail.begin(), tail.end(), tail.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return tail == suffix;
  };
  return s.find('/') != std::string_view::npos || s.find('\\') != std::string_view::npos ||
         ends_with(".json") || ends_with(".geojson") || ends_with(".wkt") || ends_with(".txt");
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

Geometry read_geojson_geometry(const nlohmann::json& j, const std::string& label) {
  try {
    return Geometry::from_geojson(j);
  } catch (const InputError& e) {
    throw InputError(relabel(e, label));
  }
}

std::string feature_label(const nlohmann::json& feature, size_t index, const std::string& source) {
  std::string name;
  if (feature.is_object()) {
    if (auto id = feature.find("id"); id != feature.end() && !id->is_null()) {
      name = id->is_string() ? id->get<std::string>() : id->dump();
    } else if (auto props = feature.find("properties");
               props != feature.end() && props->is_object()) {
      if (auto n = props->find("name"); n != props->end() && n->is_string()) {
        name = n->get<std::string>();
      }
    }
  }
  std::string of = source;  // "The inline geometry" -> "the inline geometry"
  if (!of.empty()) of[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(of[0])));
  return name.empty() ? fmt::format("Feature {} of {}", index + 1, of)
                      : fmt::format("Feature {} (\"{}\") of {}", index + 1, name, of);
}

Geometry feature_geometry(const nlohmann::json& feature, const std::string& label) {
  if (!feature.is_object() || feature.value("type", "") != "Feature") {
    throw InputError(fmt::format(
        "{} is not a GeoJSON Feature object; every member of \"features\" must be a Feature.",
        label));
  }
  const auto geom = feature.find("geometry");
  if (geom == feature.end() || geom->is_null()) {
    throw InputError(
        fmt::format("{} has no geometry (null); remove that feature or give it a Polygon.", label));
  }
  Geometry g = read_geojson_geometry(*geom, label);
  validate(g, label);
  return g;
}

Geometry parse_geojson(std::string_view text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
    throw InputError(fmt::format("{} is not valid JSON ({}); fix the GeoJSON syntax.", source,
                                 json_error_text(e)));
  }
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    throw InputError(fmt::format(
        "{} is JSON without a GeoJSON \"type\"; give a Polygon, MultiPolygon, Feature or "
        "FeatureCollection.",
        source));
  }
  const std::string type = j["type"].get<std::string>();
  if (type == "Feature") return feature_geometry(j, source);
  if (type == "FeatureCollection") {
    const auto features = j.find("features");
    if (features == j.end() || !features->is_array()) {
      throw InputError(fmt::format(
          "{} is a FeatureCollection without a \"features\" array; add the features.", source));
    }
    if (features->empty()) {
      throw InputError(fmt::format(
          "{} is a FeatureCollection with no features; add at least one Polygon feature.", source));
    }
    std::optional<Geometry> all;
    for (size_t i = 0; i < features->size(); ++i) {
      Geometry g = feature_geometry((*features)[i], feature_label((*features)[i], i, source));
      all = all ? all->union_with(g) : std::move(g);
    }
    return std::move(*all);
  }
  if (type == "GeometryCollection") {
    throw InputError(
        fmt::format("{} is a GeometryCollection; give its polygons as one MultiPolygon or as a "
                    "FeatureCollection.",
                    source));
  }
  return read_geojson_geometry(j, source);
}

Geometry parse_text(std::string_view text, const std::string& source) {
  text = trim(text);
  if (text.empty()) {
    throw InputError(fmt::format("{} is empty; give a GeoJSON or WKT polygon in lon/lat.", source));
  }
  if (text.front() == '{') return parse_geojson(text, source);
  if (!looks_like_wkt(text)) {
    throw InputError(fmt::format(
        "{} is neither GeoJSON (which starts with '{{') nor WKT (which starts with a keyword such "
        "as POLYGON); give a GeoJSON file, or a GeoJSON or WKT polygon in lon/lat.",
        source));
  }
  try {
    return Geometry::from_wkt(text);
  } catch (const InputError& e) {
    throw InputError(relabel(e, source));
  }
}

}  // namespace

Region Region::parse(std::string_view arg) {
  const std::string_view trimmed = trim(arg);
  std::error_code ec;
  const bool can_be_path =
      !trimmed.empty() && trimmed.size() < 4096 && trimmed.find('\n') == std::string_view::npos;
  if (can_be_path && fs::exists(fs::path(std::string(trimmed)), ec)) {
    const std::string path(trimmed);
    const std::string source = fmt::format("The geometry file '{}'", path);
    if (fs::is_directory(path, ec)) {
      throw InputError(fmt::format(
          "The geometry file '{}' is a directory; give the path of a GeoJSON file.", path));
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    if (in) buffer << in.rdbuf();
    if (!in || in.bad()) {
      throw InputError(fmt::format(
          "Cannot read the geometry file '{}'; check that it exists and is readable.", path));
    }
    Geometry g = parse_text(buffer.str(), source);
    validate(g, source);
    return Region(std::move(g));
  }
  const std::string source = "The inline geometry";
  if (!trimmed.empty() && trimmed.front() != '{' && !looks_like_wkt(trimmed) &&
      looks_like_path(trimmed)) {
    throw InputError(fmt::format(
        "The geometry file '{}' does not exist; give an existing GeoJSON file, or an inline "
        "GeoJSON or WKT polygon.",
        trimmed));
  }
  Geometry g = parse_text(trimmed, source);
  validate(g, source);
  return Region(std::move(g));
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
