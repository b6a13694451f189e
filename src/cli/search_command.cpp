// `s2prep search`: list the acquisitions the workflow would use, without reading pixels.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "cli/common.hpp"
#include "core/errors.hpp"
#include "net/http_client.hpp"
#include "pipeline/search.hpp"

namespace s2prep::cli {
namespace {

constexpr const char* kIncomplete =
    "The catalogue search may be incomplete (see the warnings), so acquisitions may be missing "
    "from this list: narrow the time range or region and search again.";

// The one JSON object of a search that ended in an error: no acquisitions, and the error.
nlohmann::json error_json(const std::string& message) {
  return {{"acquisitions", nlohmann::json::array()},
          {"skipped", nlohmann::json::array()},
          {"complete", false},
          {"warnings", nlohmann::json::array()},
          {"error", message}};
}

struct SearchCommand {
  CommonOptions common;
  bool json = false;

  int execute() {
    if (!json) return search(false);
    // --json: exactly one object on stdout on every exit, errors included.
    try {
      return search(true);
    } catch (const Error& e) {
      std::cout << error_json(e.what()).dump() << std::endl;
      throw;
    } catch (const std::exception& e) {
      std::cout << error_json(fmt::format("unexpected failure: {}", e.what())).dump() << std::endl;
      throw;
    }
  }

  int search(bool as_json) {
    pipeline::Request request = common.request;
    apply_common_options(common, request.params);
    net::HttpClient http;
    const auto outcome = pipeline::search_all(request, http);
    int status = 0;
    std::string message;
    if (!outcome.complete) {
      status = 1;
      message =
          outcome.nothing_found.empty() ? kIncomplete : outcome.nothing_found + " " + kIncomplete;
    } else if (!outcome.nothing_found.empty()) {
      status = 3;
      message = outcome.nothing_found;
    }
    if (as_json) {
      auto j = pipeline::outcome_to_json(outcome);
      if (status == 1) j["error"] = message;
      std::cout << j.dump() << std::endl;
    } else if (status != 3) {  // nothing to list: the sentence on stderr says why
      print_table(outcome);
    }
    if (status != 0) {
      spdlog::default_logger()->flush();
      std::cerr << "s2prep: error: " << message << std::endl;
    }
    return status;
  }

  static void print_table(const pipeline::SearchOutcome& outcome) {
    const auto& sel = outcome.selection;
    std::cout << fmt::format("{} items found; {} acquisitions selected, {} skipped.\n",
                             outcome.items_found, sel.acquisitions.size(), sel.skipped.size());
    for (const auto& warning : outcome.warnings) {
      std::cout << "WARNING: " << warning << "\n";
    }
    if (!outcome.complete) std::cout << "WARNING: this list may be INCOMPLETE.\n";
    std::cout << "\n";
    std::cout << fmt::format("{:<28} {:>8} {:>6} {:<24} {}\n", "DATETIME", "COVERAGE", "CLOUD",
                             "TILES", "ITEMS");
    for (const auto& acq : sel.acquisitions) {
      std::string tiles;
      for (const auto& t : acq.tiles) tiles += (tiles.empty() ? "" : ",") + t;
      const auto cloud = pipeline::acquisition_cloud_cover(acq);
      const std::string cloud_text = cloud ? fmt::format("{:.1f}%", *cloud) : "-";
      for (std::size_t i = 0; i < acq.items.size(); ++i) {
        if (i == 0) {
          std::cout << fmt::format("{:<28} {:>7.2f}% {:>6} {:<24} {}\n", format_time(acq.datetime),
                                   100.0 * acq.coverage, cloud_text, tiles, acq.items[i].id);
        } else {
          std::cout << fmt::format("{:<28} {:>8} {:>6} {:<24} {}\n", "", "", "", "",
                                   acq.items[i].id);
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
      "List the acquisitions the workflow would use (selected tiles, coverage and cloud cover "
      "per acquisition, and skipped acquisitions with their reason), without reading pixels. "
      "Exit status 1 (with a warning) when the catalogue search may be incomplete.");
  add_common_options(*sub, command->common);
  sub->add_flag("--json", command->json,
                "Print exactly one JSON object {\"acquisitions\": [...], \"skipped\": [...], "
                "\"complete\": true|false, \"warnings\": [...]} on stdout, on every exit (with "
                "an \"error\" member on failure); cloud_cover per acquisition is the largest "
                "eo:cloud_cover of its selected items");
  sub->callback([command, &action] { action = [command] { return command->execute(); }; });
}

bool print_search_parse_error(const CLI::App& app, const std::string& message) {
  const CLI::App* sub = nullptr;
  try {
    sub = app.get_subcommand("search");
  } catch (const CLI::OptionNotFound&) {
    return false;
  }
  if (!sub || !sub->parsed() || sub->count("--json") == 0) return false;
  std::cout << error_json(message).dump() << std::endl;
  return true;
}

}  // namespace s2prep::cli
