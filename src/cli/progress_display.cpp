#include "cli/progress_display.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace s2prep::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Share of an acquisition's time each stage takes, for the estimate of the time left. Reading
// and inference dominate; the split is rough and only shapes the estimate between stages.
double stage_start_fraction(const std::string& stage) {
  if (stage == "read") return 0.0;
  if (stage == "inference") return 0.4;
  if (stage == "write") return 0.9;
  return 0.0;
}
double stage_weight(const std::string& stage) {
  if (stage == "read") return 0.4;
  if (stage == "inference") return 0.5;
  if (stage == "write") return 0.1;
  return 0.0;
}

std::string human_duration(double s) {
  if (s < 0 || s > 360000) return "--:--";
  const int total = static_cast<int>(s + 0.5);
  if (total >= 3600)
    return fmt::format("{}:{:02d}:{:02d}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02d}", total / 60, total % 60);
}

}  // namespace

ProgressDisplay::ProgressDisplay(bool quiet)
    : quiet_(quiet),
      live_(!quiet && isatty(STDERR_FILENO) && std::getenv("TERM") != nullptr),
      start_(Clock::now()) {}

ProgressCallback ProgressDisplay::callback() {
  return [this](const Progress& p) { update(p); };
}

std::string ProgressDisplay::render(const Progress& p, double stage_seconds,
                                    double seconds_left) const {
  std::string detail;
  if (p.stage == "read") {
    // GDAL 3.6 exposes no per-request byte counts, so reading progress is counted in band
    // reads (each one window of one band of one tile) and their rate.
    const double rate = stage_seconds > 0.05 ? p.done / stage_seconds : 0;
    detail = p.total > 0
                 ? fmt::format("reading band {:.0f}/{:.0f} ({:.1f} bands/s)", p.done, p.total, rate)
                 : std::string("reading");
  } else if (p.stage == "inference") {
    detail = p.total > 0 ? fmt::format("inference chip {:.0f}/{:.0f}", p.done, p.total)
                         : std::string("inference");
  } else if (p.stage == "search") {
    detail = "searching the catalogue";
  } else {
    detail = p.stage;
  }
  std::string where;
  if (p.acquisition_count > 0) {
    where = fmt::format("[{}/{}] {} ", p.acquisition_index + 1, p.acquisition_count,
                        p.acquisition.substr(0, 19));
  }
  std::string eta;
  if (seconds_left >= 0) eta = fmt::format("  ~{} left", human_duration(seconds_left));
  return where + detail + eta;
}

void ProgressDisplay::update(const Progress& p) {
  if (quiet_) return;
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  auto& [stage, stage_start] = stages_[p.acquisition_index];
  const bool new_stage = p.stage != stage;
  if (new_stage) {
    stage = p.stage;
    stage_start = now;
  }
  const double stage_seconds = std::chrono::duration<double>(now - stage_start).count();
  // Estimate: elapsed time over the fraction of all acquisitions done so far.
  double seconds_left = -1;
  if (p.acquisition_count > 0) {
    double within = stage_start_fraction(p.stage);
    if (p.total > 0) within += stage_weight(p.stage) * std::clamp(p.done / p.total, 0.0, 1.0);
    const double done_fraction =
        (static_cast<double>(p.acquisition_index) + within) / p.acquisition_count;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    if (done_fraction > 0.02 && elapsed > 2)
      seconds_left = elapsed * (1 - done_fraction) / done_fraction;
  }
  const std::string line = render(p, stage_seconds, seconds_left);
  if (live_) {
    if (!new_stage && now - last_line_ < std::chrono::milliseconds(100)) return;
    last_line_ = now;
    last_width_ = line.size();
    std::fprintf(stderr, "\r\x1b[K%s", line.c_str());
    std::fflush(stderr);
    return;
  }
  if (new_stage || now - last_line_ >= std::chrono::seconds(10)) {
    last_line_ = now;
    spdlog::info("{}", line);
  }
}

void ProgressDisplay::finish() {
  std::lock_guard lock(mutex_);
  if (live_ && last_width_ > 0) {
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
  }
}

}  // namespace s2prep::cli
