#include "mask/model_loading.hpp"

#include <spdlog/spdlog.h>

#include "core/errors.hpp"
#include "mask/onednn_engine.hpp"
#include "mask/opencv_engine.hpp"

namespace s2prep::mask {

EngineChoice parse_engine_choice(std::string_view text) {
  if (text == "auto") return EngineChoice::automatic;
  if (text == "onednn") return EngineChoice::onednn;
  if (text == "opencv") return EngineChoice::opencv;
  throw InputError("--engine '" + std::string(text) +
                   "' is not an inference engine: use auto, onednn or opencv.");
}

std::string_view to_string(EngineChoice choice) {
  switch (choice) {
    case EngineChoice::automatic:
      return "auto";
    case EngineChoice::onednn:
      return "onednn";
    case EngineChoice::opencv:
      return "opencv";
  }
  return "auto";
}

ModelWithEngine load_model(const std::filesystem::path& file, ModelKind kind, EngineChoice choice) {
  if (choice == EngineChoice::opencv) return {load_opencv_model(file, kind), "opencv", {}};
  if (choice == EngineChoice::onednn) return {load_onednn_model(file, kind), "onednn", {}};
  try {
    return {load_onednn_model(file, kind), "onednn", {}};
  } catch (const Error& e) {
    ModelWithEngine loaded{load_opencv_model(file, kind), "opencv", e.what()};
    spdlog::info("{} runs on OpenCV DNN: {}", file.filename().string(), e.what());
    return loaded;
  }
}

void set_model_threads(int threads) {
  set_inference_threads(threads);
  set_onednn_threads(threads);
}

}  // namespace s2prep::mask
