#pragma once
// Resuming: an output already in the folder is kept only when it was made from exactly the same
// inputs and parameters (its fingerprint) and every one of its files opens and reads in full.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include <s2prep/options.hpp>

#include "pipeline/models.hpp"
#include "pipeline/output_plan.hpp"

namespace s2prep::pipeline {

// Everything that determines an output's content (version, grid, items and baselines,
// harmonization, models with their sha256 and engine, thresholds, mask options, which files are
// written), hashed.
std::string output_fingerprint(const OutputUnit& unit, const RunOptions& options,
                               const LoadedModel& cloud, const LoadedModel& shadow);

// The output's STAC Item when `unit`'s outputs in `out_dir` are complete for `fingerprint`
// (names alone prove nothing: the sidecar must carry the fingerprint and each asset must read in
// full); nullopt when it must be (re)computed. Reasons are logged.
std::optional<nlohmann::json> complete_output(const OutputUnit& unit,
                                              const std::filesystem::path& out_dir,
                                              const std::string& fingerprint);

}  // namespace s2prep::pipeline
