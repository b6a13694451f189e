#include "pipeline/catalog.hpp"

#include <fmt/format.h>

#include <cstdio>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"
#include "core/json_integer.hpp"
#include "core/json_limits.hpp"
#include "geo/geometry.hpp"
#include "output/location.hpp"

namespace s2prep::pipeline {
namespace {

constexpr const char* kCogType = "image/tiff; application=geotiff; profile=cloud-optimized";

nlohmann::json asset_json(const std::string& key, const std::string& href) {
  nlohmann::json a{{"href", href}, {"type", kCogType}};
  if (key == "raster") {
    a["title"] = "Sentinel-2 L2A surface reflectance, 12 bands at 10 m";
    a["roles"] = {"data"};
    nlohmann::json bands = nlohmann::json::array();
    nlohmann::json raster_bands = nlohmann::json::array();
    for (const auto& b : kBands) {
      bands.push_back({{"name", std::string(b.name)},
                       {"common_name", std::string(b.common_name)},
                       {"center_wavelength", b.centre_nm / 1000.0}});
      raster_bands.push_back(
          {{"data_type", "uint16"}, {"nodata", 0}, {"scale", 0.0001}, {"offset", 0}});
    }
    a["eo:bands"] = bands;
    a["raster:bands"] = raster_bands;
  } else if (key == "mask") {
    a["title"] = "Cloud and cloud-shadow mask: 0 clear, 1 cloud or shadow, 255 no data";
    a["roles"] = {"cloud", "cloud-shadow"};
    a["raster:bands"] = {{{"data_type", "uint8"}, {"nodata", 255}}};
  } else if (key == "product_mask") {
    a["title"] =
        "Product mask from SCL: 0 clear, 1 cloud, 2 cirrus, 3 cloud shadow, 4 saturated or "
        "defective, 255 no data";
    a["roles"] = {"cloud", "cloud-shadow"};
    a["raster:bands"] = {{{"data_type", "uint8"}, {"nodata", 255}}};
  } else if (key == "cloud_probability" || key == "shadow_probability") {
    a["title"] = key == "cloud_probability" ? "Cloud probability" : "Cloud-shadow probability";
    a["roles"] = {"data"};
    a["raster:bands"] = {{{"data_type", "float32"}}};
  } else if (key == "quicklook") {
    a["type"] = "image/png";
    a["title"] = "True-colour quicklook with the mask drawn over it";
    a["roles"] = {"overview"};
  }
  return a;
}

std::array<double, 6> stac_transform(const Grid& g) {
  // STAC proj:transform is [a, b, c, d, e, f] with x = a*col + b*row + c.
  const auto& t = g.transform;
  return {t[1], t[2], t[0], t[4], t[5], t[3]};
}

}  // namespace

nlohmann::json to_stac_item(const OutputRecord& r) {
  // Footprint: the grid's outline in lon/lat, densified so that it follows the projection.
  geo::Transformer to_lonlat(r.grid.crs(), "EPSG:4326");
  nlohmann::json ring = nlohmann::json::array();
  const auto [min_x, min_y, max_x, max_y] = r.grid.bounds();
  constexpr int kSteps = 8;
  auto add = [&](double x, double y) {
    const auto p = to_lonlat(x, y);
    ring.push_back({p[0], p[1]});
  };
  for (int i = 0; i < kSteps; ++i) add(min_x + (max_x - min_x) * i / kSteps, max_y);
  for (int i = 0; i < kSteps; ++i) add(max_x, max_y - (max_y - min_y) * i / kSteps);
  for (int i = 0; i < kSteps; ++i) add(max_x - (max_x - min_x) * i / kSteps, min_y);
  for (int i = 0; i < kSteps; ++i) add(min_x, min_y + (max_y - min_y) * i / kSteps);
  ring.push_back(ring.front());
  double lon0 = 180, lat0 = 90, lon1 = -180, lat1 = -90;
  for (const auto& p : ring) {
    lon0 = std::min(lon0, p[0].get<double>());
    lon1 = std::max(lon1, p[0].get<double>());
    lat0 = std::min(lat0, p[1].get<double>());
    lat1 = std::max(lat1, p[1].get<double>());
  }

  nlohmann::json sources = nlohmann::json::array();
  bool any_harmonized = false;
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& s : r.sources) {
    sources.push_back({{"id", s.id},
                       {"s2:processing_baseline", s.processing_baseline},
                       {"harmonized", s.harmonized}});
    ids.push_back(s.id);
    any_harmonized = any_harmonized || s.harmonized;
  }
  auto model_json = [](const ModelInfo& m) {
    return nlohmann::json{
        {"name", m.name},
        {"sha256", m.sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.sha256)},
        {"engine", m.engine.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.engine)}};
  };
  nlohmann::json props{
      {"datetime", format_time(r.datetime)},
      {"platform",
       r.platforms.size() == 1 ? nlohmann::json(r.platforms[0]) : nlohmann::json(r.platforms)},
      {"constellation", "sentinel-2"},
      {"proj:epsg", r.grid.epsg},
      {"proj:shape", {r.grid.height, r.grid.width}},
      {"proj:transform", stac_transform(r.grid)},
      {"gsd", r.grid.resolution()},
      {"s2:mgrs_tiles", r.tiles},
      {"s2prep:source_items", ids},
      {"s2prep:sources", sources},
      {"s2prep:harmonized", any_harmonized},
      {"s2prep:cloud_model", model_json(r.cloud_model)},
      {"s2prep:shadow_model", model_json(r.shadow_model)},
      {"s2prep:cloud_thr", r.cloud_thr},
      {"s2prep:shadow_thr", r.shadow_thr},
      {"s2prep:fingerprint", r.fingerprint},
  };
  for (const auto& [k, v] : r.statistics.items()) props[k] = v;
  if (r.sun) {
    props["s2prep:sun_angles"] = {
        {"zenith", r.sun->zenith_deg}, {"azimuth", r.sun->azimuth_deg}, {"source", r.sun->source}};
  }

  nlohmann::json assets = nlohmann::json::object();
  for (const auto& [key, href] : r.assets) assets[key] = asset_json(key, href);

  return nlohmann::json{
      {"type", "Feature"},
      {"stac_version", "1.0.0"},
      {"stac_extensions",
       {"https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json"}},
      {"id", r.id},
      {"geometry", {{"type", "Polygon"}, {"coordinates", {ring}}}},
      {"bbox", {lon0, lat0, lon1, lat1}},
      {"properties", props},
      {"assets", assets},
      {"links", nlohmann::json::array()},
  };
}

OutputRecord from_stac_item(const nlohmann::json& item) {
  try {
    OutputRecord r;
    r.id = item.at("id").get<std::string>();
    const auto& p = item.at("properties");
    const auto t = parse_time(p.at("datetime").get<std::string>());
    if (!t) throw Error("bad datetime");
    r.datetime = *t;
    r.grid.epsg = json_integer_at<int>(p, "proj:epsg");
    r.grid.height = json_integer<int>(p.at("proj:shape").at(0), "proj:shape");
    r.grid.width = json_integer<int>(p.at("proj:shape").at(1), "proj:shape");
    const auto st = p.at("proj:transform").get<std::vector<double>>();
    if (st.size() < 6) throw Error("bad proj:transform");
    r.grid.transform = {st[2], st[0], st[1], st[5], st[3], st[4]};
    r.tiles = p.value("s2:mgrs_tiles", std::vector<std::string>{});
    for (const auto& s : p.at("s2prep:sources")) {
      r.sources.push_back({s.at("id").get<std::string>(),
                           s.at("s2:processing_baseline").get<std::string>(),
                           s.at("harmonized").get<bool>()});
    }
    auto model = [](const nlohmann::json& m) {
      const auto engine = m.find("engine");
      return ModelInfo{m.at("name").get<std::string>(),
                       m.at("sha256").is_null() ? "" : m.at("sha256").get<std::string>(),
                       engine == m.end() || engine->is_null() ? "" : engine->get<std::string>()};
    };
    r.cloud_model = model(p.at("s2prep:cloud_model"));
    r.shadow_model = model(p.at("s2prep:shadow_model"));
    r.cloud_thr = p.at("s2prep:cloud_thr").get<double>();
    r.shadow_thr = p.at("s2prep:shadow_thr").get<double>();
    r.fingerprint = p.at("s2prep:fingerprint").get<std::string>();
    const auto platform = p.value("platform", nlohmann::json());
    if (platform.is_string()) r.platforms = {platform.get<std::string>()};
    if (platform.is_array()) r.platforms = platform.get<std::vector<std::string>>();
    r.statistics = nlohmann::json::object();
    for (const char* k : kStatisticKeys) {
      if (p.contains(k)) r.statistics[k] = p.at(k);
    }
    for (const auto& [k, v] : item.at("assets").items()) {
      r.assets.emplace_back(k, v.at("href").get<std::string>());
    }
    if (p.contains("s2prep:sun_angles")) {
      const auto& sun = p.at("s2prep:sun_angles");
      r.sun = SunRecord{sun.at("zenith").get<double>(), sun.at("azimuth").get<double>(),
                        sun.at("source").get<std::string>()};
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("not an s2prep output item ({})", e.what()));
  } catch (const JsonProblem& e) {
    throw Error(fmt::format("not an s2prep output item ({})", e.what()));
  }
}

nlohmann::json item_collection(const std::vector<nlohmann::json>& items) {
  return nlohmann::json{
      {"type", "FeatureCollection"}, {"features", items}, {"links", nlohmann::json::array()}};
}

void write_text_atomically(const std::filesystem::path& path, const std::string& text) {
  output::write_text(path, text);
}

}  // namespace s2prep::pipeline
