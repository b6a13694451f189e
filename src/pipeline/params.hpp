#pragma once
// The workflow's parameters (s2prep::WorkflowParams, with the reference's names) as JSON, and
// the parameters file (--params) that sets them.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <s2prep/options.hpp>

namespace s2prep::pipeline {

// The parameters as JSON with their workflow names; pc_key is reported only as set or not.
nlohmann::json params_to_json(const WorkflowParams& params);

// The same for parameters already in memory; `source` names them in messages (e.g. the file).
std::vector<std::string> load_params_text(std::string_view text, const std::string& source,
                                          WorkflowParams& params);

}  // namespace s2prep::pipeline
