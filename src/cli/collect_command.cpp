// `s2prep collect`: after the shards of a plan, write items.json from the complete outputs and
// say which units are missing (exit 1 while any is).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <s2prep/s2prep.hpp>

#include "cli/common.hpp"

namespace s2prep::cli {
namespace {

struct CollectCommand {
  std::filesystem::path out_dir;

  int execute(bool quiet_logging) {
    const CollectResult result = collect(out_dir);
    if (!quiet_logging) {
      std::cout << fmt::format("{} of {} units complete; catalogue: {}\n", result.complete.size(),
                               result.units, result.items_json.string());
    }
    if (result.missing.empty()) return 0;
    for (const auto& name : result.missing) std::cerr << "missing: " << name << "\n";
    std::cerr << fmt::format(
        "s2prep: error: {} of the plan's {} units are missing from {}; run their shards again "
        "(s2prep run --plan skips the complete ones).\n",
        result.missing.size(), result.units, out_dir.string());
    return 1;
  }
};

}  // namespace

void register_collect_command(CLI::App& app, std::function<int()>& action) {
  auto c = std::make_shared<CollectCommand>();
  CLI::App* sub = app.add_subcommand(
      "collect",
      "After the shards of a plan: write items.json from the complete outputs in --out and list "
      "the plan's units that are missing (exit 1 while any is).");
  sub->add_option("--out", c->out_dir, "The plan's output folder (or s3://bucket/prefix)")
      ->required();
  sub->callback([c, &action, &app] {
    const bool quiet = app.get_option("--quiet")->as<bool>();
    action = [c, quiet] { return c->execute(quiet); };
  });
}

}  // namespace s2prep::cli
