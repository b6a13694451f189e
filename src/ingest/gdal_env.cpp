#include "ingest/gdal_env.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string>
#include <string_view>

#include "core/redact.hpp"

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
  // GDAL 3.6 builds the COG and GTiff drivers' creation option lists on their first query,
  // without a lock, and GDALCreate/GDALCreateCopy query them to validate options: a thread
  // asking while another builds the list found none (an output then lost its ZSTD compression,
  // the same pixels in other bytes). Built here, once, before any caller's threads use GDAL.
  for (const char* name : {"COG", "GTiff"}) {
    if (GDALDriverH driver = GDALGetDriverByName(name)) {
      GDALGetMetadataItem(driver, GDAL_DMD_CREATIONOPTIONLIST, nullptr);
    }
  }
  // Opening a COG must not list its "directory" or probe for .aux.xml/.ovr sidecars: on blob
  // storage that is several extra requests per band (measured: 10 -> 4 requests for a small
  // window).
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
  // The downloaded ranges every /vsicurl/ file shares (GDAL's default: 16 MB). A whole tile is
  // read in strips: the 20 and 60 m rows just past a strip's edge (bilinear needs them) lie in
  // the next strip's blocks, fetched again for that strip unless still cached; about one strip
  // of all bands (130 MB compressed for a tile) is read in between. A user's own setting wins.
  if (CPLGetConfigOption("CPL_VSIL_CURL_CACHE_SIZE", nullptr) == nullptr) {
    CPLSetConfigOption("CPL_VSIL_CURL_CACHE_SIZE", std::to_string(256 << 20).c_str());
  }
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

std::string redact_urls(std::string_view text) { return redact_text(text); }

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

namespace {

// The status in "HTTP response code on <url>: 403" or "HTTP error code : 503": the number after
// the first ':' that ends a clause (followed by whitespace) after the lead. The URL's own colons
// ("https:", ":8080") never are, and a shortened URL may hold spaces. 0 when none.
// A scan rather than a regular expression: the message may hold a URL of any length.
int status_in(std::string_view text) {
  const auto space = [&](std::size_t k) {
    return k < text.size() && std::isspace(static_cast<unsigned char>(text[k]));
  };
  const auto digit = [&](std::size_t k) {
    return k < text.size() && std::isdigit(static_cast<unsigned char>(text[k]));
  };
  int found = 0;
  for (const std::string_view lead : {"HTTP response code", "HTTP error code"}) {
    for (auto at = text.find(lead); at != std::string_view::npos; at = text.find(lead, at + 1)) {
      std::size_t i = at + lead.size();
      while (true) {
        i = text.find(':', i);
        if (i == std::string_view::npos || space(i + 1)) break;
        ++i;
      }
      if (i == std::string_view::npos) continue;
      ++i;
      while (space(i)) ++i;
      if (!digit(i) || text[i] < '1' || text[i] > '5' || !digit(i + 1) || !digit(i + 2)) continue;
      if (i + 3 < text.size() &&
          (std::isalnum(static_cast<unsigned char>(text[i + 3])) || text[i + 3] == '_')) {
        continue;
      }
      found = (text[i] - '0') * 100 + (text[i + 1] - '0') * 10 + (text[i + 2] - '0');
    }
  }
  return found;
}

}  // namespace

int ErrorCapture::http_status() const {
  int found = 0;
  for (const auto& m : messages_) {
    if (const int status = status_in(m.text)) found = status;
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
