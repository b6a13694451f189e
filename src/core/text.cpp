#include "core/text.hpp"

#include <fmt/format.h>

namespace s2prep {

std::string printable(std::string_view text, std::size_t max_length) {
  std::string out;
  for (const char ch : text) {
    if (out.size() >= max_length) {
      out += "…";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace s2prep
