#pragma once
// OpenCV DNN (4.6) as the inference engine for ONNX models with the reference contract.

#include <filesystem>
#include <memory>

#include "mask/engine.hpp"

namespace s2prep::mask {

// OpenCV's thread count is process-global (cv::setNumThreads; the backend is TBB), so it is
// not a property of one model: the pipeline calls this once at start-up, before any inference,
// and nothing else in s2prep calls cv::setNumThreads. `threads` <= 0 keeps OpenCV's default
// (all cores).
void set_inference_threads(int threads);

// Loads `file` and checks it against the reference contract of `kind`, throwing InputError
// with one sentence naming the file for each way it can be unusable: missing, a Git LFS
// pointer, not loadable (truncated or corrupt), input not 12 x 512 x 512, output channels not
// 2 (cloud) or 1 (shadow), or an opset-13 Split that OpenCV 4.6 would misread.
// Runs one dry forward pass on a zero chip (about 0.5 s for the FPN models).
std::unique_ptr<SegmentationModel> load_opencv_model(const std::filesystem::path& file,
                                                     ModelKind kind);

}  // namespace s2prep::mask
