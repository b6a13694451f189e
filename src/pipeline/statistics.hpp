#pragma once
// The figures of one output (valid, cloud, shadow, product-mask and masked fractions), as the
// summary table, the STAC Item's properties and a resumed output's record give them.

#include <nlohmann/json.hpp>

#include <s2prep/results.hpp>

#include "core/raster.hpp"
#include "pipeline/output_plan.hpp"

namespace s2prep::pipeline {

// Counted over the output grid: valid pixels are those the mask does not call no data; the
// other fractions are of valid pixels.
OutputSummary summarize(const OutputUnit& unit, const ByteRaster& mask, const ByteRaster& product,
                        const FloatRaster& cloud, const FloatRaster& shadow, double cloud_thr,
                        double shadow_thr);

// The STAC Item properties of the figures (eo:cloud_cover and s2prep:*_percent).
nlohmann::json statistics_json(const OutputSummary& summary);

// The figures back from an output's STAC Item (a resumed output).
OutputSummary summary_from_item(const nlohmann::json& item, const OutputUnit& unit);

}  // namespace s2prep::pipeline
