// Parsing and validation of the public options: the one place that decides what a valid request
// is, for the command line, the Python module and C++ callers alike.
#include <fmt/format.h>

#include <cstdlib>
#include <optional>

#include <nlohmann/json.hpp>

#include <s2prep/errors.hpp>
#include <s2prep/options.hpp>

namespace s2prep {
namespace {

bool is_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

// A whole non-negative number, or nullopt.
std::optional<long> whole_number(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

}  // namespace

Shard parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  const auto index = whole_number(text.substr(0, slash));
  const auto count =
      slash == std::string_view::npos ? std::nullopt : whole_number(text.substr(slash + 1));
  if (!index || !count || *count < 1 || *index >= *count) {
    throw InputError(fmt::format(
        "--shard '{}' is not a shard: give I/N with 0 <= I < N, e.g. 0/4 for the first of four.",
        text));
  }
  return {static_cast<int>(*index), static_cast<int>(*count)};
}

Shard shard_from_environment(std::optional<int> count) {
  auto number = [](const char* name) -> std::optional<long> {
    const auto value = environment(name);
    if (!value) return std::nullopt;
    const auto n = whole_number(*value);
    if (!n) {
      throw InputError(fmt::format("{}='{}' is not a whole number.", name, *value));
    }
    return n;
  };
  std::optional<long> index, engine_count;
  if (const auto task = number("SLURM_ARRAY_TASK_ID")) {
    index = *task - number("SLURM_ARRAY_TASK_MIN").value_or(0);
    engine_count = number("SLURM_ARRAY_TASK_COUNT");
  } else if (const auto k8s = number("JOB_COMPLETION_INDEX")) {
    index = k8s;
  } else if (const auto aws = number("AWS_BATCH_JOB_ARRAY_INDEX")) {
    index = aws;
  }
  if (!index) {
    throw InputError(
        "No shard given: pass --shard I/N, or run as a Slurm array task (SLURM_ARRAY_TASK_ID), "
        "a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or an AWS Batch array job "
        "(AWS_BATCH_JOB_ARRAY_INDEX).");
  }
  std::optional<long> n = count ? std::optional<long>(*count) : engine_count;
  if (!n) n = number("S2PREP_SHARD_COUNT");
  if (!n) {
    throw InputError(fmt::format(
        "Shard {} of how many? Pass --shard-count N or set S2PREP_SHARD_COUNT (the number of "
        "tasks of the job).",
        *index));
  }
  if (*n < 1 || *index < 0 || *index >= *n) {
    throw InputError(
        fmt::format("Shard {} of {} does not exist; shards are 0 to N-1.", *index, *n));
  }
  return {static_cast<int>(*index), static_cast<int>(*n)};
}

Layout parse_layout(std::string_view text) {
  if (text == "grid") return Layout::grid;
  if (text == "tile") return Layout::tile;
  throw InputError(fmt::format("--layout must be grid or tile, not '{}'.", text));
}

Engine parse_engine(std::string_view text) {
  if (text == "auto") return Engine::automatic;
  if (text == "onednn") return Engine::onednn;
  if (text == "opencv") return Engine::opencv;
  throw InputError(
      fmt::format("--engine '{}' is not an inference engine: use auto, onednn or opencv.", text));
}

std::string_view to_string(Layout layout) { return layout == Layout::grid ? "grid" : "tile"; }

std::string_view to_string(Engine engine) {
  switch (engine) {
    case Engine::onednn:
      return "onednn";
    case Engine::opencv:
      return "opencv";
    case Engine::automatic:
      break;
  }
  return "auto";
}

void WorkflowParams::validate() const {
  if (!(min_tile_cover > 0.0 && min_tile_cover <= 1.0)) {
    throw InputError(fmt::format(
        "min_tile_cover must be a fraction in (0, 1], not {}; e.g. 0.99 for 99 % of the region.",
        min_tile_cover));
  }
  if (max_tiles_per_time && *max_tiles_per_time < 1) {
    throw InputError(
        fmt::format("max_tiles_per_time must be at least 1, not {}.", *max_tiles_per_time));
  }
  if (!(cloud_thr >= 0.0 && cloud_thr <= 1.0)) {
    throw InputError(fmt::format("cloud_thr must be a probability in [0, 1], not {}.", cloud_thr));
  }
  if (!(shadow_thr >= 0.0 && shadow_thr <= 1.0)) {
    throw InputError(
        fmt::format("shadow_thr must be a probability in [0, 1], not {}.", shadow_thr));
  }
  if (!(dl_timeout > 0.0)) {
    throw InputError(
        fmt::format("dl_timeout must be a positive number of seconds, not {}.", dl_timeout));
  }
  // The names are written to run.json: JSON text must be UTF-8.
  for (const auto& [name, value] :
       {std::pair{"cloud_model", &cloud_model}, std::pair{"shadow_model", &shadow_model}}) {
    if (!is_utf8(*value)) {
      throw InputError(fmt::format(
          "{} is not UTF-8 text; give auto, builtin, or a model file name in UTF-8.", name));
    }
  }
  if (cloud_model.empty()) throw InputError("cloud_model must not be empty; use auto or builtin.");
  if (shadow_model.empty()) {
    throw InputError("shadow_model must not be empty; use auto or builtin.");
  }
}

void Request::validate() const {
  params.validate();
  if (max_cloud_cover && !(*max_cloud_cover >= 0.0 && *max_cloud_cover <= 100.0)) {
    throw InputError(fmt::format(
        "--max-cloud-cover must be a percentage in [0, 100], not {}; e.g. 30 keeps acquisitions "
        "with at most 30 % cloud cover.",
        *max_cloud_cover));
  }
  if (!(http.connect_timeout_s > 0) || !(http.request_timeout_s >= 0) ||
      !(http.total_timeout_s > 0)) {
    throw InputError(
        "HTTP timeouts must be positive numbers of seconds (request_timeout_s may be 0: "
        "dl_timeout).");
  }
  if (http.max_attempts < 1) {
    throw InputError(
        fmt::format("HTTP max_attempts must be at least 1, not {}.", http.max_attempts));
  }
}

void ProcessingOptions::validate() const {
  request.validate();
  if (full_tile && layout != Layout::tile) {
    throw InputError("--full-tile needs --layout tile (the grid layout covers the region only).");
  }
  auto at_least = [](int value, int low, const char* name, const char* unit) {
    if (value < low) {
      throw InputError(fmt::format("{} must be at least {}{}, not {}.", name, low, unit, value));
    }
  };
  at_least(jobs, 0, "--jobs", "");
  at_least(acquisitions_in_flight, 1, "--parallel-acquisitions", "");
  at_least(dilation_radius, 0, "--dilation", " pixels");
  at_least(min_area, 0, "--min-area", " pixels");
  at_least(context_margin, 0, "--context", " pixels");
}

}  // namespace s2prep
