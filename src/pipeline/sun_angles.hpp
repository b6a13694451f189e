#pragma once
// The sun's mean position over an output, for the built-in shadow detector and the output's
// STAC Item: from the items' properties, else from a granule metadata file (MTD_TL.xml), else
// computed from the acquisition's time and the output grid's centre. Never a fixed guess.

#include <optional>
#include <string_view>
#include <vector>

#include <s2prep/grid.hpp>
#include "core/time.hpp"
#include "ingest/acquisition_reader.hpp"
#include "mask/builtin_detector.hpp"
#include "net/http_client.hpp"
#include "stac/item.hpp"

namespace s2prep::pipeline {

enum class SunSource { kItemProperties, kGranuleMetadata, kComputed };

// "item properties", "granule metadata", "computed" (as recorded in s2prep:sun_angles).
std::string_view to_string(SunSource source);

struct AcquisitionSun {
  mask::SunAngles angles;
  SunSource source = SunSource::kComputed;
};

// The mean of the items' stated sun angles (azimuths averaged as directions), over the items
// that state them; nullopt when none does.
std::optional<mask::SunAngles> stated_sun_angles(const std::vector<stac::Item>& items);

// The sun over `grid` for an acquisition of `items` sensed at `datetime`. Granule metadata files
// are fetched with `http` (hrefs signed by `sign` when set) only when no item states the angles;
// one that cannot be fetched or read is passed over.
AcquisitionSun acquisition_sun(const std::vector<stac::Item>& items, const Grid& grid,
                               TimePoint datetime, net::HttpClient& http,
                               const ingest::HrefSigner& sign);

}  // namespace s2prep::pipeline
