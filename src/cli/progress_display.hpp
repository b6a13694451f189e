#pragma once
// Shows a run's progress: on a terminal, one live status line per stage (bytes and throughput
// while reading, chips while inferring) with an estimate of the time left; otherwise plain log
// lines at a sensible rate (stage changes, and at most one line per 10 s).

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include <s2prep/results.hpp>

namespace s2prep::cli {

class ProgressDisplay {
 public:
  explicit ProgressDisplay(bool quiet);
  ProgressCallback callback();
  void finish();  // clears the live line

 private:
  void update(const Progress& p);
  std::string render(const Progress& p, double stage_seconds, double seconds_left) const;

  bool quiet_;
  bool live_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_line_{};
  // Per acquisition (several are in flight): its current stage and when that stage began.
  std::map<std::size_t, std::pair<std::string, std::chrono::steady_clock::time_point>> stages_;
  std::size_t last_width_ = 0;
};

}  // namespace s2prep::cli
