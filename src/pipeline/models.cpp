#include "pipeline/models.hpp"

#include <spdlog/spdlog.h>

#include "geo/region_raster.hpp"
#include "mask/model_loading.hpp"
#include "pipeline/stack_file.hpp"

namespace s2prep::pipeline {

LoadedModel load_model(const std::string& spec, mask::ModelKind kind,
                       const std::filesystem::path& model_dir, Engine engine,
                       std::vector<std::string>& notices) {
  LoadedModel m;
  m.resolved = mask::resolve_model(spec, kind, model_dir);
  if (!m.resolved.notice.empty()) {
    spdlog::info("{}", m.resolved.notice);
    notices.push_back(m.resolved.notice);
  }
  if (!m.resolved.builtin) {
    auto loaded = mask::load_model(m.resolved.path, kind, engine);
    m.network = std::move(loaded.model);
    m.engine = loaded.engine;
  }
  spdlog::info(
      "{} model: {}{} on {}", mask::to_string(kind), m.resolved.name,
      m.resolved.sha256.empty() ? "" : " (sha256 " + m.resolved.sha256.substr(0, 12) + "…)",
      m.engine);
  return m;
}

std::optional<std::vector<mask::Chip>> network_chips(const ProcessingOptions& options,
                                                     const Grid& context, const Window& inner,
                                                     const ByteRaster& no_data) {
  if (options.layout != Layout::grid) return std::nullopt;
  // Parsed here, on the thread that uses it (a Region belongs to the thread that made it).
  ByteRaster region = geo::region_pixels(geo::Region::parse(options.request.geometry), context);
  // The output grid covers the region; its edge is the edge of what the outputs show.
  for (int r = 0; r < context.height; ++r) {
    for (int c = 0; c < context.width; ++c) {
      if (r < inner.row || r >= inner.row + inner.height || c < inner.col ||
          c >= inner.col + inner.width) {
        region.data[std::size_t(r) * context.width + c] = 0;
      }
    }
  }
  return mask::plan_context_chips(context.width, context.height, &region, &no_data,
                                  options.dilation_radius);
}

FloatRaster model_probability(LoadedModel& model, mask::ModelKind kind, const BandStack& stack,
                              const StackFile* stack_file, const FloatRaster* cloud,
                              const mask::SunAngles& sun, double cloud_thr,
                              const std::function<void(int, int)>& chip_done,
                              const std::vector<mask::Chip>* chips) {
  if (model.network) {
    mask::ProbabilityOptions options;
    options.progress = chip_done;
    options.chips = chips;
    std::lock_guard turn(*model.busy);
    if (stack_file != nullptr) {
      FileChipSource source(*stack_file);
      return mask::compute_probability(*model.network, kind, source, options);
    }
    mask::BandStackChipSource source(stack);
    return mask::compute_probability(*model.network, kind, source, options);
  }
  if (kind == mask::ModelKind::cloud) return mask::builtin_cloud_probability(stack);
  FloatRaster cloud_prob = cloud ? *cloud : mask::builtin_cloud_probability(stack);
  return mask::builtin_shadow_probability(stack, cloud_prob, sun, cloud_thr);
}

}  // namespace s2prep::pipeline
