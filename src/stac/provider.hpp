#pragma once
// Every difference between STAC providers of Sentinel-2 L2A that s2prep cares about, in one
// place: how band assets are keyed and how pixel values relate to reflectance.
//
// Planetary Computer: assets "B01".."B12", "B8A", "SCL"; no raster:bands scale/offset; from
//   processing baseline 04.00 on, DN = 10000 * reflectance + 1000 (BOA_ADD_OFFSET -1000).
// Earth Search (sentinel-2-c1-l2a, sentinel-2-l2a): common-name keys ("blue", "nir08", "scl",
//   ...) and raster:bands declaring scale 0.0001 and offset -0.1, i.e. the same +1000 DN.
//
// Decision: s2prep writes every date on the pre-04.00 scale (DN = 10000 * reflectance). The DN
// offset to subtract is taken from a declared raster:bands offset when the asset has one
// (-offset / scale: the provider's own statement is authoritative, whatever the baseline), and
// otherwise from the processing baseline (1000 when >= 04.00, else 0). The ingest stage applies
// `Radiometry::dn_offset` the same way for every provider and records `source` in provenance.
//
// Sun angles: Planetary Computer items carry s2:mean_solar_zenith / s2:mean_solar_azimuth and
// the granule's MTD_TL.xml as asset "granule-metadata"; Earth Search items carry
// view:sun_elevation / view:sun_azimuth and the same file as asset "granule_metadata".

#include <optional>
#include <string>
#include <string_view>

#include "stac/granule_metadata.hpp"
#include "stac/item.hpp"

namespace s2prep::stac {

// The asset key of a band ("B01".."B12", "B8A", "SCL") in this item, or nullopt when the item
// has no such asset.
std::optional<std::string> band_asset_key(const Item& item, std::string_view band);

// The asset of a band; throws DataError naming the item and band when it is absent.
const Asset& band_asset(const Item& item, std::string_view band);

struct Radiometry {
  // DN to subtract so that DN' = 10000 * reflectance; 0 when nothing to do.
  double dn_offset = 0;
  enum class Source { kNone, kBaseline, kDeclared } source = Source::kNone;
  std::optional<double> declared_scale;   // raster:bands[0].scale of the band asset
  std::optional<double> declared_offset;  // raster:bands[0].offset of the band asset
  bool harmonize() const { return dn_offset != 0; }
};

// How to bring a reflectance band of this item to the common scale (see the decision above).
// `band` is a reflectance band name; "B04" stands for all of them (providers declare the same
// scale/offset for every reflectance band).
Radiometry radiometry(const Item& item, std::string_view band = "B04");

// The tile's mean sun angles as the item's properties state them: s2:mean_solar_zenith/azimuth,
// else view:sun_elevation/azimuth (zenith = 90 - elevation). nullopt when the item has neither
// pair, or its pair is out of range (zenith outside 0..90, a non-finite azimuth).
std::optional<MeanSunAngles> property_sun_angles(const Item& item);

// The asset holding the granule's metadata file (MTD_TL.xml), or nullptr when the item has none.
const Asset* granule_metadata_asset(const Item& item);

}  // namespace s2prep::stac
