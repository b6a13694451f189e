#pragma once
// The per-acquisition summary printed after a run (and shown in index.html).

#include <string>

#include <s2prep/results.hpp>

namespace s2prep::pipeline {

std::string summary_table(const RunResult& report);

}  // namespace s2prep::pipeline
