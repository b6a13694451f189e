#pragma once
// Runs a command the way a user would from a shell, for tests of the s2prep executable.

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace s2prep::testing {

struct RunResult {
  int exit_code = -1;  // the exit status, or 128 + signal number when killed by a signal
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr
  bool timed_out = false;
};

// Runs argv[0] (searched on PATH) with the given arguments, this process's environment plus
// `extra_env` (which overrides), stdin from /dev/null. Both output streams are drained
// concurrently so a chatty child cannot block on a full pipe. On timeout the child's whole
// process group is killed and `timed_out` is set. Throws std::runtime_error when the command
// cannot be started at all.
RunResult run_process(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& extra_env = {},
                      std::chrono::seconds timeout = std::chrono::seconds(300));

}  // namespace s2prep::testing
