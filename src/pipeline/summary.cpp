#include "pipeline/summary.hpp"

#include <fmt/format.h>

namespace s2prep::pipeline {

std::string summary_table(const RunResult& report) {
  std::string out =
      fmt::format("{:<11} {:<14} {:>8} {:>7} {:>7} {:>7} {:>8} {:>7}  {}\n", "DATE", "TILES",
                  "COVERAGE", "VALID", "CLOUD", "SHADOW", "PRODUCT", "MASKED", "MODELS");
  for (const auto& o : report.outputs) {
    std::string tiles;
    for (const auto& t : o.tiles) tiles += (tiles.empty() ? "" : ",") + t;
    out += fmt::format(
        "{:<11} {:<14} {:>7.1f}% {:>6.1f}% {:>6.1f}% {:>6.1f}% {:>7.1f}% {:>6.1f}%  {}{}\n",
        o.datetime.substr(0, 10), tiles, 100 * o.coverage, 100 * o.valid_fraction,
        100 * o.cloud_fraction, 100 * o.shadow_fraction, 100 * o.product_mask_fraction,
        100 * o.masked_fraction,
        o.cloud_model == o.shadow_model ? o.cloud_model : o.cloud_model + " / " + o.shadow_model,
        o.resumed ? " (resumed)" : "");
  }
  for (const auto& s : report.skipped) {
    out += fmt::format("{:<11} skipped: {}{}\n", s.datetime.substr(0, 10),
                       s.feature.empty() ? "" : "feature " + s.feature + ": ", s.reason);
  }
  // How the models were chosen, when that deserves a word (auto fell back to the built-in
  // detector, a file's checksum differs from the reference's).
  for (const auto& notice : report.notices) out += "Note: " + notice + "\n";
  out +=
      "\nCloud, shadow, product and masked are percentages of the valid pixels; valid of the "
      "grid.\n";
  return out;
}

}  // namespace s2prep::pipeline
