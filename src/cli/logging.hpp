#pragma once
// Log output of the command-line tool: human lines on stderr, or one JSON object per line
// (--log-json) for pipelines. Set once at start-up, before any work.

namespace s2prep::cli {

enum class Verbosity { kQuiet, kNormal, kVerbose };

void setup_logging(Verbosity verbosity, bool json_lines);

}  // namespace s2prep::cli
