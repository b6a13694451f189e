// `s2prep search`: list the acquisitions the workflow would use, without reading pixels.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include <s2prep/s2prep.hpp>
#include "cli/common.hpp"
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
    Request request = common.request;
    apply_common_options(common, request.params);
    const auto result = s2prep::search(request);
    int status = 0;
    std::string message;
    if (!result.complete) {
      status = 1;
      message =
          result.nothing_found.empty() ? kIncomplete : result.nothing_found + " " + kIncomplete;
    } else if (!result.nothing_found.empty()) {
      status = 3;
      message = result.nothing_found;
    }
    if (as_json) {
      auto j = pipeline::search_json(result);
      if (status == 1) j["error"] = message;
      std::cout << j.dump() << std::endl;
    } else if (status != 3) {  // nothing to list: the sentence on stderr says why
      print_table(result);
    }
    if (status != 0) {
      spdlog::default_logger()->flush();
      std::cerr << "s2prep: error: " << message << std::endl;
    }
    return status;
  }

  static void print_table(const SearchResult& result) {
    std::cout << fmt::format("{} items found; {} acquisitions selected, {} skipped.\n",
                             result.items_found, result.acquisitions.size(), result.skipped.size());
    for (const auto& warning : result.warnings) {
      std::cout << "WARNING: " << warning << "\n";
    }
    if (!result.complete) std::cout << "WARNING: this list may be INCOMPLETE.\n";
    std::cout << "\n";
    std::cout << fmt::format("{:<28} {:>8} {:>6} {:<24} {}\n", "DATETIME", "COVERAGE", "CLOUD",
                             "TILES", "ITEMS");
    for (const auto& acq : result.acquisitions) {
      std::string tiles;
      for (const auto& t : acq.tiles) tiles += (tiles.empty() ? "" : ",") + t;
      const std::string cloud_text =
          acq.cloud_cover ? fmt::format("{:.1f}%", *acq.cloud_cover) : "-";
      for (std::size_t i = 0; i < acq.item_ids.size(); ++i) {
        if (i == 0) {
          std::cout << fmt::format("{:<28} {:>7.2f}% {:>6} {:<24} {}\n", acq.datetime,
                                   100.0 * acq.coverage, cloud_text, tiles, acq.item_ids[i]);
        } else {
          std::cout << fmt::format("{:<28} {:>8} {:>6} {:<24} {}\n", "", "", "", "",
                                   acq.item_ids[i]);
        }
      }
    }
    if (!result.skipped.empty()) {
      std::cout << "\nSkipped:\n";
      for (const auto& s : result.skipped) {
        std::cout << fmt::format("{:<28} {} ({} items)\n", s.datetime, s.reason, s.item_ids.size());
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
