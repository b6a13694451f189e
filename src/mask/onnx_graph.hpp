#pragma once
// Reads an ONNX model with the ONNX project's own protobuf classes (libonnx-dev) and folds the
// small integer sub-graphs that exporters emit to compute shapes (Shape -> Gather -> Concat ->
// Resize sizes): with the chip size fixed, those are constants, so an engine only ever sees
// tensor operators with static shapes.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
class NodeProto;
class TensorProto;
}  // namespace onnx

namespace s2prep::mask {

// A constant tensor: an initializer, a Constant node or a folded shape computation.
// Float data stays float (weights); integer types are widened to int64 (shapes, indices).
struct ConstTensor {
  std::vector<std::int64_t> dims;
  bool is_float = true;
  std::vector<float> f;
  std::vector<std::int64_t> i;

  std::size_t count() const;
  double at(std::size_t k) const { return is_float ? double(f[k]) : double(i[k]); }
};

class OnnxModel {
 public:
  // Throws std::runtime_error when `bytes` is not an ONNX model this reader understands.
  explicit OnnxModel(std::span<const std::uint8_t> bytes);
  ~OnnxModel();
  OnnxModel(const OnnxModel&) = delete;
  OnnxModel& operator=(const OnnxModel&) = delete;

  const onnx::ModelProto& proto() const { return *model_; }
  std::int64_t opset() const { return opset_; }
  // The one graph input that is not an initializer, and the first graph output.
  const std::string& input_name() const { return input_name_; }
  const std::string& output_name() const { return output_name_; }

 private:
  std::unique_ptr<onnx::ModelProto> model_;
  std::int64_t opset_ = 0;
  std::string input_name_;
  std::string output_name_;
};

ConstTensor read_tensor(const onnx::TensorProto& tensor);

// Attribute accessors; `fallback` when the attribute is absent.
std::int64_t attr_int(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback);
float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback);
std::string attr_string(const onnx::NodeProto& node, const std::string& name,
                        const std::string& fallback);
std::vector<std::int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name);
std::optional<ConstTensor> attr_tensor(const onnx::NodeProto& node, const std::string& name);

// Evaluates `node` when every input is constant and its operator is one of the shape-arithmetic
// operators (Constant, Gather, Cast, Unsqueeze, Squeeze, Concat, Slice, Add, Sub, Mul, Div,
// Floor, Identity). `inputs[k]` is null for an absent optional input.
// Returns std::nullopt when the operator is not foldable.
std::optional<ConstTensor> fold_constant(const onnx::NodeProto& node,
                                         const std::vector<const ConstTensor*>& inputs);

}  // namespace s2prep::mask
