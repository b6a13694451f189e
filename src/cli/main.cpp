// s2prep: the command-line shell over the s2prep library. One file per subcommand.
#include <CLI/CLI.hpp>

#include <iostream>

#include "core/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"s2prep: analysis-ready Sentinel-2 imagery and cloud/shadow masks for a region"};
  app.set_version_flag("--version", s2prep::kVersion);
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
