// `s2prep run`: the whole workflow, writing rasters, masks and STAC records to --out; or, with
// --plan, one shard of a plan's units.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <optional>
#include <s2prep/s2prep.hpp>

#include "cli/common.hpp"
#include "cli/interrupt.hpp"
#include "cli/progress_display.hpp"
#include "cli/run_flags.hpp"
#include "output/location.hpp"
#include "pipeline/params.hpp"
#include "pipeline/session.hpp"
#include "pipeline/summary.hpp"

namespace s2prep::cli {
namespace {

struct RunCommand {
  RunFlags flags;
  bool print_params = false;
  std::string plan_file;
  std::string shard;
  std::optional<int> shard_count;

  int execute(bool quiet_logging) {
    if (!plan_file.empty()) return run_plan_shard(quiet_logging);
    RunOptions options = flags.resolve();
    if (print_params) {
      const auto resolved = pipeline::with_environment_defaults(options.request);
      std::cout << pipeline::params_to_json(resolved.params).dump(2) << std::endl;
      return 0;
    }
    const std::pair<const std::string*, const char*> required[] = {
        {&options.request.geometry, "--geometry"},
        {&options.request.start, "--start"},
        {&options.request.end, "--end"}};
    for (const auto& [value, flag] : required) {
      if (value->empty()) {
        throw InputError(fmt::format("{} is required (or --plan to run a plan's units).", flag));
      }
    }
    if (options.out_dir.empty()) throw InputError("--out is required.");
    initialize(flags.process_settings());
    set_interrupt_cleanup_folder(output::scratch_folder(options.out_dir));
    ProgressDisplay display(quiet_logging);
    const auto report = s2prep::run(options, display.callback());
    display.finish();
    if (!quiet_logging) {
      std::cout << pipeline::summary_table(report) << std::flush;
      std::cout << fmt::format("\nOutputs in {} (catalogue: {})\n", options.out_dir.string(),
                               report.items_json.string());
    }
    return 0;
  }

  int run_plan_shard(bool quiet_logging) {
    const auto& request = flags.common.request;
    if (!request.geometry.empty() || !request.start.empty() || !request.end.empty()) {
      throw InputError(
          "--plan runs the request the plan holds: give --geometry, --start, --end and the "
          "workflow's parameters to s2prep plan, not to run --plan.");
    }
    PlanRunOptions options;
    options.shard = shard.empty() ? shard_from_environment(shard_count) : parse_shard(shard);
    if (!shard.empty() && shard_count && *shard_count != options.shard.count) {
      throw InputError(
          fmt::format("--shard {} and --shard-count {} disagree.", shard, *shard_count));
    }
    options.out_dir = flags.options.out_dir;
    options.model_dir = flags.options.model_dir;
    options.jobs = flags.options.jobs;
    options.acquisitions_in_flight = flags.options.acquisitions_in_flight;
    options.memory_limit_bytes = flags.options.memory_limit_bytes;
    options.force = flags.options.force;
    initialize(flags.process_settings());
    const std::filesystem::path plan_path(plan_file);
    set_interrupt_cleanup_folder(output::scratch_folder(
        options.out_dir.empty() ? plan_path.parent_path() : options.out_dir));
    ProgressDisplay display(quiet_logging);
    const auto report = run_plan(plan_path, options, display.callback());
    display.finish();
    if (!quiet_logging) {
      std::cout << pipeline::summary_table(report) << std::flush;
      std::cout << fmt::format("\nShard {}/{}: {} outputs\n", options.shard.index,
                               options.shard.count, report.outputs.size());
    }
    return 0;
  }
};

}  // namespace

void register_run_command(CLI::App& app, std::function<int()>& action) {
  auto c = std::make_shared<RunCommand>();
  CLI::App* sub = app.add_subcommand(
      "run",
      "Run the workflow: for every selected acquisition, write a 12-band 10 m raster and a "
      "cloud/shadow mask (Cloud-Optimized GeoTIFFs) and a STAC catalogue items.json to --out. "
      "With --plan, make one shard of the units of a plan written by s2prep plan.");
  c->flags.add(*sub, false);
  sub->add_option(
      "--out", c->flags.options.out_dir,
      "Output folder (created if missing), or s3://bucket/prefix (GDAL's AWS_* settings); "
      "with --plan, default: the plan's folder");
  sub->add_flag("--print-params", c->print_params,
                "Print the resolved parameters as JSON (without the key) and exit");
  sub->add_option("--plan", c->plan_file,
                  "Run the units of this plan.json (written by s2prep plan): its frozen items, "
                  "parameters and grids; no search (a local file, or s3://bucket/prefix/plan.json)")
      // Object storage is checked when the plan is read, with a sentence on what to set.
      ->check(CLI::Validator(
          [](std::string& file) {
            return output::is_remote(file) ? std::string() : CLI::ExistingFile(file);
          },
          "FILE"));
  sub->add_option("--shard", c->shard,
                  "With --plan: make shard I of N (I/N, 0 <= I < N): the units whose number "
                  "modulo N is I. Default: from SLURM_ARRAY_TASK_ID (minus "
                  "SLURM_ARRAY_TASK_MIN, of SLURM_ARRAY_TASK_COUNT), JOB_COMPLETION_INDEX or "
                  "AWS_BATCH_JOB_ARRAY_INDEX");
  sub->add_option("--shard-count", c->shard_count,
                  "With --plan: the number of shards when the engine does not give it "
                  "(default from S2PREP_SHARD_COUNT)")
      ->check(CLI::Range(1, 1000000));
  sub->callback([c, &action, &app] {
    const bool quiet = app.get_option("--quiet")->as<bool>();
    action = [c, quiet] { return c->execute(quiet); };
  });
}

}  // namespace s2prep::cli
