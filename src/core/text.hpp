#pragma once
// Text from outside (catalogue ids, tiles, URLs) made safe to print.

#include <string>
#include <string_view>

namespace s2prep {

// `text` with control characters shown as \xNN escapes, cut to `max_length` bytes (with "…"):
// safe to put in a log line or a message without forging lines or driving a terminal.
std::string printable(std::string_view text, std::size_t max_length = 120);

}  // namespace s2prep
