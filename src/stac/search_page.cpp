#include "stac/search_page.hpp"

#include <fmt/format.h>

#include <s2prep/errors.hpp>
#include "net/http_client.hpp"

namespace s2prep::stac {

using nlohmann::json;

void throw_malformed_search(const std::string& url, std::string_view what, int status) {
  const std::string safe = net::redact_url(url);
  throw RemoteError(fmt::format("The STAC search at {} returned {}; check that --stac-url names a "
                                "STAC API root and try again later.",
                                safe, what),
                    safe, status);
}

std::string resolve_href(const std::string& href, const std::string& base) {
  if (href.find("://") != std::string::npos) return href;
  const auto scheme = base.find("://");
  const auto host_end =
      scheme == std::string::npos ? std::string::npos : base.find('/', scheme + 3);
  const std::string origin = host_end == std::string::npos ? base : base.substr(0, host_end);
  if (!href.empty() && href[0] == '/') return origin + href;
  const std::string path = net::redact_url(base);  // drop the query before taking the folder
  const auto slash = path.rfind('/');
  return (slash == std::string::npos || slash < origin.size() ? origin + "/"
                                                              : path.substr(0, slash + 1)) +
         href;
}

namespace {

std::optional<long long> count_of(const json& doc, const char* key) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
  const long long n = it->get<long long>();
  return n >= 0 ? std::optional<long long>(n) : std::nullopt;
}

}  // namespace

SearchPage parse_search_page(const json& doc, const std::string& url, int status) {
  if (!doc.is_object()) throw_malformed_search(url, "JSON that is not an object", status);
  if (doc.contains("type") && doc["type"] != "FeatureCollection") {
    throw_malformed_search(url, "a document that is not a FeatureCollection", status);
  }
  const auto features = doc.find("features");
  if (features == doc.end() || !features->is_array()) {
    throw_malformed_search(url, "a FeatureCollection without a \"features\" array", status);
  }

  SearchPage page;
  page.items.reserve(features->size());
  for (std::size_t i = 0; i < features->size(); ++i) {
    try {
      page.items.push_back(Item::from_json((*features)[i], i));
    } catch (const RemoteError&) {
      throw;
    } catch (const Error& e) {
      // Keep the item's own diagnosis (before its advice) inside this one sentence.
      std::string what = e.what();
      what = what.substr(0, what.find("; "));
      throw_malformed_search(url, fmt::format("an unusable item ({})", what), status);
    }
  }

  page.matched = count_of(doc, "numberMatched");
  if (!page.matched) {
    if (const auto context = doc.find("context"); context != doc.end() && context->is_object()) {
      page.matched = count_of(*context, "matched");
    }
  }

  const json* next = nullptr;
  if (const auto links = doc.find("links"); links != doc.end() && links->is_array()) {
    for (const auto& link : *links) {
      if (link.is_object() && link.value("rel", "") == "next") {
        next = &link;
        break;
      }
    }
  }
  if (!next) return page;
  const auto href = next->find("href");
  if (href == next->end() || !href->is_string()) {
    throw_malformed_search(url, "a \"next\" link without an href", status);
  }
  NextLink link;
  const auto method = next->find("method");
  if (method != next->end() && !method->is_string()) {
    throw_malformed_search(url, "a \"next\" link whose method is not a string", status);
  }
  link.method = method == next->end() ? "GET" : method->get<std::string>();
  if (link.method != "GET" && link.method != "POST") {
    throw_malformed_search(url, fmt::format("a \"next\" link with method {}", link.method), status);
  }
  link.url = resolve_href(href->get<std::string>(), url);
  if (const auto b = next->find("body"); link.method == "POST" && b != next->end()) {
    if (!b->is_object()) {
      throw_malformed_search(url, "a \"next\" link whose body is not an object", status);
    }
    link.body = *b;
  }
  page.next = std::move(link);
  return page;
}

}  // namespace s2prep::stac
