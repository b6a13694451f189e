#include "pipeline/sun_angles.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <numbers>

#include <s2prep/errors.hpp>
#include "geo/geometry.hpp"
#include "geo/solar_position.hpp"
#include "stac/granule_metadata.hpp"
#include "stac/provider.hpp"

namespace s2prep::pipeline {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

bool fetchable(const std::string& href) {
  return href.rfind("http://", 0) == 0 || href.rfind("https://", 0) == 0;
}

std::optional<mask::SunAngles> granule_sun_angles(const std::vector<stac::Item>& items,
                                                  net::HttpClient& http,
                                                  const ingest::HrefSigner& sign) {
  for (const auto& item : items) {
    const stac::Asset* asset = stac::granule_metadata_asset(item);
    if (asset == nullptr || !fetchable(asset->href)) continue;
    try {
      const std::string href = sign ? sign(asset->href, false) : asset->href;
      const auto response = http.get(href);
      if (!response.ok()) {
        spdlog::debug("{}: granule metadata {} answered HTTP {}", item.id,
                      net::redact_url(asset->href), response.status);
        continue;
      }
      if (const auto angles = stac::parse_mean_sun_angles(response.body)) {
        return mask::SunAngles{angles->zenith_deg, angles->azimuth_deg};
      }
      spdlog::debug("{}: granule metadata has no readable Mean_Sun_Angle", item.id);
    } catch (const Error& e) {
      spdlog::debug("{}: granule metadata unreadable ({})", item.id, e.what());
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(SunSource source) {
  switch (source) {
    case SunSource::kItemProperties:
      return "item properties";
    case SunSource::kGranuleMetadata:
      return "granule metadata";
    case SunSource::kComputed:
      break;
  }
  return "computed";
}

std::optional<mask::SunAngles> stated_sun_angles(const std::vector<stac::Item>& items) {
  double zenith = 0, sin_az = 0, cos_az = 0;
  int n = 0;
  for (const auto& item : items) {
    const auto angles = stac::property_sun_angles(item);
    if (!angles) continue;
    zenith += angles->zenith_deg;
    sin_az += std::sin(angles->azimuth_deg * kDeg);
    cos_az += std::cos(angles->azimuth_deg * kDeg);
    ++n;
  }
  if (n == 0) return std::nullopt;
  double azimuth = std::atan2(sin_az, cos_az) / kDeg;
  if (azimuth < 0) azimuth += 360;
  return mask::SunAngles{zenith / n, azimuth};
}

AcquisitionSun acquisition_sun(const std::vector<stac::Item>& items, const Grid& grid,
                               TimePoint datetime, net::HttpClient& http,
                               const ingest::HrefSigner& sign) {
  if (auto angles = stated_sun_angles(items)) {
    return {*angles, SunSource::kItemProperties};
  }
  if (auto angles = granule_sun_angles(items, http, sign)) {
    spdlog::info("{}: no sun angles in the items' properties; taken from the granule metadata",
                 format_time(datetime));
    return {*angles, SunSource::kGranuleMetadata};
  }
  // The grid's centre stands for the output; across a 110 km tile the sun moves by well under a
  // degree, and the built-in shadow search tolerates that.
  const auto [min_x, min_y, max_x, max_y] = grid.bounds();
  const auto centre =
      geo::Transformer(grid.crs(), "EPSG:4326")((min_x + max_x) / 2, (min_y + max_y) / 2);
  const geo::SolarPosition sun = geo::solar_position(datetime, centre[0], centre[1]);
  spdlog::info(
      "{}: no sun angles in the items' properties or granule metadata; computed from the "
      "acquisition time at {:.4f}, {:.4f} (zenith {:.2f}, azimuth {:.2f} degrees)",
      format_time(datetime), centre[1], centre[0], sun.zenith_deg, sun.azimuth_deg);
  return {mask::SunAngles{sun.zenith_deg, sun.azimuth_deg}, SunSource::kComputed};
}

}  // namespace s2prep::pipeline
