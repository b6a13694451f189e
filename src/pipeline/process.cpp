// The process-wide settings, applied once: GDAL's configuration (drivers, cache, HTTP behaviour)
// and the inference engines' thread pools are global to the process by nature, so they are not
// options of a call.
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

#include <s2prep/s2prep.hpp>

#include "core/version.hpp"
#include "ingest/gdal_env.hpp"
#include "mask/model_loading.hpp"

namespace s2prep {
namespace {

// The library logs through spdlog's default logger; a caller's handler receives its lines.
class HandlerSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit HandlerSink(LogHandler handler) : handler_(std::move(handler)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const LogLevel level = msg.level >= spdlog::level::err    ? LogLevel::error
                           : msg.level == spdlog::level::warn ? LogLevel::warning
                           : msg.level == spdlog::level::info ? LogLevel::info
                                                              : LogLevel::debug;
    handler_(level, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  LogHandler handler_;
};

spdlog::level::level_enum spdlog_level(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return spdlog::level::debug;
    case LogLevel::info:
      return spdlog::level::info;
    case LogLevel::warning:
      return spdlog::level::warn;
    case LogLevel::error:
      break;
  }
  return spdlog::level::err;
}

}  // namespace

void set_log_handler(LogHandler handler, LogLevel min_level) {
  std::shared_ptr<spdlog::logger> logger;
  if (handler) {
    logger = std::make_shared<spdlog::logger>("s2prep",
                                              std::make_shared<HandlerSink>(std::move(handler)));
  } else {
    logger = std::make_shared<spdlog::logger>(
        "s2prep", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  }
  logger->set_level(spdlog_level(min_level));
  spdlog::set_default_logger(std::move(logger));
}

const char* version() { return kVersion; }

bool initialize(const ProcessSettings& settings) {
  static std::once_flag once;
  bool first = false;
  std::call_once(once, [&] {
    first = true;
    ingest::GdalOptions gdal;
    gdal.cache_max_mb = settings.gdal_cache_mb;
    gdal.num_threads = settings.gdal_threads;
    ingest::configure_gdal(gdal);
    if (settings.inference_threads > 0) mask::set_model_threads(settings.inference_threads);
  });
  return first;
}

}  // namespace s2prep
