#pragma once
// run.json: what the latest run of an output folder asked for and how it ended. Written when the
// run starts (status "running"), so a run killed midway never leaves an earlier run's record
// claiming to describe the folder, and again when it completes.

#include <s2prep/options.hpp>
#include <s2prep/results.hpp>

#include "pipeline/models.hpp"
#include "pipeline/search.hpp"

namespace s2prep::pipeline {

void write_run_started(const RunOptions& options, const geo::Region& region);

void write_run_complete(const RunOptions& options, const SearchOutcome& outcome,
                        const LoadedModel& cloud, const LoadedModel& shadow,
                        const RunResult& result);

}  // namespace s2prep::pipeline
