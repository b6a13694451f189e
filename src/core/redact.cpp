#include "core/redact.hpp"

#include <array>
#include <cctype>

namespace s2prep {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_quote(char c) { return c == '\'' || c == '"'; }

// Where a URL that starts at `start` inside a text ends: at whitespace, a quote, or a ':' that
// ends a clause ("...?sig=x: 403"); tokens carry their own colons percent-encoded.
std::size_t url_end(std::string_view text, std::size_t start) {
  std::size_t i = start;
  while (i < text.size()) {
    const char c = text[i];
    if (is_space(c) || is_quote(c)) break;
    if (c == ':' && (i + 1 == text.size() || is_space(text[i + 1]))) break;
    ++i;
  }
  return i;
}

// The query parameters of an Azure SAS token.
constexpr std::array<std::string_view, 12> kSasKeys{"sig", "se",  "st",  "skoid", "sktid", "skt",
                                                    "ske", "sks", "skv", "sv",    "sp",    "sr"};

// Length of a "key=value" SAS parameter (with its trailing '&') starting at `i`, or 0.
std::size_t sas_parameter_length(std::string_view text, std::size_t i) {
  if (i > 0 && std::isalnum(static_cast<unsigned char>(text[i - 1]))) return 0;
  for (const auto key : kSasKeys) {
    if (text.compare(i, key.size(), key) != 0 || i + key.size() >= text.size() ||
        text[i + key.size()] != '=') {
      continue;
    }
    std::size_t end = i + key.size() + 1;
    while (end < text.size() && text[end] != '&' && !is_space(text[end]) && !is_quote(text[end])) {
      ++end;
    }
    if (end < text.size() && text[end] == '&') ++end;
    return end - i;
  }
  return 0;
}

std::string shortened(std::string text) {
  if (text.size() <= kMaxRedactedText) return text;
  constexpr std::string_view kEllipsis = " [...] ";
  const std::size_t tail = kMaxRedactedText / 4;
  const std::size_t head = kMaxRedactedText - tail - kEllipsis.size();
  return text.substr(0, head) + std::string(kEllipsis) + text.substr(text.size() - tail);
}

}  // namespace

std::string redact_url(std::string_view url) {
  const auto cut = url.find_first_of("?#");
  std::string out(url.substr(0, cut));
  // Credentials in the authority ("https://user:pass@host/") are as secret as a token.
  const auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    const auto start = scheme + 3;
    const auto end = out.find('/', start);
    const auto at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at >= start) out.erase(start, at + 1 - start);
  }
  return out;
}

std::string redact_text(std::string_view text) {
  std::string urls_done;
  urls_done.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto http = text.find("http", i);
    if (http == std::string_view::npos) break;
    const std::string_view rest = text.substr(http);
    if (!rest.starts_with("http://") && !rest.starts_with("https://")) {
      urls_done.append(text.substr(i, http + 4 - i));
      i = http + 4;
      continue;
    }
    const std::size_t end = url_end(text, http);
    urls_done.append(text.substr(i, http - i));
    urls_done.append(redact_url(text.substr(http, end - http)));
    i = end;
  }
  urls_done.append(text.substr(std::min(i, text.size())));

  // A token may also appear on its own (e.g. in a local path or a curl message).
  if (urls_done.find("sig=") == std::string::npos) return shortened(std::move(urls_done));
  std::string out;
  out.reserve(urls_done.size());
  for (std::size_t j = 0; j < urls_done.size();) {
    const std::size_t skip = sas_parameter_length(urls_done, j);
    if (skip > 0) {
      j += skip;
    } else {
      out.push_back(urls_done[j++]);
    }
  }
  return shortened(std::move(out));
}

}  // namespace s2prep
