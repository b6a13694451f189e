#include "cli/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <mutex>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "core/time.hpp"

namespace s2prep::cli {
namespace {

// spdlog's pattern formatter cannot escape the message for JSON, so this sink encodes each
// record with nlohmann::json.
class JsonLinesSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    nlohmann::json record;
    record["time"] = format_time(std::chrono::time_point_cast<std::chrono::microseconds>(msg.time));
    record["level"] = std::string(spdlog::level::to_string_view(msg.level).data(),
                                  spdlog::level::to_string_view(msg.level).size());
    record["message"] = std::string(msg.payload.data(), msg.payload.size());
    const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  void flush_() override { std::fflush(stderr); }
};

class PlainSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  PlainSink() : terminal_(isatty(STDERR_FILENO) != 0) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    // Messages quote catalogue values (ids, tiles, URLs): a newline or an escape sequence in
    // them must not forge log lines or drive the terminal.
    const std::string safe =
        printable(std::string_view(msg.payload.data(), msg.payload.size()), std::string::npos);
    spdlog::details::log_msg escaped = msg;
    escaped.payload = safe;
    spdlog::memory_buf_t formatted;
    formatter_->format(escaped, formatted);
    // On a terminal a live progress line may be showing: clear it so the log line starts at
    // the left edge; the progress display redraws its line on its next update.
    if (terminal_) std::fputs("\r\x1b[K", stderr);
    std::fwrite(formatted.data(), 1, formatted.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  bool terminal_;
};

}  // namespace

void setup_logging(Verbosity verbosity, bool json_lines) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (json_lines) {
    sink = std::make_shared<JsonLinesSink>();
  } else {
    sink = std::make_shared<PlainSink>();
    sink->set_pattern(verbosity == Verbosity::kVerbose ? "%H:%M:%S.%e %^%l%$: %v" : "%^%l%$: %v");
  }
  auto logger = std::make_shared<spdlog::logger>("s2prep", sink);
  switch (verbosity) {
    case Verbosity::kQuiet:
      logger->set_level(spdlog::level::warn);
      break;
    case Verbosity::kNormal:
      logger->set_level(spdlog::level::info);
      break;
    case Verbosity::kVerbose:
      logger->set_level(spdlog::level::debug);
      break;
  }
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace s2prep::cli
