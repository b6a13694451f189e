#pragma once
// oneDNN (Debian's libdnnl 2.6) as an inference engine for ONNX models with the reference
// contract. The ONNX graph is read with libonnx (mask/onnx_graph.hpp) and lowered, once, to
// oneDNN primitives with blocked memory formats: batch normalisation folded into the
// convolution weights, element-wise operators and residual sums fused as post-ops, Resize
// followed by Add fused into one pass, and every activation buffer planned ahead so that
// buffers are reused between layers and between chips.

#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include <s2prep/errors.hpp>
#include "mask/engine.hpp"

namespace s2prep::mask {

// The model uses something this engine does not implement (an operator, an attribute value, a
// layout). The message is one sentence naming the model and the operator; the OpenCV engine
// may still run the model.
class UnsupportedModelError : public InputError {
 public:
  using InputError::InputError;
};

// oneDNN's CPU runtime in Debian is OpenMP, whose thread count belongs to each calling thread:
// the value set here (process-wide, once at start-up; <= 0 keeps OpenMP's default, all cores or
// OMP_NUM_THREADS) is applied by every oneDNN model on the thread that runs it.
void set_onednn_threads(int threads);

// Loads `file` and checks the reference contract of `kind` (12 x 512 x 512 input, 2 or 1 output
// channels). Throws UnsupportedModelError for an operator or attribute outside what the engine
// implements, InputError for an unreadable file or a broken contract. `batch` chips go through
// each forward pass (SegmentationModel::batch_size(); primitives and buffers are planned once
// for that batch and reused by every pass), with a network of one chip beside it for infer_one;
// a graph that cannot take several chips per pass (the export's batch of 1 written into a
// Reshape, for instance) gets batch_size() 1.
std::unique_ptr<SegmentationModel> load_onednn_model(const std::filesystem::path& file,
                                                     ModelKind kind, int batch = 1);

}  // namespace s2prep::mask
