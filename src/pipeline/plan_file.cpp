#include "pipeline/plan_file.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>

#include <s2prep/errors.hpp>

#include "core/json_integer.hpp"
#include "core/json_limits.hpp"
#include "core/time.hpp"
#include "core/version.hpp"
#include "geo/region.hpp"
#include "net/http_client.hpp"
#include "output/location.hpp"
#include "pipeline/params.hpp"

namespace s2prep::pipeline {
namespace {

using json = nlohmann::json;

json grid_json(const Grid& g) {
  return {{"epsg", g.epsg}, {"transform", g.transform}, {"width", g.width}, {"height", g.height}};
}

Grid grid_from(const json& j) {
  Grid g;
  g.epsg = json_integer_at<int>(j, "epsg");
  g.transform = j.at("transform").get<std::array<double, 6>>();
  g.width = json_integer_at<int>(j, "width");
  g.height = json_integer_at<int>(j, "height");
  return g;
}

json model_json(const std::string& spec, const LoadedModel& m) {
  return {{"spec", spec},
          {"name", m.resolved.name},
          {"sha256", m.resolved.sha256},
          {"engine", m.engine}};
}

PlannedModel model_from(const json& j) {
  return {j.at("spec").get<std::string>(),
          {j.at("name").get<std::string>(), j.at("sha256").get<std::string>(),
           j.at("engine").get<std::string>()}};
}

WorkflowParams params_from(const json& j) {
  WorkflowParams p;
  p.min_tile_cover = j.at("min_tile_cover").get<double>();
  if (!j.at("max_tiles_per_time").is_null()) {
    p.max_tiles_per_time = json_integer_at<int>(j, "max_tiles_per_time");
  }
  p.cloud_thr = j.at("cloud_thr").get<double>();
  p.shadow_thr = j.at("shadow_thr").get<double>();
  p.in_memory = j.at("in_memory").get<bool>();
  p.cloud_model = j.at("cloud_model").get<std::string>();
  p.shadow_model = j.at("shadow_model").get<std::string>();
  p.dl_timeout = j.at("dl_timeout").get<double>();
  // The key is never in a plan: each worker brings its own (PC_SDK_SUBSCRIPTION_KEY).
  return p;
}

// A name parse_features gives: a safe folder name, with "-N" when an earlier feature had it.
bool is_feature_folder_name(std::string_view name) {
  const auto dash = name.rfind('-');
  if (dash != std::string_view::npos && dash + 1 < name.size() &&
      name.find_first_not_of("0123456789", dash + 1) == std::string_view::npos) {
    name = name.substr(0, dash);
  }
  return !name.empty() && geo::safe_feature_name(name) == name;
}

}  // namespace

json plan_to_json(const RunOptions& o, const SearchOutcome& outcome,
                  const std::vector<OutputUnit>& units, const LoadedModel& cloud,
                  const LoadedModel& shadow, bool bands_on_disk) {
  json plan;
  plan["s2prep_plan"] = kPlanFormat;
  plan["s2prep_version"] = kVersion;
  const auto& services = o.request.services;
  plan["request"] = {
      // The region as the outputs' folder records it (12 decimals): reading it back gives
      // the same region, grid and folder identity.
      {"geometry", outcome.region.lonlat().to_wkt()},
      {"start", format_time(outcome.range.start)},
      {"end", format_time(outcome.range.end)},
      {"stac_url", net::redact_url(services.stac_url)},
      {"token_url",
       services.token_url == "none" ? std::string("none") : net::redact_url(services.token_url)},
      {"sign_hosts", services.sign_hosts},
      {"collection", services.collection},
      {"max_cloud_cover",
       o.request.max_cloud_cover ? json(*o.request.max_cloud_cover) : json(nullptr)}};
  plan["parameters"] = params_to_json(o.request.params);
  plan["options"] = {{"layout", std::string(to_string(o.layout))},
                     {"full_tile", o.full_tile},
                     {"keep_probabilities", o.keep_probabilities},
                     {"engine", std::string(to_string(o.engine))},
                     {"harmonize", o.harmonize},
                     {"dilation", o.dilation_radius},
                     {"min_area", o.min_area},
                     {"context", o.context_margin},
                     {"quicklook", o.quicklook}};
  plan["models"] = {{"cloud", model_json(o.request.params.cloud_model, cloud)},
                    {"shadow", model_json(o.request.params.shadow_model, shadow)}};
  plan["search"] = {{"complete", outcome.complete},
                    {"warnings", outcome.warnings},
                    {"items_found", outcome.items_found}};
  json items = json::array();
  for (const auto& item : outcome.items) items.push_back(item.raw);
  plan["items"] = std::move(items);
  json planned = json::array();
  for (std::size_t i = 0; i < units.size(); ++i) {
    const auto& u = units[i];
    json ids = json::array();
    for (const auto& item : u.items) ids.push_back(item.id);
    const UnitCosts costs = unit_costs(u, o, bands_on_disk);
    planned.push_back({{"unit", i},
                       {"name", u.name},
                       {"datetime", format_time(u.acquisition->datetime)},
                       {"items", ids},
                       {"tiles", u.tiles},
                       {"grid", grid_json(u.grid)},
                       {"memory_bytes", costs.memory_bytes},
                       {"scratch_bytes", costs.scratch_bytes},
                       {"output_bytes", costs.output_bytes}});
  }
  plan["units"] = std::move(planned);
  return plan;
}

PlanFile read_plan(const std::filesystem::path& file) {
  std::optional<std::string> text;
  try {
    text = output::read_text(file);
  } catch (const DataError&) {
    // unreadable: reported as missing, with what to check
  }
  if (!text) {
    throw InputError(fmt::format(
        "Cannot read the plan {}; give the plan.json that s2prep plan wrote{}.", file.string(),
        output::is_remote(file) ? " (and check AWS_S3_ENDPOINT, AWS_REGION and the AWS_* "
                                  "credentials for object storage)"
                                : ""));
  }
  PlanFile plan;
  try {
    const json j = parse_outside_json(*text, kUnboundedDepth);
    const auto format = j.find("s2prep_plan");
    if (format == j.end() || *format != json(kPlanFormat)) {
      throw InputError(fmt::format(
          "{} is not a plan of this s2prep version (format {}); write it again with s2prep plan.",
          file.string(), format == j.end() ? "none" : format->dump()));
    }
    if (j.value("s2prep_version", "") != std::string(kVersion)) {
      throw InputError(fmt::format(
          "{} was written by s2prep {}, this is {}: workers must run the version that planned, "
          "so every output is made the same way.",
          file.string(), j.value("s2prep_version", "?"), kVersion));
    }
    RunOptions& o = plan.options;
    const json& r = j.at("request");
    o.request.geometry = r.at("geometry").get<std::string>();
    o.request.start = r.at("start").get<std::string>();
    o.request.end = r.at("end").get<std::string>();
    o.request.services.stac_url = r.at("stac_url").get<std::string>();
    o.request.services.token_url = r.at("token_url").get<std::string>();
    o.request.services.sign_hosts = r.at("sign_hosts").get<std::vector<std::string>>();
    o.request.services.collection = r.at("collection").get<std::string>();
    if (!r.at("max_cloud_cover").is_null()) {
      o.request.max_cloud_cover = r.at("max_cloud_cover").get<double>();
    }
    o.request.params = params_from(j.at("parameters"));
    const json& opt = j.at("options");
    o.layout = parse_layout(opt.at("layout").get<std::string>());
    o.full_tile = opt.at("full_tile").get<bool>();
    o.keep_probabilities = opt.at("keep_probabilities").get<bool>();
    o.engine = parse_engine(opt.at("engine").get<std::string>());
    o.harmonize = opt.at("harmonize").get<bool>();
    o.dilation_radius = json_integer_at<int>(opt, "dilation");
    o.min_area = json_integer_at<int>(opt, "min_area");
    o.context_margin = json_integer_at<int>(opt, "context");
    o.quicklook = opt.at("quicklook").get<bool>();
    // Whatever the planner accepted, the workers accept: the plan is the selection.
    o.allow_incomplete = true;
    std::vector<std::string> items;
    for (const auto& item : j.at("items")) items.push_back(item.dump());
    o.request.items = std::move(items);
    plan.cloud_model = model_from(j.at("models").at("cloud"));
    plan.shadow_model = model_from(j.at("models").at("shadow"));
    for (const auto& u : j.at("units")) {
      PlannedOutput out;
      out.name = u.at("name").get<std::string>();
      out.datetime = u.at("datetime").get<std::string>();
      out.item_ids = u.at("items").get<std::vector<std::string>>();
      out.tiles = u.at("tiles").get<std::vector<std::string>>();
      out.grid = grid_from(u.at("grid"));
      out.memory_bytes = json_integer_at<std::uint64_t>(u, "memory_bytes");
      out.scratch_bytes =
          u.contains("scratch_bytes") ? json_integer_at<std::uint64_t>(u, "scratch_bytes") : 0;
      out.output_bytes =
          u.contains("output_bytes") ? json_integer_at<std::uint64_t>(u, "output_bytes") : 0;
      plan.units.push_back(std::move(out));
    }
  } catch (const JsonProblem& e) {
    throw InputError(fmt::format("The plan {} is {}; write it again with s2prep plan.",
                                 file.string(), e.what()));
  } catch (const json::exception& e) {
    throw InputError(fmt::format("The plan {} is damaged ({}); write it again with s2prep plan.",
                                 file.string(), e.what()));
  }
  return plan;
}

std::vector<std::size_t> shard_units(std::size_t count, const Shard& shard,
                                     std::size_t first_number) {
  std::vector<std::size_t> mine;
  for (std::size_t i = 0; i < count; ++i) {
    if ((first_number + i) % static_cast<std::size_t>(shard.count) ==
        static_cast<std::size_t>(shard.index)) {
      mine.push_back(i);
    }
  }
  return mine;
}

json feature_index_json(const std::vector<FeaturePlan>& features,
                        const std::vector<SkippedAcquisition>& skipped) {
  json index;
  index["s2prep_plan"] = kPlanFormat;
  index["s2prep_version"] = kVersion;
  json list = json::array();
  for (const auto& f : features) {
    list.push_back({{"name", f.name}, {"plan", f.name + "/" + kPlanFile}, {"units", f.units}});
  }
  index["features"] = std::move(list);
  json without = json::array();
  for (const auto& s : skipped) without.push_back({{"feature", s.feature}, {"reason", s.reason}});
  index["features_without_outputs"] = std::move(without);
  return index;
}

std::optional<std::vector<FeaturePlan>> read_feature_index(const std::filesystem::path& file) {
  const auto text = output::read_text(file);
  if (!text) return std::nullopt;  // read_plan says what is wrong
  try {
    const json j = parse_outside_json(*text, kUnboundedDepth);
    if (!j.contains("features")) return std::nullopt;
    std::vector<FeaturePlan> features;
    for (const auto& f : j.at("features")) {
      auto name = f.at("name").get<std::string>();
      // The name becomes a sub-folder of the plan's folder and of the outputs' folder: only
      // names the planner writes (no "..", no separators) keep the run inside them.
      if (!is_feature_folder_name(name)) {
        throw InputError(fmt::format(
            "The plan {} names a feature '{}' that is not a plain folder name; write it again "
            "with s2prep plan.",
            file.string(), geo::safe_feature_name(name)));
      }
      // A negative count would wrap to an endless share of units, and a count beyond any plan's
      // would number the next features' units wrongly: the feature's own plan has its units.
      const json& units = f.at("units");
      if (!units.is_number_unsigned() || units.get<std::uint64_t>() > kMostUnitsPerFeature) {
        throw InputError(fmt::format(
            "The plan {} gives feature '{}' a unit count of {}, not a whole number of units up to "
            "10 million; write it again with s2prep plan.",
            file.string(), name, units.dump()));
      }
      features.push_back({std::move(name), units.get<std::size_t>()});
    }
    return features;
  } catch (const JsonProblem&) {
    return std::nullopt;  // read_plan says what is wrong
  } catch (const json::exception& e) {
    throw InputError(fmt::format("The plan {} is damaged ({}); write it again with s2prep plan.",
                                 file.string(), e.what()));
  }
}

}  // namespace s2prep::pipeline
