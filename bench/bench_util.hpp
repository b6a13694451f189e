#pragma once
// Small helpers shared by the benchmark programs: child processes with their resource usage
// (wall time, CPU time, peak resident memory), medians, and plain-text tables.
//
// Children are started with fork/execvp and reaped with wait4, because std::system and
// testing::run_process do not report the child's peak memory (ru_maxrss), which is one of the
// figures the whole-tile comparison is about.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace s2prep::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

struct ChildUsage {
  int exit_code = -1;
  double wall_s = 0;
  double cpu_s = 0;     // user + system
  long max_rss_kb = 0;  // peak resident set size of the child
};

namespace detail {

inline pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int in = open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, 0);
    if (!log_path.empty()) {
      const int out = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (out >= 0) {
        dup2(out, 1);
        dup2(out, 2);
      }
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

inline ChildUsage usage_of(int status, const rusage& ru, double wall_s) {
  ChildUsage u;
  u.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  u.wall_s = wall_s;
  u.cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
            ru.ru_stime.tv_usec * 1e-6;
  u.max_rss_kb = ru.ru_maxrss;
  return u;
}

}  // namespace detail

// Runs argv (searched on PATH), stdout and stderr appended to `log_path` (or inherited when
// empty), and waits for it.
inline ChildUsage run_child(const std::vector<std::string>& argv, const std::string& log_path) {
  const auto t0 = Clock::now();
  const pid_t pid = detail::spawn(argv, log_path);
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) < 0) throw std::runtime_error("wait4 failed");
  return detail::usage_of(status, ru, seconds_since(t0));
}

// Runs every command with at most `parallel` at a time, as `xargs -P parallel` would. Returns
// the usage of each command (wall_s of each is its own) and sets `total_wall_s`.
inline std::vector<ChildUsage> run_children(const std::vector<std::vector<std::string>>& commands,
                                            int parallel, const std::string& log_path,
                                            double* total_wall_s) {
  const auto t0 = Clock::now();
  std::vector<ChildUsage> usages(commands.size());
  std::map<pid_t, std::pair<std::size_t, Clock::time_point>> running;
  std::size_t next = 0;
  while (next < commands.size() || !running.empty()) {
    while (next < commands.size() && static_cast<int>(running.size()) < std::max(1, parallel)) {
      running[detail::spawn(commands[next], log_path)] = {next, Clock::now()};
      ++next;
    }
    int status = 0;
    rusage ru{};
    const pid_t pid = wait4(-1, &status, 0, &ru);
    if (pid < 0) throw std::runtime_error("wait4 failed");
    auto it = running.find(pid);
    if (it == running.end()) continue;
    usages[it->second.first] = detail::usage_of(status, ru, seconds_since(it->second.second));
    running.erase(it);
  }
  if (total_wall_s) *total_wall_s = seconds_since(t0);
  return usages;
}

// A plain-text table: the first row is the header; columns are padded to their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string str() const {
    std::vector<std::size_t> width;
    for (const auto& r : rows_) {
      if (width.size() < r.size()) width.resize(r.size(), 0);
      for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    }
    std::string out;
    for (std::size_t k = 0; k < rows_.size(); ++k) {
      const auto& r = rows_[k];
      for (std::size_t i = 0; i < r.size(); ++i) {
        std::string cell = r[i];
        // First column left-aligned (labels), the others right-aligned (figures).
        if (i == 0)
          cell.resize(width[i], ' ');
        else
          cell = std::string(width[i] - cell.size(), ' ') + cell;
        out += cell;
        out += i + 1 < r.size() ? "  " : "\n";
      }
      if (k == 0) {
        std::size_t total = 0;
        for (auto w : width) total += w + 2;
        out += std::string(total > 2 ? total - 2 : 0, '-') + "\n";
      }
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace s2prep::bench
