#pragma once
// The per-acquisition summary printed after a run (and shown in index.html).

#include <string>

#include "pipeline/run.hpp"

namespace s2prep::pipeline {

std::string summary_table(const RunReport& report);

}  // namespace s2prep::pipeline
