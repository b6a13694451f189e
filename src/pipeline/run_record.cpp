#include "pipeline/run_record.hpp"

#include "core/version.hpp"
#include "ingest/gdal_env.hpp"
#include "net/http_client.hpp"
#include "pipeline/catalog.hpp"
#include "pipeline/params.hpp"

namespace s2prep::pipeline {
namespace {

// The part known before the search: what was asked for (never the key).
nlohmann::json run_record(const RunOptions& o, const geo::Region& region) {
  nlohmann::json run;
  run["s2prep_version"] = kVersion;
  run["gdal_version"] = ingest::gdal_version();
  const auto& services = o.request.services;
  run["request"] = {
      {"geometry", region.lonlat().to_geojson()},
      {"start", o.request.start},
      {"end", o.request.end},
      {"stac_url", net::redact_url(services.stac_url)},
      {"token_url",
       services.token_url == "none" ? std::string("none") : net::redact_url(services.token_url)},
      {"collection", services.collection},
  };
  run["parameters"] = params_to_json(o.request.params);
  run["options"] = {{"layout", std::string(to_string(o.layout))},
                    {"full_tile", o.full_tile},
                    {"keep_probabilities", o.keep_probabilities},
                    {"harmonize", o.harmonize},
                    {"dilation", o.dilation_radius},
                    {"min_area", o.min_area},
                    {"context", o.context_margin},
                    {"quicklook", o.quicklook}};
  return run;
}

nlohmann::json to_json(const ModelInfo& m) {
  return {{"name", m.name}, {"sha256", m.sha256}, {"engine", m.engine}};
}

}  // namespace

void write_run_started(const RunOptions& options, const geo::Region& region) {
  nlohmann::json run = run_record(options, region);
  run["status"] = "running";
  write_text_atomically(options.out_dir / "run.json", run.dump(2) + "\n");
}

void write_run_complete(const RunOptions& options, const SearchOutcome& outcome,
                        const LoadedModel& cloud, const LoadedModel& shadow,
                        const RunResult& result) {
  nlohmann::json run = run_record(options, outcome.region);
  run["status"] = "complete";
  run["request"]["start"] = format_time(outcome.range.start);
  run["request"]["end"] = format_time(outcome.range.end);
  run["models"] = {{"cloud", to_json(cloud.info())}, {"shadow", to_json(shadow.info())}};
  run["items_found"] = outcome.items_found;
  run["outputs"] = result.outputs.size();
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : result.skipped) {
    skipped.push_back({{"datetime", s.datetime}, {"items", s.item_ids}, {"reason", s.reason}});
  }
  run["skipped"] = skipped;
  write_text_atomically(options.out_dir / "run.json", run.dump(2) + "\n");
}

}  // namespace s2prep::pipeline
