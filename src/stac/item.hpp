#pragma once
// The typed model of a STAC Item of a Sentinel-2 L2A collection, as returned by Planetary
// Computer (and, through stac/provider.hpp, by other providers).

#include <array>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace s2prep::stac {

// Largest proj:shape side accepted (pixels): three times a Sentinel-2 tile's 10980, far below
// what would exhaust memory when a whole tile is read.
inline constexpr int kMaxAssetSide = 32768;

struct Asset {
  std::string href;
  std::string type;  // media type, may be empty
  std::vector<std::string> roles;
  std::optional<int> epsg;                         // proj:epsg (asset level, else item level)
  std::optional<std::array<int, 2>> shape;         // proj:shape [rows, cols]
  std::optional<std::array<double, 6>> transform;  // proj:transform as a GDAL geotransform
  std::optional<std::array<double, 4>> proj_bbox;  // proj:bbox
  std::optional<double> gsd;
  // raster:bands[0] scale/offset when declared (Earth Search applies offsets this way).
  std::optional<double> scale;
  std::optional<double> offset;
};

struct Item {
  std::string id;
  std::string collection;
  TimePoint datetime{};
  std::string datetime_text;  // exactly as in the response: the grouping key of an acquisition
  nlohmann::json geometry;    // GeoJSON geometry in lon/lat
  std::array<double, 4> bbox{};

  // Sentinel-2 properties s2prep uses (absent ones stay empty).
  std::string platform;
  std::string mgrs_tile;                          // s2:mgrs_tile, e.g. "33UUP"
  std::optional<int> relative_orbit;              // sat:relative_orbit
  std::string orbit_state;                        // sat:orbit_state
  std::optional<int> epsg;                        // proj:epsg
  std::optional<double> cloud_cover;              // eo:cloud_cover, percent
  std::optional<double> nodata_pixel_percentage;  // s2:nodata_pixel_percentage
  std::optional<double> mean_solar_zenith;        // s2:mean_solar_zenith, degrees
  std::optional<double> mean_solar_azimuth;       // s2:mean_solar_azimuth, degrees
  std::optional<double> sun_azimuth;              // view:sun_azimuth, degrees (Earth Search)
  std::optional<double> sun_elevation;            // view:sun_elevation, degrees (Earth Search)
  std::string processing_baseline;                // s2:processing_baseline, e.g. "04.00"
  std::string product_uri;                        // s2:product_uri
  std::map<std::string, double> scl_percentages;  // s2:*_percentage

  // Keyed by the provider's asset key ("B02", "SCL", "granule-metadata", ...).
  std::map<std::string, Asset> assets;

  nlohmann::json raw;  // the Item as received, for provenance

  // Parses one STAC Item. Throws s2prep::Error naming the item (or its index) and the field
  // that is missing or of the wrong type.
  static Item from_json(const nlohmann::json& j);
  // The same, naming the item by its position in a response when it has no id.
  static Item from_json(const nlohmann::json& j, std::size_t index);

  // Processing baseline as a number (4.0 for "04.00"); from s2:processing_baseline, else the
  // N-number of s2:product_uri / the id; nullopt when neither says.
  std::optional<double> baseline() const;
  // Processing time from the id (last underscore-separated part, e.g. 20201006T080531), empty
  // when absent. Used to keep the newest processing of a reprocessed product.
  std::string processing_time() const;
  // The id without baseline and processing-time parts: equal for reprocessings of one product.
  std::string product_key() const;
};

}  // namespace s2prep::stac
