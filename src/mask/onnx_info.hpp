#pragma once
// Reads the few facts about an ONNX file that OpenCV's importer does not expose or gets wrong:
// the declared input shape (OpenCV ignores it, so a 256 x 256 model would silently run on
// 512 x 512 chips), the opset, and unequal Split nodes (misread by OpenCV 4.6 at opset >= 13,
// measured with OpenCV 4.6). A minimal protobuf walk, so no protobuf library is needed.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace s2prep::mask {

struct OnnxInfo {
  std::string input_name;
  // Declared input dimensions; std::nullopt for a symbolic or unknown dimension.
  std::vector<std::optional<std::int64_t>> input_dims;
  std::int64_t opset = 0;  // default-domain opset
  bool has_unequal_split = false;
};

// Throws std::runtime_error when `bytes` is not a well-formed ONNX ModelProto with a graph
// and at least one non-initializer input (truncated or corrupt files end up here).
OnnxInfo inspect_onnx(std::span<const std::uint8_t> bytes);

}  // namespace s2prep::mask
