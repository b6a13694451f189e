#pragma once
// GDAL's process-wide configuration, set in exactly one place, and the small RAII pieces every
// stage that touches GDAL needs: an owned dataset handle, a per-thread error capture that turns
// GDAL's errors into one DataError sentence, thread-local configuration overrides, and URL
// redaction so no SAS token ever reaches a message or a log.

#include <gdal.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace s2prep::ingest {

struct GdalOptions {
  // Seconds before one HTTP request is abandoned (GDAL_HTTP_TIMEOUT); the pipeline passes
  // dl_timeout. The whole band read is bounded separately by the reader.
  int http_timeout_s = 120;
  // GDAL's own per-request retries (503, 429, connection resets); 3.6 defaults to none.
  int http_max_retry = 4;
  double http_retry_delay_s = 0.5;
  // GDAL block cache in MB (GDAL_CACHEMAX). 0 picks 256 MB: reads are window-sized and each
  // source block is used once, so a larger cache only costs memory.
  int cache_max_mb = 0;
  // Threads GDAL may use inside one operation (COG compression, overviews). 0: all cores.
  int num_threads = 0;
};

// Registers the drivers and sets the configuration. The first call wins (std::call_once): GDAL's
// configuration is process-wide, so later calls with other options are ignored and return false.
bool configure_gdal(const GdalOptions& options = {});

// The options the process was configured with (defaults when configure_gdal was never called;
// calling this also configures GDAL with the defaults).
const GdalOptions& gdal_options();

// "GDAL 3.6.2" style version string for run.json.
std::string gdal_version();

// Removes the query string (SAS token) from every http(s) URL inside `text`, and any bare
// "sig=..." left over, so that the text may be logged or shown.
std::string redact_urls(std::string_view text);

// GDALClose on destruction.
struct DatasetCloser {
  void operator()(GDALDatasetH ds) const noexcept {
    if (ds != nullptr) GDALClose(ds);
  }
};
using DatasetPtr = std::unique_ptr<std::remove_pointer_t<GDALDatasetH>, DatasetCloser>;

// While alive, GDAL errors and warnings raised on this thread are collected here instead of
// being printed (CPL's handler stack is per thread, so concurrent reads do not mix messages).
class ErrorCapture {
 public:
  ErrorCapture();
  ~ErrorCapture();
  ErrorCapture(const ErrorCapture&) = delete;
  ErrorCapture& operator=(const ErrorCapture&) = delete;

  struct Message {
    CPLErr level;
    int number;
    std::string text;  // already redacted
  };
  const std::vector<Message>& messages() const { return messages_; }
  bool has_failure() const;
  // The failure messages joined with "; " (the last few only), redacted; empty when none.
  std::string failure_text() const;
  // The HTTP status mentioned in the messages ("HTTP response code: 403", "... 503"), or 0.
  int http_status() const;
  void clear() { messages_.clear(); }

 private:
  static void CPL_STDCALL handler(CPLErr level, CPLErrorNum number, const char* text);
  std::vector<Message> messages_;
};

// Sets configuration options for the current thread only while alive
// (CPLSetThreadLocalConfigOption), restoring the previous values after.
class ThreadConfigScope {
 public:
  ThreadConfigScope() = default;
  ~ThreadConfigScope();
  ThreadConfigScope(const ThreadConfigScope&) = delete;
  ThreadConfigScope& operator=(const ThreadConfigScope&) = delete;
  void set(const char* key, const std::string& value);

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace s2prep::ingest
