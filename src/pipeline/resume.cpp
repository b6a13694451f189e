#include "pipeline/resume.hpp"

#include <spdlog/spdlog.h>

#include <span>

#include "core/bands.hpp"
#include "core/version.hpp"
#include "mask/model_registry.hpp"
#include "output/cog_writer.hpp"
#include "output/location.hpp"
#include "pipeline/catalog.hpp"

namespace s2prep::pipeline {

std::string output_fingerprint(const OutputUnit& unit, const RunOptions& o,
                               const LoadedModel& cloud, const LoadedModel& shadow) {
  nlohmann::json f;
  f["version"] = kVersion;
  f["grid"] = {unit.grid.epsg, unit.grid.transform, unit.grid.width, unit.grid.height};
  nlohmann::json items = nlohmann::json::array();
  for (const auto& i : unit.items) items.push_back({i.id, i.processing_baseline});
  f["items"] = items;
  f["harmonize"] = o.harmonize;
  // The engine too: two engines agree within 1e-3 in probability, not bit for bit.
  f["cloud_model"] = {cloud.resolved.name, cloud.resolved.sha256, cloud.engine};
  f["shadow_model"] = {shadow.resolved.name, shadow.resolved.sha256, shadow.engine};
  f["cloud_thr"] = o.request.params.cloud_thr;
  f["shadow_thr"] = o.request.params.shadow_thr;
  f["dilation"] = o.dilation_radius;
  f["min_area"] = o.min_area;
  f["context"] = o.context_margin;
  f["keep_probabilities"] = o.keep_probabilities;
  f["quicklook"] = o.quicklook;
  const std::string text = f.dump();
  return mask::sha256_hex(
      std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::optional<nlohmann::json> complete_output(const OutputUnit& unit,
                                              const std::filesystem::path& out_dir,
                                              const std::string& fingerprint) {
  const auto sidecar = out_dir / (unit.name + ".json");
  try {
    const auto text = output::read_text(sidecar);
    if (!text) return std::nullopt;
    const auto item = nlohmann::json::parse(*text);
    const auto record = from_stac_item(item);
    if (record.fingerprint != fingerprint) {
      spdlog::info("{}: parameters or inputs changed since it was written; recomputing", unit.name);
      return std::nullopt;
    }
    for (const auto& [key, href] : record.assets) {
      if (key == "quicklook") {
        if (!output::file_exists(out_dir / href)) return std::nullopt;
        continue;
      }
      const int bands = key == "raster" ? kBandCount : 1;
      const auto type = key == "raster"                ? output::PixelType::UInt16
                        : key.ends_with("probability") ? output::PixelType::Float32
                                                       : output::PixelType::Byte;
      std::string reason;
      if (!output::verify_cog(out_dir / href, unit.grid, bands, type, &reason)) {
        spdlog::warn("{}: {} is incomplete or damaged ({}); recomputing", unit.name, href, reason);
        return std::nullopt;
      }
    }
    return item;
  } catch (const std::exception& e) {
    spdlog::warn("{}: cannot reuse {} ({}); recomputing", unit.name, sidecar.string(), e.what());
    return std::nullopt;
  }
}

}  // namespace s2prep::pipeline
