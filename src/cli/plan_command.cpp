// `s2prep plan`: search and select once, and write the units of work to --out/plan.json for
// `s2prep run --plan` on a cluster.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <s2prep/s2prep.hpp>

#include "cli/common.hpp"
#include "cli/run_flags.hpp"

namespace s2prep::cli {
namespace {

struct PlanCommand {
  RunFlags flags;

  int execute(bool quiet_logging) {
    const RunOptions options = flags.resolve();
    initialize(flags.process_settings());
    const Plan plan = write_plan(options);
    PlannedOutput largest;  // the largest figures of any unit
    std::uint64_t output_total = 0;
    for (const auto& unit : plan.outputs) {
      largest.memory_bytes = std::max(largest.memory_bytes, unit.memory_bytes);
      largest.scratch_bytes = std::max(largest.scratch_bytes, unit.scratch_bytes);
      largest.output_bytes = std::max(largest.output_bytes, unit.output_bytes);
      output_total += unit.output_bytes;
    }
    if (!quiet_logging) {
      std::cout << fmt::format(
          "{} units from {} acquisitions ({} skipped).\nPer unit at most: {} of memory, {} of "
          "local scratch disk, {} of outputs (uncompressed; about {} for all units).\n"
          "Each unit's estimates are in the plan (memory_bytes, scratch_bytes, output_bytes).\n"
          "Plan: {}\nRun it with: s2prep run --plan {} --shard I/N   (or as a Slurm array / "
          "Kubernetes Indexed Job), then s2prep collect --out {}\n",
          plan.outputs.size(), plan.search.acquisitions.size(), plan.search.skipped.size(),
          human_bytes(largest.memory_bytes), human_bytes(largest.scratch_bytes),
          human_bytes(largest.output_bytes), human_bytes(output_total),
          (options.out_dir / "plan.json").string(), (options.out_dir / "plan.json").string(),
          options.out_dir.string());
    }
    return 0;
  }
};

}  // namespace

void register_plan_command(CLI::App& app, std::function<int()>& action) {
  auto c = std::make_shared<PlanCommand>();
  CLI::App* sub = app.add_subcommand(
      "plan",
      "Search and select once, and write --out/plan.json: the frozen STAC items, the grids, the "
      "resolved parameters (never the key), the models and the numbered units of work for "
      "s2prep run --plan on a cluster.");
  c->flags.add(*sub, true);
  sub->add_option(
         "--out", c->flags.options.out_dir,
         "Output folder (created if missing), or s3://bucket/prefix (GDAL's AWS_* settings)")
      ->required();
  sub->callback([c, &action, &app] {
    const bool quiet = app.get_option("--quiet")->as<bool>();
    action = [c, quiet] { return c->execute(quiet); };
  });
}

}  // namespace s2prep::cli
