#include "mask/model_loading.hpp"

#include <spdlog/spdlog.h>

#include <s2prep/errors.hpp>
#include "mask/onednn_engine.hpp"
#include "mask/opencv_engine.hpp"

namespace s2prep::mask {

ModelWithEngine load_model(const std::filesystem::path& file, ModelKind kind, Engine choice) {
  if (choice == Engine::opencv) return {load_opencv_model(file, kind), "opencv", {}};
  if (choice == Engine::onednn) return {load_onednn_model(file, kind, kOneDnnBatch), "onednn", {}};
  try {
    return {load_onednn_model(file, kind, kOneDnnBatch), "onednn", {}};
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
