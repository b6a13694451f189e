#pragma once
// Flags shared by the subcommands (geometry, time range, services, key, tile selection).

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include <s2prep/options.hpp>

namespace s2prep::cli {

// Collects the common flags; `apply` copies the ones the user gave into a Request, so a
// parameters file can be applied first and flags given on the command line win.
struct CommonOptions {
  Request request;
  CLI::Option* min_tile_cover = nullptr;
  CLI::Option* max_tiles_per_time = nullptr;
  CLI::Option* pc_key = nullptr;
  double min_tile_cover_value = 0.99;
  int max_tiles_per_time_value = 0;
  std::string pc_key_value;
};

// Adds --geometry, --start, --end, --stac-url, --token-url, --collection, --pc-key,
// --min-tile-cover, --max-tiles-per-time, --max-cloud-cover to `app`, with defaults from the
// environment (S2PREP_STAC_URL, S2PREP_TOKEN_URL, PC_SDK_SUBSCRIPTION_KEY).
void add_common_options(CLI::App& app, CommonOptions& options, bool request_required = true);

// Copies the flags the user gave over `params` (command line wins over a parameters file).
void apply_common_options(const CommonOptions& options, WorkflowParams& params);

// Runs a subcommand body, turning s2prep errors into the contract's exit codes with one line on
// stderr.
// `json_lines`: --log-json, the error is one JSON object like the log lines.
int run_guarded(const std::function<int()>& body, bool json_lines);

// After a command-line error: when `search --json` was asked for, prints the one JSON object
// of a failed search (with `message` as its error) on stdout and returns true.
bool print_search_parse_error(const CLI::App& app, const std::string& message);

// Registration of each subcommand (one file each).
// "1.23 GB", "512 MB", "0 B": sizes for people, in powers of 1000.
std::string human_bytes(std::uint64_t bytes);

void register_search_command(CLI::App& app, std::function<int()>& action);
void register_run_command(CLI::App& app, std::function<int()>& action);
void register_plan_command(CLI::App& app, std::function<int()>& action);
void register_collect_command(CLI::App& app, std::function<int()>& action);
void register_models_command(CLI::App& app, std::function<int()>& action);

}  // namespace s2prep::cli
