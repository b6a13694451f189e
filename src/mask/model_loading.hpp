#pragma once
// Loading a segmentation model with a choice of inference engine.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <s2prep/options.hpp>

#include "mask/engine.hpp"

namespace s2prep::mask {

struct ModelWithEngine {
  std::unique_ptr<SegmentationModel> model;
  std::string engine;  // the engine that runs it: "onednn" or "opencv"
  // Why `automatic` did not pick oneDNN (empty when it did, or when the engine was forced).
  std::string fallback_reason;
};

// Loads `file` for `kind`. `automatic` picks oneDNN, the faster engine on this machine for every
// model it implements (FPN and CheapLab: docs/benchmarks.md), and falls back to OpenCV DNN when
// oneDNN cannot run the model; errors about the file itself (missing, Git LFS pointer, corrupt,
// wrong contract) then come from the OpenCV loader, as with `opencv`.
ModelWithEngine load_model(const std::filesystem::path& file, ModelKind kind, Engine choice);

// Threads for inference, process-wide, set once at start-up before any model runs: OpenCV's
// (cv::setNumThreads) and oneDNN's (OpenMP, applied on each thread that runs a model).
// `threads` <= 0 keeps each library's default (all cores).
void set_model_threads(int threads);

}  // namespace s2prep::mask
