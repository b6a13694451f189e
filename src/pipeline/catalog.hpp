#pragma once
// The STAC records s2prep writes: one Item per output (acquisition, or acquisition and tile),
// gathered in items.json as an ItemCollection.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <s2prep/grid.hpp>
#include <s2prep/results.hpp>

#include "core/time.hpp"

namespace s2prep::pipeline {

// Per-output figures written into each Item's properties (fractions in percent of the valid
// pixels, coverage as a fraction of the region).
inline constexpr const char* kStatisticKeys[] = {
    "eo:cloud_cover",       "s2prep:coverage",       "s2prep:valid_percent",
    "s2prep:cloud_percent", "s2prep:shadow_percent", "s2prep:product_mask_percent",
    "s2prep:masked_percent"};

// The mean sun position used for the output, and where it came from: "item properties",
// "granule metadata" or "computed" (from the acquisition's time and the grid's centre).
struct SunRecord {
  double zenith_deg = 0;
  double azimuth_deg = 0;  // clockwise from north
  std::string source;
};

struct OutputRecord {
  std::string id;  // e.g. S2_20230601T100559 or S2_20230601T100559_T33UUP
  TimePoint datetime{};
  Grid grid;
  std::vector<std::string> platforms;
  std::vector<std::string> tiles;
  std::vector<SourceItem> sources;
  ModelInfo cloud_model;
  ModelInfo shadow_model;
  double cloud_thr = 0.3;
  double shadow_thr = 0.2;
  nlohmann::json statistics;  // coverage, valid, cloud, shadow, product-mask fractions
  // asset key ("raster", "mask", "product_mask", "cloud_probability", "shadow_probability",
  // "quicklook") -> file name relative to the output folder
  std::vector<std::pair<std::string, std::string>> assets;
  std::string fingerprint;       // of the inputs and parameters that determine the outputs
  std::optional<SunRecord> sun;  // written as s2prep:sun_angles
};

nlohmann::json to_stac_item(const OutputRecord& record);
// Reads back what to_stac_item wrote (for resuming); throws Error when it is not such an Item.
OutputRecord from_stac_item(const nlohmann::json& item);

nlohmann::json item_collection(const std::vector<nlohmann::json>& items);

// Writes text to `path` atomically, in a local folder or object storage (output::write_text).
void write_text_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace s2prep::pipeline
