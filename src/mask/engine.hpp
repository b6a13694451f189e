#pragma once
// The inference engine behind the cloud and shadow models: a small interface so that another
// engine (ONNX Runtime, a GPU backend) can be added later without touching chipping or merging.

#include <string_view>

namespace s2prep::mask {

// Which of the reference contracts (the reference's cloud.cloud / cloud.shadow tasks) a model
// follows.
enum class ModelKind { cloud, shadow };

constexpr std::string_view to_string(ModelKind kind) {
  return kind == ModelKind::cloud ? "cloud" : "shadow";
}

// Output channels the reference contract requires: 2 logits (softmax, channel 1 = cloud) for
// cloud models, 1 logit (sigmoid) for shadow models.
constexpr int required_output_channels(ModelKind kind) { return kind == ModelKind::cloud ? 2 : 1; }

inline constexpr int kChipSize = 512;   // model input height and width
inline constexpr int kModelBands = 12;  // model input channels, in kBands order

class SegmentationModel {
 public:
  virtual ~SegmentationModel() = default;
  virtual int output_channels() const = 0;
  // Chips per forward pass (N below).
  virtual int batch_size() const { return 1; }
  // `input`: batch_size() chips, float32 NCHW N x 12 x 512 x 512, already scaled for the
  // model's kind. `output`: N x output_channels() x 512 x 512 logits.
  // Not safe to call concurrently on one model object.
  virtual void infer(const float* input, float* output) = 0;
  // One chip (1 x 12 x 512 x 512 in, 1 x output_channels() x 512 x 512 out), whatever
  // batch_size() is: the last chips of a raster, and rasters of a single chip, do not pay for a
  // full batch.
  virtual void infer_one(const float* input, float* output) { infer(input, output); }
};

}  // namespace s2prep::mask
