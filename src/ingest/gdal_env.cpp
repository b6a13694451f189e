#include "ingest/gdal_env.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>

#include <algorithm>
#include <mutex>
#include <regex>
#include <string>

namespace s2prep::ingest {

namespace {

struct GdalState {
  std::once_flag once;
  GdalOptions options;
};

GdalState& state() {
  static GdalState s;
  return s;
}

void apply(const GdalOptions& o) {
  GDALAllRegister();
  // Opening a COG must not list its "directory" or probe for .aux.xml/.ovr sidecars: on blob
  // storage that is several extra requests per band (ENGINEERING-NOTES: 10 -> 4 requests).
  CPLSetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");
  CPLSetConfigOption("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".tif,.TIF,.tiff,.TIFF");
  // GDAL 3.6 does not retry by default: a single 503 ServerBusy would fail the read.
  CPLSetConfigOption("GDAL_HTTP_MAX_RETRY", std::to_string(o.http_max_retry).c_str());
  CPLSetConfigOption("GDAL_HTTP_RETRY_DELAY", std::to_string(o.http_retry_delay_s).c_str());
  // The parallel multi-range path does not retry (it falls back to block-by-block reads after
  // noisy errors); SERIAL does. Parallelism comes from our own pool over bands and tiles, so
  // nothing is lost by serialising the ranges of one band read.
  CPLSetConfigOption("GDAL_HTTP_MULTIRANGE", "SERIAL");
  CPLSetConfigOption("GDAL_HTTP_TIMEOUT", std::to_string(std::max(1, o.http_timeout_s)).c_str());
  CPLSetConfigOption("GDAL_HTTP_CONNECTTIMEOUT",
                     std::to_string(std::clamp(o.http_timeout_s, 1, 30)).c_str());
  // A server dripping a few bytes a second is never silent, so only the total timeout would end
  // it; less than 1 KB/s over this long is abandoned (and retried) like a stall.
  CPLSetConfigOption("GDAL_HTTP_LOW_SPEED_TIME",
                     std::to_string(std::clamp(o.http_timeout_s, 1, 30)).c_str());
  CPLSetConfigOption("GDAL_HTTP_LOW_SPEED_LIMIT", "1024");
  // GDAL 3.6 has no option restricting the protocols /vsicurl/ follows redirects to: libcurl's
  // default applies (http, https, ftp, ftps; never file:// or gopher://). Hrefs themselves are
  // checked before GDAL sees them (only http(s) hrefs from a remote catalogue are opened).
  // Cache the COG header and the blocks read by one dataset so the warper's and RasterIO's
  // overlapping block requests do not go to the network twice.
  CPLSetConfigOption("VSI_CACHE", "TRUE");
  const int cache_mb = o.cache_max_mb > 0 ? o.cache_max_mb : 256;
  GDALSetCacheMax64(static_cast<GIntBig>(cache_mb) * 1024 * 1024);
  // GDAL_NUM_THREADS is deliberately not set globally: it would also make every warp and every
  // GTiff decode multi-threaded inside our own bounded pool (jobs x cores threads). The COG
  // writer passes NUM_THREADS explicitly instead. CPL_VSIL_CURL_USE_HEAD is left at its default:
  // NO makes GDAL stream whole files.
}

}  // namespace

bool configure_gdal(const GdalOptions& options) {
  bool first = false;
  std::call_once(state().once, [&] {
    state().options = options;
    apply(options);
    first = true;
  });
  return first;
}

const GdalOptions& gdal_options() {
  configure_gdal();
  return state().options;
}

std::string gdal_version() { return std::string("GDAL ") + GDALVersionInfo("RELEASE_NAME"); }

std::string redact_urls(std::string_view text) {
  // The query ends at whitespace, a quote, or a ':' that ends a clause ("...?sig=x: 403"); tokens
  // carry their own colons percent-encoded.
  static const std::regex url_query(R"((https?://[^\s?'"]*)\?(?:[^\s'":]|:(?![\s]|$))*)");
  static const std::regex bare_sig(
      R"((sig|se|st|skoid|sktid|skt|ske|sks|skv|sv|sp|sr)=[^&\s'"]*(&|))");
  std::string out = std::regex_replace(std::string(text), url_query, "$1");
  // A token may also appear on its own (e.g. in a local path or a curl message).
  if (out.find("sig=") != std::string::npos) out = std::regex_replace(out, bare_sig, "");
  return out;
}

// ---------------------------------------------------------------------------------------------

ErrorCapture::ErrorCapture() { CPLPushErrorHandlerEx(&ErrorCapture::handler, this); }

ErrorCapture::~ErrorCapture() { CPLPopErrorHandler(); }

void CPL_STDCALL ErrorCapture::handler(CPLErr level, CPLErrorNum number, const char* text) {
  auto* self = static_cast<ErrorCapture*>(CPLGetErrorHandlerUserData());
  if (self == nullptr || level == CE_Debug) return;
  self->messages_.push_back(Message{level, number, redact_urls(text ? text : "")});
}

bool ErrorCapture::has_failure() const {
  return std::any_of(messages_.begin(), messages_.end(),
                     [](const Message& m) { return m.level >= CE_Failure; });
}

std::string ErrorCapture::failure_text() const {
  std::vector<const Message*> failures;
  for (const auto& m : messages_) {
    if (m.level >= CE_Failure) failures.push_back(&m);
  }
  // Block-by-block fallbacks repeat the same error many times: the last three say enough.
  const std::size_t first = failures.size() > 3 ? failures.size() - 3 : 0;
  std::string out;
  for (std::size_t i = first; i < failures.size(); ++i) {
    if (!out.empty()) out += "; ";
    out += failures[i]->text;
  }
  return out;
}

int ErrorCapture::http_status() const {
  // "HTTP response code on <url>: 403", "HTTP error code : 503": the URL itself holds digits and
  // colons, so the code is the number after the last ": ".
  static const std::regex status(
      R"(HTTP (?:response|error) code(?: on \S+)?\s*:\s+([1-5][0-9][0-9])\b)");
  int found = 0;
  for (const auto& m : messages_) {
    std::smatch match;
    if (std::regex_search(m.text, match, status)) found = std::stoi(match[1].str());
  }
  return found;
}

// ---------------------------------------------------------------------------------------------

ThreadConfigScope::~ThreadConfigScope() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
    CPLSetThreadLocalConfigOption(it->first.c_str(), it->second ? it->second->c_str() : nullptr);
  }
}

void ThreadConfigScope::set(const char* key, const std::string& value) {
  const char* previous = CPLGetThreadLocalConfigOption(key, nullptr);
  saved_.emplace_back(key, previous ? std::optional<std::string>(previous) : std::nullopt);
  CPLSetThreadLocalConfigOption(key, value.c_str());
}

}  // namespace s2prep::ingest
