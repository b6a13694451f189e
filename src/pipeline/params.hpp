#pragma once
// The workflow's parameters, with exactly the reference's names (min_tile_cover, cloud_thr, …, as
// the command line and parameters files use them), and the parameters file (--params) that sets
// them.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s2prep::pipeline {

struct WorkflowParams {
  double min_tile_cover = 0.99;
  std::optional<int> max_tiles_per_time;  // none = unlimited
  double cloud_thr = 0.3;
  double shadow_thr = 0.2;
  bool in_memory = false;
  std::string cloud_model = "auto";
  std::string shadow_model = "auto";
  std::optional<std::string> pc_key;  // never printed or written
  double dl_timeout = 120;            // seconds per band read

  // Throws InputError naming the parameter when a value is out of range.
  void validate() const;
  // The parameters as JSON with their workflow names; pc_key is reported only as set or not.
  nlohmann::json to_json() const;
};

// Reads a YAML or JSON parameters file (JSON is read as YAML, its superset). Keys must be the
// workflow's names exactly; an unknown key or a value of the wrong type is an InputError that
// names the file and the key. Only keys present in the file are set in `params`.
// Returns the names of the keys that were set.
std::vector<std::string> load_params_file(const std::filesystem::path& file,
                                          WorkflowParams& params);

// The same for parameters already in memory; `source` names them in messages (e.g. the file).
std::vector<std::string> load_params_text(std::string_view text, const std::string& source,
                                          WorkflowParams& params);

}  // namespace s2prep::pipeline
