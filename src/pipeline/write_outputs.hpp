#pragma once
// Writing one output into the output folder: the 12-band raster, the mask, the product mask and
// optionally the probabilities as COGs, an optional quicklook, and last the STAC Item sidecar
// whose presence marks the output complete.

#include <nlohmann/json.hpp>
#include <string>

#include <s2prep/options.hpp>
#include <s2prep/results.hpp>

#include "pipeline/models.hpp"
#include "pipeline/output_plan.hpp"
#include "pipeline/produce.hpp"

namespace s2prep::pipeline {

class OutputFolder;

// Writes `produced` for `unit` into options.out_dir (the folder's old sidecar of the unit is
// retracted first) and returns the output's STAC Item; `summary` goes into its properties.
nlohmann::json write_outputs(const OutputUnit& unit, const ProducedOutput& produced,
                             const OutputSummary& summary, const RunOptions& options,
                             const LoadedModel& cloud_model, const LoadedModel& shadow_model,
                             const std::string& fingerprint, OutputFolder& folder);

}  // namespace s2prep::pipeline
