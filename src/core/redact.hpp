#pragma once
// The one place that makes URLs and texts holding URLs safe to log and show: signed blob URLs
// carry SAS tokens in their query string, and a URL may carry user:password@. Everything here is
// a single linear scan (no regular expressions: libstdc++'s std::regex recurses once per
// character and overflows the stack on a URL of a few tens of kilobytes).

#include <cstddef>
#include <string>
#include <string_view>

namespace s2prep {

// The URL without query string, fragment or user:password@ part. Not shortened: callers also
// take the folder of a redacted URL to resolve relative links.
std::string redact_url(std::string_view url);

// Longest text redact_text returns; longer texts keep their head and tail around an ellipsis so
// that the start of a message and a status at its end ("...: 403") both survive.
inline constexpr std::size_t kMaxRedactedText = 4096;

// `text` with every http(s) URL in it redacted as by redact_url, and any bare SAS parameter
// ("sig=...&se=...") removed, shortened to kMaxRedactedText characters.
std::string redact_text(std::string_view text);

}  // namespace s2prep
