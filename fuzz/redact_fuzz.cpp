// redact_text / redact_url: every GDAL error message and every reported URL goes through them.
// Besides not crashing, a redacted text must be short and hold no SAS signature value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/redact.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto redacted = s2prep::redact_text(text);
  if (redacted.size() > s2prep::kMaxRedactedText) __builtin_trap();
  const auto url = s2prep::redact_url(text);
  if (url.find('?') != std::string::npos || url.find('#') != std::string::npos) __builtin_trap();
  return 0;
}
