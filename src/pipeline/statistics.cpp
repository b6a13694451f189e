#include "pipeline/statistics.hpp"

#include <algorithm>
#include <cmath>

#include "core/bands.hpp"
#include "core/time.hpp"

namespace s2prep::pipeline {

OutputSummary summarize(const OutputUnit& unit, const ByteRaster& mask, const ByteRaster& product,
                        const FloatRaster& cloud, const FloatRaster& shadow, double cloud_thr,
                        double shadow_thr) {
  std::size_t valid = 0, clouds = 0, shadows = 0, flagged = 0, masked = 0;
  const std::size_t n = mask.band_size();
  for (std::size_t i = 0; i < n; ++i) {
    if (mask.data[i] == mask_value::kNoData) continue;
    ++valid;
    if (cloud.data[i] > cloud_thr) ++clouds;
    if (shadow.data[i] > shadow_thr) ++shadows;
    const auto pm = product.data[i];
    if (pm != product_mask::kClear && pm != product_mask::kNoData) ++flagged;
    if (mask.data[i] == mask_value::kMasked) ++masked;
  }
  OutputSummary s;
  s.datetime = format_time(unit.acquisition->datetime);
  s.name = unit.name;
  s.tiles = unit.tiles;
  for (const auto& i : unit.items) s.item_ids.push_back(i.id);
  s.coverage = unit.acquisition->coverage;
  const double v = std::max<std::size_t>(valid, 1);
  s.valid_fraction = n ? double(valid) / n : 0;
  s.cloud_fraction = clouds / v;
  s.shadow_fraction = shadows / v;
  s.product_mask_fraction = flagged / v;
  s.masked_fraction = masked / v;
  return s;
}

nlohmann::json statistics_json(const OutputSummary& s) {
  auto pct = [](double f) { return std::round(f * 1e5) / 1e3; };
  return {{"eo:cloud_cover", pct(s.cloud_fraction)},
          {"s2prep:coverage", std::round(s.coverage * 1e4) / 1e4},
          {"s2prep:valid_percent", pct(s.valid_fraction)},
          {"s2prep:cloud_percent", pct(s.cloud_fraction)},
          {"s2prep:shadow_percent", pct(s.shadow_fraction)},
          {"s2prep:product_mask_percent", pct(s.product_mask_fraction)},
          {"s2prep:masked_percent", pct(s.masked_fraction)}};
}

OutputSummary summary_from_item(const nlohmann::json& item, const OutputUnit& unit) {
  const auto& p = item.at("properties");
  OutputSummary s;
  s.datetime = p.at("datetime").get<std::string>();
  s.name = unit.name;
  s.tiles = unit.tiles;
  for (const auto& i : unit.items) s.item_ids.push_back(i.id);
  s.coverage = p.value("s2prep:coverage", 0.0);
  s.valid_fraction = p.value("s2prep:valid_percent", 0.0) / 100;
  s.cloud_fraction = p.value("s2prep:cloud_percent", 0.0) / 100;
  s.shadow_fraction = p.value("s2prep:shadow_percent", 0.0) / 100;
  s.product_mask_fraction = p.value("s2prep:product_mask_percent", 0.0) / 100;
  s.masked_fraction = p.value("s2prep:masked_percent", 0.0) / 100;
  s.cloud_model = p.at("s2prep:cloud_model").value("name", "");
  s.shadow_model = p.at("s2prep:shadow_model").value("name", "");
  return s;
}

}  // namespace s2prep::pipeline
