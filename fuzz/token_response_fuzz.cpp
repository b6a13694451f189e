// stac::parse_token_response: the body of the SAS token service's answer.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "stac/signing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto response = s2prep::stac::parse_token_response(
        std::string_view(reinterpret_cast<const char*>(data), size));
    if (response.token.empty()) __builtin_trap();  // an empty token must be refused
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
