// mask::inspect_onnx: the bytes of a model file given by --cloud-model / --shadow-model.
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "mask/onnx_info.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)s2prep::mask::inspect_onnx(std::span<const std::uint8_t>(data, size));
  } catch (const std::runtime_error&) {
  }
  return 0;
}
