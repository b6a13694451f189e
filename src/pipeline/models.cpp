#include "pipeline/models.hpp"

#include <spdlog/spdlog.h>

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

FloatRaster model_probability(LoadedModel& model, mask::ModelKind kind, const BandStack& stack,
                              const StackFile* stack_file, const FloatRaster* cloud,
                              const mask::SunAngles& sun, double cloud_thr,
                              const std::function<void(int, int)>& chip_done) {
  if (model.network) {
    mask::ProbabilityOptions options;
    options.progress = chip_done;
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
