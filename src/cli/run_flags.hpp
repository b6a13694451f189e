#pragma once
// The flags `s2prep run` and `s2prep plan` share (everything that determines the outputs), and
// their translation into the library's RunOptions.

#include <CLI/CLI.hpp>
#include <s2prep/options.hpp>
#include <string>

#include "cli/common.hpp"

namespace s2prep::cli {

struct RunFlags {
  CommonOptions common;
  RunOptions options;
  std::string params_file;
  std::string layout = "grid";
  bool no_harmonize = false;
  std::string engine = "auto";
  int threads = 0;
  // Flags that are also parameters-file keys: applied over the file only when given.
  CLI::Option* cloud_thr = nullptr;
  CLI::Option* shadow_thr = nullptr;
  CLI::Option* in_memory = nullptr;
  CLI::Option* cloud_model = nullptr;
  CLI::Option* shadow_model = nullptr;
  CLI::Option* dl_timeout = nullptr;
  WorkflowParams flag_values;

  // Adds the flags to `app`; --geometry, --start and --end are required when `request_required`.
  void add(CLI::App& app, bool request_required);
  // The parameters file, then the flags given over it.
  WorkflowParams resolve_params() const;
  // The options the flags ask for (InputError for a value the library refuses).
  RunOptions resolve() const;
  // The process-wide settings the flags ask for (--threads).
  ProcessSettings process_settings() const;
};

}  // namespace s2prep::cli
