// run(): the whole workflow into an output folder. The steps, each in a file of its own:
// search (search.cpp), plan the outputs (output_plan.cpp), skip what is complete (resume.cpp),
// make the pixels (produce.cpp, with models.cpp), write them (write_outputs.cpp), count them
// (statistics.cpp) and record the run (run_record.cpp, catalog.cpp).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <tuple>

#include <s2prep/s2prep.hpp>

#include "core/parallel.hpp"
#include "core/time.hpp"
#include "ingest/grid.hpp"
#include "output/location.hpp"
#include "pipeline/catalog.hpp"
#include "pipeline/memory_budget.hpp"
#include "pipeline/models.hpp"
#include "pipeline/output_folder.hpp"
#include "pipeline/output_plan.hpp"
#include "pipeline/plan_file.hpp"
#include "pipeline/produce.hpp"
#include "pipeline/quicklook.hpp"
#include "pipeline/resume.hpp"
#include "pipeline/run_record.hpp"
#include "pipeline/search.hpp"
#include "pipeline/session.hpp"
#include "pipeline/statistics.hpp"
#include "pipeline/write_outputs.hpp"

namespace s2prep::pipeline {
namespace {

namespace fs = std::filesystem;

// Every feature of a per-feature request failed to find imagery.
NothingFoundError no_feature_covered(std::size_t features) {
  return NothingFoundError(fmt::format(
      "None of the {} features of the geometry can be covered by an acquisition in the time "
      "range; widen the time range or lower --min-tile-cover.",
      features));
}

// What a Runner does: a whole run; only the planning, written to plan.json (write_plan); or the
// units of a plan's shard (run_plan).
enum class Mode { run, write_plan, run_plan };

class Runner {
 public:
  Runner(const RunOptions& options, const ProgressCallback& progress, Mode mode = Mode::run,
         const PlanFile* plan = nullptr, Shard shard = {}, std::size_t first_unit_number = 0)
      : o_(with_defaults(options)),
        report_(progress, options.stop),
        http_(http_options(o_.request)),
        mode_(mode),
        plan_(plan),
        shard_(shard),
        first_unit_number_(first_unit_number) {}

  // In write_plan mode, after run(): the plan written.
  Plan take_plan() { return std::move(planned_); }

  RunResult run() {
    // The folder is locked and checked before the search: a concurrent run or another request's
    // folder fails at once, and a grid too large for memory before any request.
    const auto region = geo::Region::parse(o_.request.geometry);
    std::optional<Grid> shared_grid;
    if (o_.layout == Layout::grid) {
      shared_grid = ingest::layout_grid(region);
      // Before the models are loaded: named models are taken for networks (a model that turns
      // out to be the built-in detector is checked again once resolved, before any read).
      const auto& params = o_.request.params;
      check_memory(
          *shared_grid, ingest::context_grid(*shared_grid, o_.context_margin), 1,
          bands_on_disk(params, params.cloud_model != "builtin", params.shadow_model != "builtin"),
          o_.memory_limit_bytes);
    }
    // A folder that does not exist yet is created only once there is something to write, so a
    // search that finds nothing leaves nothing behind.
    const FolderIdentity identity = folder_identity(region, shared_grid);
    std::error_code ec;
    const auto access =
        mode_ == Mode::run_plan ? OutputFolder::Access::shard : OutputFolder::Access::exclusive;
    // Object storage needs no folder created: the folder is checked (the bucket reachable) now.
    if (output::is_remote(o_.out_dir) || fs::exists(o_.out_dir, ec)) {
      folder_.emplace(o_.out_dir, identity, o_.replace_request, access);
    }

    Progress searching;
    searching.stage = "search";
    if (!o_.request.items) report_(searching);  // given (or planned) items need no search
    const auto outcome = search(o_.request, http_, o_.stop);
    require_complete(outcome, o_.allow_incomplete);

    std::vector<std::string> notices;
    const auto& params = o_.request.params;
    LoadedModel cloud =
        load_model(params.cloud_model, mask::ModelKind::cloud, o_.model_dir, o_.engine, notices);
    LoadedModel shadow =
        load_model(params.shadow_model, mask::ModelKind::shadow, o_.model_dir, o_.engine, notices);
    const AssetSigner signer(http_, o_.request);
    ingest::ThreadConfigScope gdal_limits;
    set_gdal_request_limits(gdal_limits, params.dl_timeout);
    const bool on_disk = bands_on_disk(params, cloud.network != nullptr, shadow.network != nullptr);
    const auto units = plan_outputs(outcome, o_, signer.signer(), on_disk);
    if (plan_) check_plan(units, cloud, shadow);
    report_.check_stop();

    if (!folder_) folder_.emplace(o_.out_dir, identity, o_.replace_request, access);
    RunResult result;
    result.skipped = skipped_acquisitions(outcome.selection);
    result.items_json = o_.out_dir / "items.json";
    result.notices = std::move(notices);
    if (mode_ == Mode::write_plan) {
      folder_->claim();
      write_text_atomically(
          o_.out_dir / kPlanFile,
          plan_to_json(o_, outcome, units, cloud, shadow, on_disk).dump(1) + "\n");
      spdlog::info("Plan of {} units written to {}", units.size(),
                   (o_.out_dir / kPlanFile).string());
      planned_ = public_plan(outcome, units, o_, on_disk);
      return result;
    }
    // The shards of a plan share the folder the planner claimed; a plain run claims it now.
    if (mode_ == Mode::run || !output::file_exists(o_.out_dir / "folder.json")) folder_->claim();
    if (mode_ == Mode::run) write_run_started(o_, outcome.region);
    std::vector<std::size_t> mine(units.size());
    for (std::size_t i = 0; i < units.size(); ++i) mine[i] = i;
    if (mode_ == Mode::run_plan) {
      mine = shard_units(units.size(), shard_, first_unit_number_);
      spdlog::info("Shard {}/{}: {} of the plan's {} units", shard_.index, shard_.count,
                   mine.size(), units.size());
    }
    // Acquisitions overlap: one reads from the network while another is in inference.
    std::vector<OutputSummary> summaries(mine.size());
    const ProduceContext context{o_, signer.signer(), http_, output::scratch_folder(o_.out_dir),
                                 report_};
    run_bounded(static_cast<int>(mine.size()),
                acquisitions_in_flight(units, o_.acquisitions_in_flight), [&](int k) {
                  const std::size_t i = mine[k];
                  summaries[k] = make_output(units[i], i, units.size(), cloud, shadow, context);
                });
    result.outputs = std::move(summaries);
    // Every complete output of the folder, also those of earlier runs of this request.
    folder_->refresh_catalogue();
    if (mode_ == Mode::run) {
      write_run_complete(o_, outcome, cloud, shadow, result);
      if (o_.quicklook) write_index_html(o_.out_dir, result);
    }
    return result;
  }

 private:
  static RunOptions with_defaults(const RunOptions& options) {
    options.validate();
    RunOptions o = options;
    o.request = with_environment_defaults(options.request);
    o.model_dir = resolve_model_dir(options.model_dir);
    return o;
  }

  FolderIdentity folder_identity(const geo::Region& region,
                                 const std::optional<Grid>& shared_grid) const {
    FolderIdentity id;
    id.region_wkt = region.lonlat().to_wkt();
    id.stac_url = net::redact_url(o_.request.services.stac_url);
    id.collection = o_.request.services.collection;
    id.layout = o_.layout == Layout::grid ? "grid" : o_.full_tile ? "tile full-tile" : "tile";
    id.grid = shared_grid;
    return id;
  }

  // A worker must make exactly what was planned: the same models and the same units.
  void check_plan(const std::vector<OutputUnit>& units, const LoadedModel& cloud,
                  const LoadedModel& shadow) const {
    for (const auto& [planned, loaded, kind] :
         {std::tuple{&plan_->cloud_model, &cloud, "cloud"},
          std::tuple{&plan_->shadow_model, &shadow, "shadow"}}) {
      if (planned->info.sha256 != loaded->resolved.sha256 ||
          planned->info.engine != loaded->engine) {
        throw InputError(fmt::format(
            "The {} model '{}' resolves here to {} ({} on {}), but the plan was made with {} "
            "({} on {}); give the planned model file (--model-dir or S2PREP_MODEL_DIR).",
            kind, planned->spec, loaded->resolved.name,
            loaded->resolved.sha256.empty() ? "built in" : loaded->resolved.sha256.substr(0, 12),
            loaded->engine, planned->info.name,
            planned->info.sha256.empty() ? "built in" : planned->info.sha256.substr(0, 12),
            planned->info.engine));
      }
    }
    bool same = units.size() == plan_->units.size();
    for (std::size_t i = 0; same && i < units.size(); ++i) {
      same = units[i].name == plan_->units[i].name && units[i].grid == plan_->units[i].grid;
    }
    if (!same) {
      throw Error(fmt::format(
          "The plan's {} units are not what this s2prep makes of the plan's items ({} units); "
          "write the plan again with this version.",
          plan_->units.size(), units.size()));
    }
  }

  // One output: kept when complete for this request, else made and written.
  OutputSummary make_output(const OutputUnit& unit, std::size_t index, std::size_t count,
                            LoadedModel& cloud, LoadedModel& shadow,
                            const ProduceContext& context) {
    report_.check_stop();
    const std::string fingerprint = output_fingerprint(unit, o_, cloud, shadow);
    if (!o_.force) {
      if (auto done = complete_output(unit, o_.out_dir, fingerprint)) {
        spdlog::info("{}: outputs complete, kept (use --force to recompute)", unit.name);
        auto summary = summary_from_item(*done, unit);
        summary.resumed = true;
        return summary;
      }
    }
    Progress p;
    p.acquisition = format_time(unit.acquisition->datetime);
    p.acquisition_index = index;
    p.acquisition_count = count;
    const ProducedOutput produced = produce(unit, cloud, shadow, context, p);
    OutputSummary summary =
        summarize(unit, produced.mask, produced.product, produced.cloud, produced.shadow,
                  o_.request.params.cloud_thr, o_.request.params.shadow_thr);
    summary.cloud_model = cloud.resolved.name;
    summary.shadow_model = shadow.resolved.name;
    p.stage = "write";
    report_(p);
    write_outputs(unit, produced, summary, o_, cloud, shadow, fingerprint, *folder_);
    folder_->refresh_catalogue();
    spdlog::info("{}: written ({:.1f} % valid, {:.1f} % masked)", unit.name,
                 100 * summary.valid_fraction, 100 * summary.masked_fraction);
    return summary;
  }

  const RunOptions o_;
  const ProgressReporter report_;
  net::HttpClient http_;
  const Mode mode_;
  const PlanFile* plan_;
  const Shard shard_;
  const std::size_t first_unit_number_;  // of this plan's units among a per-feature plan's
  std::optional<OutputFolder> folder_;
  Plan planned_;  // what write_plan wrote
};

// Runs `body` with the options of each feature of a per-feature request (its geometry, its
// sub-folder of out_dir). One field without usable imagery must not cost the others theirs: a
// NothingFoundError is logged and returned in the feature's SkippedAcquisition; when every
// feature ends so, the request as a whole has found nothing.
std::vector<SkippedAcquisition> for_each_feature(
    const RunOptions& options,
    const std::function<void(const std::string& feature, const RunOptions& one)>& body) {
  const auto features = geo::parse_features(options.request.geometry);
  std::vector<SkippedAcquisition> without;
  for (const auto& feature : features) {
    RunOptions one = options;
    one.per_feature = false;
    one.request.geometry = feature.region.lonlat().to_wkt();
    one.out_dir = options.out_dir / feature.name;
    try {
      body(feature.name, one);
    } catch (const NothingFoundError& e) {
      spdlog::warn("Feature {}: {}", feature.name, e.what());
      without.push_back({{}, {}, e.what(), feature.name});
    }
  }
  if (without.size() == features.size()) throw no_feature_covered(features.size());
  return without;
}

// Prefixes the outputs' names and the skipped acquisitions with their feature.
template <class Output>
void add_feature_results(const std::string& feature, std::vector<Output>& outputs,
                         std::vector<SkippedAcquisition>& skipped, std::vector<Output>& all_outputs,
                         std::vector<SkippedAcquisition>& all_skipped) {
  for (auto& o : outputs) {
    o.name = feature + "/" + o.name;
    all_outputs.push_back(std::move(o));
  }
  for (auto& s : skipped) {
    s.feature = feature;
    all_skipped.push_back(std::move(s));
  }
}

RunResult run_per_feature(const RunOptions& options, const ProgressCallback& progress) {
  // One grid and one output folder per feature: separate fields get their own small grids
  // instead of one bounding box that is mostly empty.
  RunResult all;
  all.items_json = options.out_dir;
  auto without = for_each_feature(options, [&](const std::string& feature, const RunOptions& one) {
    spdlog::info("Feature {}: outputs in {}", feature, one.out_dir.string());
    RunResult result = Runner(one, progress).run();
    add_feature_results(feature, result.outputs, result.skipped, all.outputs, all.skipped);
    for (auto& n : result.notices) {
      if (std::find(all.notices.begin(), all.notices.end(), n) == all.notices.end()) {
        all.notices.push_back(std::move(n));
      }
    }
  });
  all.skipped.insert(all.skipped.end(), without.begin(), without.end());
  return all;
}

// A plan per feature in its sub-folder, and an index at the top numbering the units across the
// features.
Plan write_feature_plans(const RunOptions& options) {
  Plan all;
  std::vector<FeaturePlan> planned;
  auto without = for_each_feature(options, [&](const std::string& feature, const RunOptions& one) {
    Runner runner(one, {}, Mode::write_plan);
    runner.run();
    Plan plan = runner.take_plan();
    planned.push_back({feature, plan.outputs.size()});
    for (auto& a : plan.search.acquisitions) all.search.acquisitions.push_back(std::move(a));
    add_feature_results(feature, plan.outputs, plan.search.skipped, all.outputs,
                        all.search.skipped);
  });
  all.search.skipped.insert(all.search.skipped.end(), without.begin(), without.end());
  write_text_atomically(options.out_dir / kPlanFile,
                        feature_index_json(planned, without).dump(1) + "\n");
  return all;
}

}  // namespace

// One plan's units of `options.shard`, the plan's units numbered from `first_unit_number` (its
// place among a per-feature plan's units).
RunResult run_feature_plan(const std::filesystem::path& plan_file, const PlanRunOptions& options,
                           const ProgressCallback& progress, std::size_t first_unit_number);

}  // namespace s2prep::pipeline

namespace s2prep {

RunResult run(const RunOptions& options, const ProgressCallback& progress) {
  initialize();
  if (options.out_dir.empty()) {
    throw InputError("run needs an output folder (--out); for arrays in memory use load().");
  }
  if (options.per_feature) return pipeline::run_per_feature(options, progress);
  return pipeline::Runner(options, progress).run();
}

Plan write_plan(const RunOptions& options) {
  initialize();
  if (options.out_dir.empty()) throw InputError("plan needs an output folder (--out).");
  if (!options.per_feature) {
    pipeline::Runner runner(options, {}, pipeline::Mode::write_plan);
    runner.run();
    return runner.take_plan();
  }
  return pipeline::write_feature_plans(options);
}

RunResult run_plan(const std::filesystem::path& plan_file, const PlanRunOptions& options,
                   const ProgressCallback& progress) {
  initialize();
  if (options.shard.count < 1 || options.shard.index < 0 ||
      options.shard.index >= options.shard.count) {
    throw InputError(fmt::format("Shard {}/{} does not exist; shards are 0/N to N-1/N.",
                                 options.shard.index, options.shard.count));
  }
  std::filesystem::path out_dir =
      options.out_dir.empty() ? plan_file.parent_path() : options.out_dir;
  if (out_dir.empty()) out_dir = ".";
  if (const auto features = pipeline::read_feature_index(plan_file)) {
    // A per-feature plan: each feature's plan with the units of this shard among all features'.
    RunResult all;
    all.items_json = out_dir;
    std::size_t first = 0;
    for (const auto& feature : *features) {
      PlanRunOptions one = options;
      one.out_dir = out_dir / feature.name;
      if (!pipeline::shard_units(feature.units, options.shard, first).empty()) {
        auto result = pipeline::run_feature_plan(
            plan_file.parent_path() / feature.name / pipeline::kPlanFile, one, progress, first);
        for (auto& o : result.outputs) {
          o.name = feature.name + "/" + o.name;
          all.outputs.push_back(std::move(o));
        }
      }
      first += feature.units;
    }
    return all;
  }
  return pipeline::run_feature_plan(plan_file, options, progress, 0);
}

}  // namespace s2prep

namespace s2prep::pipeline {

RunResult run_feature_plan(const std::filesystem::path& plan_file, const PlanRunOptions& options,
                           const ProgressCallback& progress, std::size_t first_unit_number) {
  const pipeline::PlanFile plan = pipeline::read_plan(plan_file);
  RunOptions run_options = plan.options;
  run_options.out_dir = options.out_dir.empty() ? plan_file.parent_path() : options.out_dir;
  if (run_options.out_dir.empty()) run_options.out_dir = ".";
  run_options.model_dir = options.model_dir;
  run_options.jobs = options.jobs;
  run_options.acquisitions_in_flight = options.acquisitions_in_flight;
  run_options.memory_limit_bytes = options.memory_limit_bytes;
  run_options.force = options.force;
  run_options.stop = options.stop;
  return pipeline::Runner(run_options, progress, pipeline::Mode::run_plan, &plan, options.shard,
                          first_unit_number)
      .run();
}

}  // namespace s2prep::pipeline
