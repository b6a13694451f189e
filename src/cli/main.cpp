// s2prep: the command-line shell over the s2prep library. One file per subcommand
// (search_command.cpp, run_command.cpp, plan_command.cpp, collect_command.cpp,
// models_command.cpp); this file only dispatches.
#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>

#include "cli/common.hpp"
#include "cli/interrupt.hpp"
#include "cli/logging.hpp"
#include "core/version.hpp"

int main(int argc, char** argv) {
  using namespace s2prep::cli;
  install_interrupt_handling();
  CLI::App app{
      "s2prep: analysis-ready Sentinel-2 L2A imagery (12 bands at 10 m) and cloud/shadow masks "
      "for a region and a time range, reading only the pixels it needs.",
      "s2prep"};
  app.set_version_flag("--version", s2prep::kVersion);
  app.require_subcommand(1);
  bool quiet = false;
  bool verbose = false;
  bool log_json = false;
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors")->configurable(false);
  app.add_flag("-v,--verbose", verbose, "Debug output");
  app.add_flag("--log-json", log_json, "Log one JSON object per line on stderr (for pipelines)");
  app.fallthrough();

  std::function<int()> action;
  register_search_command(app, action);
  register_run_command(app, action);
  register_plan_command(app, action);
  register_collect_command(app, action);
  register_models_command(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    print_search_parse_error(app, e.what());
    app.exit(e);
    return 2;  // exit status 2: bad arguments
  }
  setup_logging(quiet     ? Verbosity::kQuiet
                : verbose ? Verbosity::kVerbose
                          : Verbosity::kNormal,
                log_json);
  return run_guarded(action, log_json);
}
