// `s2prep search`: list the acquisitions the workflow would use, without reading pixels.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/common.hpp"
#include "net/http_client.hpp"
#include "pipeline/search.hpp"

namespace s2prep::cli {
namespace {

struct SearchCommand {
  CommonOptions common;
  bool json = false;

  int execute() {
    pipeline::Request request = common.request;
    apply_common_options(common, request.params);
    net::HttpClient http;
    const auto outcome = pipeline::search(request, http);
    if (json) {
      std::cout << pipeline::selection_to_json(outcome.selection).dump() << std::endl;
      return 0;
    }
    print_table(outcome);
    return 0;
  }

  static void print_table(const pipeline::SearchOutcome& outcome) {
    const auto& sel = outcome.selection;
    std::cout << fmt::format("{} items found; {} acquisitions selected, {} skipped.\n\n",
                             outcome.items_found, sel.acquisitions.size(), sel.skipped.size());
    std::cout << fmt::format("{:<28} {:>8} {:<24} {}\n", "DATETIME", "COVERAGE", "TILES", "ITEMS");
    for (const auto& acq : sel.acquisitions) {
      std::string tiles;
      for (const auto& t : acq.tiles) tiles += (tiles.empty() ? "" : ",") + t;
      for (std::size_t i = 0; i < acq.items.size(); ++i) {
        if (i == 0) {
          std::cout << fmt::format("{:<28} {:>7.2f}% {:<24} {}\n", format_time(acq.datetime),
                                   100.0 * acq.coverage, tiles, acq.items[i].id);
        } else {
          std::cout << fmt::format("{:<28} {:>8} {:<24} {}\n", "", "", "", acq.items[i].id);
        }
      }
    }
    if (!sel.skipped.empty()) {
      std::cout << "\nSkipped:\n";
      for (const auto& s : sel.skipped) {
        std::cout << fmt::format("{:<28} {} ({} items)\n", format_time(s.datetime), s.reason,
                                 s.item_ids.size());
      }
    }
  }
};

}  // namespace

void register_search_command(CLI::App& app, std::function<int()>& action) {
  auto command = std::make_shared<SearchCommand>();
  CLI::App* sub = app.add_subcommand(
      "search",
      "List the acquisitions the workflow would use (selected tiles and coverage per "
      "acquisition, and skipped acquisitions with their reason), without reading pixels.");
  add_common_options(*sub, command->common);
  sub->add_flag("--json", command->json,
                "Print exactly one JSON object {\"acquisitions\": [...], \"skipped\": [...]} on "
                "stdout");
  sub->callback([command, &action] { action = [command] { return command->execute(); }; });
}

}  // namespace s2prep::cli
