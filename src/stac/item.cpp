#include "stac/item.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <s2prep/errors.hpp>
#include "core/json_limits.hpp"

namespace s2prep::stac {
namespace {

using nlohmann::json;

// Names the item in messages: its id when it has one, else its position in the response.
struct ItemLabel {
  std::string text;
  static ItemLabel make(const json& j, std::optional<std::size_t> index) {
    if (j.is_object()) {
      const auto it = j.find("id");
      if (it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
        return {"STAC item " + it->get<std::string>()};
      }
    }
    if (index) return {fmt::format("STAC item #{} of the response", *index)};
    return {"a STAC item without an id"};
  }
};

[[noreturn]] void fail(const ItemLabel& label, std::string_view what) {
  throw Error(
      fmt::format("{} {}; the STAC service returned an item s2prep cannot use, check "
                  "the --stac-url and the collection.",
                  label.text, what));
}

const json* find(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<double> opt_number(const json& obj, const char* key, const ItemLabel& label) {
  const json* v = find(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) fail(label, fmt::format("has a non-numeric \"{}\"", key));
  const double value = v->get<double>();
  if (!std::isfinite(value)) fail(label, fmt::format("has a non-finite \"{}\"", key));
  return value;
}

std::optional<int> opt_int(const json& obj, const char* key, const ItemLabel& label) {
  const auto v = opt_number(obj, key, label);
  if (!v) return std::nullopt;
  // The range first: converting a double beyond the range of the integer type is undefined.
  if (std::abs(*v) > std::numeric_limits<int>::max() || *v != std::trunc(*v)) {
    fail(label, fmt::format("has a non-integer \"{}\"", key));
  }
  return static_cast<int>(*v);
}

std::string opt_string(const json& obj, const char* key, const ItemLabel& label) {
  const json* v = find(obj, key);
  if (!v) return {};
  if (!v->is_string()) fail(label, fmt::format("has a non-text \"{}\"", key));
  return v->get<std::string>();
}

// Reads an array of exactly one of the allowed lengths of numbers.
std::optional<std::vector<double>> opt_numbers(const json& obj, const char* key,
                                               std::initializer_list<std::size_t> lengths,
                                               const ItemLabel& label) {
  const json* v = find(obj, key);
  if (!v) return std::nullopt;
  bool length_ok = false;
  if (v->is_array()) {
    for (auto n : lengths) length_ok = length_ok || v->size() == n;
  }
  if (!length_ok) fail(label, fmt::format("has a malformed \"{}\" (wrong length or type)", key));
  std::vector<double> out;
  for (const auto& e : *v) {
    if (!e.is_number()) fail(label, fmt::format("has a non-numeric value in \"{}\"", key));
    const double value = e.get<double>();
    if (!std::isfinite(value)) fail(label, fmt::format("has a non-finite value in \"{}\"", key));
    out.push_back(value);
  }
  return out;
}

// "EPSG:32633" (proj:code, projection extension v2) or proj:epsg.
std::optional<int> read_epsg(const json& obj, const ItemLabel& label) {
  if (auto e = opt_int(obj, "proj:epsg", label)) return e;
  const std::string code = opt_string(obj, "proj:code", label);
  if (code.rfind("EPSG:", 0) == 0) {
    int value = 0;
    const char* first = code.data() + 5;
    const char* last = code.data() + code.size();
    const auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec == std::errc() && ptr == last && value > 0) return value;
    fail(label, fmt::format("has an unreadable \"proj:code\" \"{}\"", code));
  }
  return std::nullopt;
}

// Walks GeoJSON coordinates of any nesting depth, extending [minx, miny, maxx, maxy].
void extend_bbox(const json& coords, std::array<double, 4>& box, bool& any) {
  if (!coords.is_array()) return;
  if (coords.size() >= 2 && coords[0].is_number() && coords[1].is_number()) {
    const double x = coords[0].get<double>();
    const double y = coords[1].get<double>();
    if (!any) {
      box = {x, y, x, y};
      any = true;
    } else {
      box[0] = std::min(box[0], x);
      box[1] = std::min(box[1], y);
      box[2] = std::max(box[2], x);
      box[3] = std::max(box[3], y);
    }
    return;
  }
  for (const auto& c : coords) extend_bbox(c, box, any);
}

Asset parse_asset(const std::string& key, const json& a, std::optional<int> item_epsg,
                  const ItemLabel& label) {
  const ItemLabel asset_label{fmt::format("{} (asset \"{}\")", label.text, key)};
  if (!a.is_object()) fail(asset_label, "is not a JSON object");
  Asset asset;
  asset.href = opt_string(a, "href", asset_label);
  if (asset.href.empty()) fail(asset_label, "has no \"href\"");
  asset.type = opt_string(a, "type", asset_label);
  if (const json* roles = find(a, "roles")) {
    if (!roles->is_array()) fail(asset_label, "has a non-array \"roles\"");
    for (const auto& r : *roles) {
      if (r.is_string()) asset.roles.push_back(r.get<std::string>());
    }
  }
  asset.epsg = read_epsg(a, asset_label);
  if (!asset.epsg) asset.epsg = item_epsg;
  if (auto shape = opt_numbers(a, "proj:shape", {2}, asset_label)) {
    const auto& s = *shape;
    if (s[0] < 1 || s[1] < 1 || s[0] != std::trunc(s[0]) || s[1] != std::trunc(s[1])) {
      fail(asset_label, "has a \"proj:shape\" that is not two positive integers");
    }
    if (s[0] > kMaxAssetSide || s[1] > kMaxAssetSide) {
      fail(asset_label, fmt::format("has a \"proj:shape\" of {} x {} pixels, more than {} on a "
                                    "side (a Sentinel-2 tile has 10980)",
                                    s[0], s[1], kMaxAssetSide));
    }
    asset.shape = std::array<int, 2>{static_cast<int>(s[0]), static_cast<int>(s[1])};
  }
  if (auto t = opt_numbers(a, "proj:transform", {6, 9}, asset_label)) {
    // STAC order: x = a*col + b*row + c, y = d*col + e*row + f; GDAL's: [c, a, b, f, d, e].
    const auto& v = *t;
    asset.transform = std::array<double, 6>{v[2], v[0], v[1], v[5], v[3], v[4]};
  }
  if (auto b = opt_numbers(a, "proj:bbox", {4}, asset_label)) {
    asset.proj_bbox = std::array<double, 4>{(*b)[0], (*b)[1], (*b)[2], (*b)[3]};
  }
  asset.gsd = opt_number(a, "gsd", asset_label);
  if (const json* bands = find(a, "raster:bands")) {
    if (!bands->is_array()) fail(asset_label, "has a non-array \"raster:bands\"");
    if (!bands->empty()) {
      const ItemLabel band_label{asset_label.text + " raster:bands[0]"};
      asset.scale = opt_number((*bands)[0], "scale", band_label);
      asset.offset = opt_number((*bands)[0], "offset", band_label);
    }
  }
  return asset;
}

bool is_digits(std::string_view s) {
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

// "20201006T080531"
bool is_compact_time(std::string_view s) {
  return s.size() == 15 && s[8] == 'T' && is_digits(s.substr(0, 8)) && is_digits(s.substr(9));
}

// "N0212": the processing baseline as it appears in product names.
bool is_baseline_part(std::string_view s) {
  return s.size() == 5 && s[0] == 'N' && is_digits(s.substr(1));
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

std::string_view strip_safe(std::string_view name) {
  constexpr std::string_view kSuffix = ".SAFE";
  if (name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix) {
    name.remove_suffix(kSuffix.size());
  }
  return name;
}

std::optional<double> baseline_from_name(std::string_view name) {
  for (auto part : split(strip_safe(name), '_')) {
    if (is_baseline_part(part)) {
      const int n = std::stoi(std::string(part.substr(1)));
      return n / 100.0;
    }
  }
  return std::nullopt;
}

Item parse(const json& j, std::optional<std::size_t> index) {
  const ItemLabel label = ItemLabel::make(j, index);
  if (!j.is_object()) fail(label, "is not a JSON object");
  // Before anything copies or walks it: both recurse once per level.
  if (json_depth(j) > kMaxJsonDepth) {
    fail(label, fmt::format("nests deeper than {} levels (in its geometry coordinates or "
                            "properties)",
                            kMaxJsonDepth));
  }
  Item item;
  item.raw = j;
  item.id = opt_string(j, "id", label);
  if (item.id.empty()) fail(label, "has no \"id\"");
  item.collection = opt_string(j, "collection", label);

  const json* props = find(j, "properties");
  if (!props || !props->is_object()) fail(label, "has no \"properties\" object");
  const json& p = *props;

  // STAC allows a null datetime with a start/end range; the start then stands for the
  // acquisition (Sentinel-2 items always carry a datetime).
  item.datetime_text = opt_string(p, "datetime", label);
  if (item.datetime_text.empty()) item.datetime_text = opt_string(p, "start_datetime", label);
  if (item.datetime_text.empty()) fail(label, "has no \"datetime\" property");
  const auto t = parse_time(item.datetime_text);
  if (!t) fail(label, fmt::format("has an unreadable \"datetime\" \"{}\"", item.datetime_text));
  item.datetime = *t;

  const json* geometry = find(j, "geometry");
  if (!geometry || !geometry->is_object() || !find(*geometry, "type")) {
    fail(label, "has no \"geometry\"");
  }
  item.geometry = *geometry;
  if (auto b = opt_numbers(j, "bbox", {4, 6}, label)) {
    const auto& v = *b;
    item.bbox = v.size() == 4 ? std::array<double, 4>{v[0], v[1], v[2], v[3]}
                              : std::array<double, 4>{v[0], v[1], v[3], v[4]};
  } else {
    bool any = false;
    extend_bbox(geometry->contains("coordinates") ? (*geometry)["coordinates"] : json(), item.bbox,
                any);
    if (!any) fail(label, "has neither a \"bbox\" nor geometry coordinates");
  }

  item.platform = opt_string(p, "platform", label);
  item.mgrs_tile = opt_string(p, "s2:mgrs_tile", label);
  if (item.mgrs_tile.empty()) {
    // Earth Search spells the tile as grid:code "MGRS-20EPT".
    const std::string grid = opt_string(p, "grid:code", label);
    if (grid.rfind("MGRS-", 0) == 0) item.mgrs_tile = grid.substr(5);
  }
  item.relative_orbit = opt_int(p, "sat:relative_orbit", label);
  item.orbit_state = opt_string(p, "sat:orbit_state", label);
  item.epsg = read_epsg(p, label);
  item.cloud_cover = opt_number(p, "eo:cloud_cover", label);
  item.nodata_pixel_percentage = opt_number(p, "s2:nodata_pixel_percentage", label);
  item.mean_solar_zenith = opt_number(p, "s2:mean_solar_zenith", label);
  item.mean_solar_azimuth = opt_number(p, "s2:mean_solar_azimuth", label);
  item.sun_azimuth = opt_number(p, "view:sun_azimuth", label);
  item.sun_elevation = opt_number(p, "view:sun_elevation", label);
  item.processing_baseline = opt_string(p, "s2:processing_baseline", label);
  item.product_uri = opt_string(p, "s2:product_uri", label);
  constexpr std::string_view kPercentSuffix = "_percentage";
  for (const auto& [key, value] : p.items()) {
    if (key.rfind("s2:", 0) == 0 && key.size() > kPercentSuffix.size() &&
        key.compare(key.size() - kPercentSuffix.size(), kPercentSuffix.size(), kPercentSuffix) ==
            0 &&
        value.is_number()) {
      item.scl_percentages[key] = value.get<double>();
    }
  }

  if (const json* assets = find(j, "assets")) {
    if (!assets->is_object()) fail(label, "has a non-object \"assets\"");
    for (const auto& [key, a] : assets->items()) {
      item.assets.emplace(key, parse_asset(key, a, item.epsg, label));
    }
  }
  return item;
}

}  // namespace

Item Item::from_json(const nlohmann::json& j) { return parse(j, std::nullopt); }

Item Item::from_json(const nlohmann::json& j, std::size_t index) { return parse(j, index); }

std::optional<double> Item::baseline() const {
  if (!processing_baseline.empty()) {
    double value = 0;
    const char* first = processing_baseline.data();
    const char* last = first + processing_baseline.size();
    const auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec == std::errc() && ptr == last) return value;
  }
  if (auto b = baseline_from_name(product_uri)) return b;
  return baseline_from_name(id);
}

namespace {

// The processing time is a compact time that is the last part of a name which also carries the
// sensing time earlier on; a lone compact time is the sensing time and must not be dropped.
bool ends_with_processing_time(const std::vector<std::string_view>& parts) {
  if (parts.size() < 2 || !is_compact_time(parts.back())) return false;
  return std::any_of(parts.begin(), parts.end() - 1, is_compact_time);
}

}  // namespace

std::string Item::processing_time() const {
  const auto parts = split(id, '_');
  if (ends_with_processing_time(parts)) return std::string(parts.back());
  // Some providers name items without it (Earth Search); the product name still has it.
  const auto uri_parts = split(strip_safe(product_uri), '_');
  if (ends_with_processing_time(uri_parts)) return std::string(uri_parts.back());
  return {};
}

std::string Item::product_key() const {
  const auto parts = split(id, '_');
  const bool drop_last = ends_with_processing_time(parts);
  std::string key;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (is_baseline_part(parts[i])) continue;
    if (i + 1 == parts.size() && drop_last) continue;
    if (!key.empty()) key += '_';
    key += parts[i];
  }
  return key;
}

}  // namespace s2prep::stac
