#pragma once
// plan.json: a run frozen for scale-out. It holds everything a worker needs to make its share of
// the outputs without searching again: the full STAC items as the catalogue returned them, the
// resolved request and parameters (never the key), the models (name and sha256) and the
// numbered work units with their grids. Every worker sees the same items even if the catalogue
// changes meanwhile, so its files are byte-identical to what a single run of the plan writes.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <s2prep/options.hpp>
#include <s2prep/results.hpp>

#include "pipeline/models.hpp"
#include "pipeline/output_plan.hpp"
#include "pipeline/search.hpp"

namespace s2prep::pipeline {

inline constexpr const char* kPlanFile = "plan.json";
inline constexpr int kPlanFormat = 1;

struct PlannedModel {
  std::string spec;  // as given: auto, builtin, a file name or a path
  ModelInfo info;    // what it resolved to when planned
};

struct PlanFile {
  RunOptions options;  // request (with the frozen items), parameters and layout
  PlannedModel cloud_model;
  PlannedModel shadow_model;
  std::vector<PlannedOutput> units;  // numbered by position
};

nlohmann::json plan_to_json(const RunOptions& options, const SearchOutcome& outcome,
                            const std::vector<OutputUnit>& units, const LoadedModel& cloud,
                            const LoadedModel& shadow, bool bands_on_disk);

// Reads a plan written by plan_to_json; throws InputError naming the file and what is wrong.
PlanFile read_plan(const std::filesystem::path& file);

// The share of `count` units numbered from `first_number` that shard `shard` runs: every unit
// whose number modulo shard.count is shard.index (a unit is never split; neighbours in time go
// to different shards, which spreads dates with more tiles). Returns positions from 0.
// More units than one feature's plan can sensibly hold (a day's acquisitions for a century, per
// tile): a count above it in a plan index is damage, not work.
inline constexpr std::uint64_t kMostUnitsPerFeature = 10'000'000;

std::vector<std::size_t> shard_units(std::size_t count, const Shard& shard,
                                     std::size_t first_number = 0);

// The plan of a per-feature request: a plan.json per feature in the feature's sub-folder, and at
// the top an index naming the features in order with their unit counts. Units are numbered
// across the features in that order, so shards split them as they split one plan's.
struct FeaturePlan {
  std::string name;  // the sub-folder
  std::size_t units = 0;
};
nlohmann::json feature_index_json(const std::vector<FeaturePlan>& features,
                                  const std::vector<SkippedAcquisition>& skipped);
// The features of an index; nullopt when `file` is the plan of one request.
std::optional<std::vector<FeaturePlan>> read_feature_index(const std::filesystem::path& file);

}  // namespace s2prep::pipeline
