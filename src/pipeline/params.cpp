#include "pipeline/params.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iterator>
#include <set>
#include <utility>

#include <s2prep/errors.hpp>

namespace s2prep::pipeline {
namespace {

const std::set<std::string>& known_keys() {
  static const std::set<std::string> keys{
      "min_tile_cover", "max_tiles_per_time", "cloud_thr", "shadow_thr", "in_memory",
      "cloud_model",    "shadow_model",       "pc_key",    "dl_timeout"};
  return keys;
}

std::string what_it_is(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return fmt::format("'{}'", node.Scalar());
  }
}

template <class T>
T scalar_as(const YAML::Node& node, const std::string& source, const std::string& key,
            const char* expected) {
  if (node.IsScalar()) {
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
    }
  }
  throw InputError(fmt::format("Parameter '{}' in {} must be {}, not {}.", key, source, expected,
                               what_it_is(node)));
}

}  // namespace

nlohmann::json params_to_json(const WorkflowParams& params) {
  nlohmann::json j;
  j["min_tile_cover"] = params.min_tile_cover;
  j["max_tiles_per_time"] = params.max_tiles_per_time ? nlohmann::json(*params.max_tiles_per_time)
                                                      : nlohmann::json(nullptr);
  j["cloud_thr"] = params.cloud_thr;
  j["shadow_thr"] = params.shadow_thr;
  j["in_memory"] = params.in_memory;
  j["cloud_model"] = params.cloud_model;
  j["shadow_model"] = params.shadow_model;
  j["pc_key"] = params.pc_key ? nlohmann::json("(set, not shown)") : nlohmann::json(nullptr);
  j["dl_timeout"] = params.dl_timeout;
  return j;
}

std::vector<std::string> load_params_text(std::string_view text, const std::string& source,
                                          WorkflowParams& params) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("The parameters file {} is not valid YAML or JSON (line {}: {}).",
                                 source, e.mark.line + 1, e.msg));
  }
  if (root.IsNull()) return {};
  if (!root.IsMap()) {
    throw InputError(fmt::format(
        "The parameters file {} must be a mapping of parameter names to values.", source));
  }
  std::vector<std::string> set_keys;
  for (const auto& entry : root) {
    if (!entry.first.IsScalar()) {
      throw InputError(
          fmt::format("The parameters file {} has a key that is {}, not a parameter name.", source,
                      what_it_is(entry.first)));
    }
    const auto key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    if (!known_keys().count(key)) {
      throw InputError(fmt::format(
          "Unknown parameter '{}' in {}; the parameters are min_tile_cover, max_tiles_per_time, "
          "cloud_thr, shadow_thr, in_memory, cloud_model, shadow_model, pc_key, dl_timeout.",
          key, source));
    }
    if (key == "min_tile_cover") {
      params.min_tile_cover = scalar_as<double>(value, source, key, "a number");
    } else if (key == "max_tiles_per_time") {
      if (value.IsNull() ||
          (value.IsScalar() && (value.Scalar() == "none" || value.Scalar() == "None"))) {
        params.max_tiles_per_time.reset();
      } else {
        params.max_tiles_per_time = scalar_as<int>(value, source, key, "an integer or null");
      }
    } else if (key == "cloud_thr") {
      params.cloud_thr = scalar_as<double>(value, source, key, "a number");
    } else if (key == "shadow_thr") {
      params.shadow_thr = scalar_as<double>(value, source, key, "a number");
    } else if (key == "in_memory") {
      params.in_memory = scalar_as<bool>(value, source, key, "true or false");
    } else if (key == "cloud_model") {
      params.cloud_model = scalar_as<std::string>(value, source, key, "a model file name or path");
    } else if (key == "shadow_model") {
      params.shadow_model = scalar_as<std::string>(value, source, key, "a model file name or path");
    } else if (key == "pc_key") {
      if (value.IsNull()) {
        params.pc_key.reset();
      } else {
        params.pc_key = scalar_as<std::string>(value, source, key, "a string");
      }
    } else if (key == "dl_timeout") {
      params.dl_timeout = scalar_as<double>(value, source, key, "a number of seconds");
    }
    set_keys.push_back(key);
  }
  return set_keys;
}

}  // namespace s2prep::pipeline

namespace s2prep {

std::vector<std::string> load_params_file(const std::filesystem::path& file,
                                          WorkflowParams& params) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw InputError(
        fmt::format("Cannot read the parameters file {}; check the path.", file.string()));
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return pipeline::load_params_text(text, file.string(), params);
}

}  // namespace s2prep
