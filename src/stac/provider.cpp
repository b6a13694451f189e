#include "stac/provider.hpp"

#include <fmt/format.h>

#include <cmath>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"

namespace s2prep::stac {
namespace {

constexpr double kReflectanceScale = 1e-4;  // DN = 10000 * reflectance
constexpr double kBaselineOffsetDn = 1000;  // BOA_ADD_OFFSET of baseline >= 04.00

// The Earth Search key of a band: its eo common name, "scl" for the classification layer.
std::optional<std::string> common_name_key(std::string_view band) {
  if (band == "SCL") return std::string("scl");
  const int index = band_index(band);
  if (index < 0) return std::nullopt;
  return std::string(kBands[index].common_name);
}

}  // namespace

std::optional<std::string> band_asset_key(const Item& item, std::string_view band) {
  if (band != "SCL" && band_index(band) < 0) return std::nullopt;
  const std::string exact(band);
  if (item.assets.count(exact)) return exact;
  if (auto common = common_name_key(band); common && item.assets.count(*common)) return common;
  return std::nullopt;
}

const Asset& band_asset(const Item& item, std::string_view band) {
  if (auto key = band_asset_key(item, band)) return item.assets.at(*key);
  throw DataError(fmt::format(
      "STAC item {} has no asset for band {} (looked for \"{}\"{}); the "
      "collection is not Sentinel-2 L2A as s2prep expects it.",
      item.id, band, band,
      common_name_key(band) ? " and \"" + *common_name_key(band) + "\"" : std::string()));
}

Radiometry radiometry(const Item& item, std::string_view band) {
  Radiometry r;
  if (auto key = band_asset_key(item, band)) {
    const Asset& asset = item.assets.at(*key);
    r.declared_scale = asset.scale;
    r.declared_offset = asset.offset;
  }
  if (r.declared_offset) {
    // value = DN * scale + offset; on the common scale value = DN' * 1e-4, so
    // DN' = DN + offset / 1e-4 when the declared scale is 1e-4 (it always is for L2A bands).
    const double scale = r.declared_scale.value_or(kReflectanceScale);
    r.dn_offset = std::abs(scale) > 0 ? -*r.declared_offset / scale : 0;
    // Guard against float noise (-0.1 / 0.0001 = 999.9999999999999).
    r.dn_offset = std::round(r.dn_offset * 1e6) / 1e6;
    r.source = Radiometry::Source::kDeclared;
    return r;
  }
  const auto baseline = item.baseline();
  if (baseline && *baseline >= 4.0) {
    r.dn_offset = kBaselineOffsetDn;
    r.source = Radiometry::Source::kBaseline;
  }
  return r;
}

std::optional<MeanSunAngles> property_sun_angles(const Item& item) {
  auto checked = [](double zenith, double azimuth) -> std::optional<MeanSunAngles> {
    if (!std::isfinite(zenith) || !std::isfinite(azimuth) || zenith < 0 || zenith > 90) {
      return std::nullopt;
    }
    double a = std::fmod(azimuth, 360.0);
    if (a < 0) a += 360.0;
    return MeanSunAngles{zenith, a};
  };
  if (item.mean_solar_zenith && item.mean_solar_azimuth) {
    if (auto s = checked(*item.mean_solar_zenith, *item.mean_solar_azimuth)) return s;
  }
  if (item.sun_elevation && item.sun_azimuth) {
    return checked(90.0 - *item.sun_elevation, *item.sun_azimuth);
  }
  return std::nullopt;
}

const Asset* granule_metadata_asset(const Item& item) {
  for (const char* key : {"granule-metadata", "granule_metadata"}) {
    const auto it = item.assets.find(key);
    if (it != item.assets.end() && !it->second.href.empty()) return &it->second;
  }
  return nullptr;
}

}  // namespace s2prep::stac
