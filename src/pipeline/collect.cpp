// collect(): after the shards of a plan, the folder's catalogue and what is still missing.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>

#include <s2prep/s2prep.hpp>

#include "output/location.hpp"
#include "pipeline/catalog.hpp"
#include "pipeline/output_folder.hpp"
#include "pipeline/plan_file.hpp"

namespace s2prep {

CollectResult collect(const std::filesystem::path& out_dir) {
  const auto plan_path = out_dir / pipeline::kPlanFile;
  if (!output::file_exists(plan_path)) {
    throw InputError(fmt::format("{} holds no {}; give the --out folder of s2prep plan.",
                                 out_dir.string(), pipeline::kPlanFile));
  }
  if (const auto features = pipeline::read_feature_index(plan_path)) {
    // A per-feature plan: each feature's folder is collected; names carry the feature.
    CollectResult all;
    all.items_json = out_dir;
    for (const auto& feature : *features) {
      const CollectResult one = collect(out_dir / feature.name);
      all.units += one.units;
      for (const auto& name : one.complete) all.complete.push_back(feature.name + "/" + name);
      for (const auto& name : one.missing) all.missing.push_back(feature.name + "/" + name);
    }
    return all;
  }
  const pipeline::PlanFile plan = pipeline::read_plan(plan_path);
  // items.json is written whole and atomically, like every catalogue update of the shards.
  const auto items = pipeline::complete_output_items(out_dir);
  pipeline::write_text_atomically(out_dir / "items.json",
                                  pipeline::item_collection(items).dump(2) + "\n");
  std::set<std::string> done;
  for (const auto& item : items) done.insert(item.at("id").get<std::string>());
  CollectResult result;
  result.units = plan.units.size();
  result.items_json = out_dir / "items.json";
  for (const auto& unit : plan.units) {
    (done.count(unit.name) ? result.complete : result.missing).push_back(unit.name);
  }
  return result;
}

}  // namespace s2prep
