// pipeline::read_plan and read_feature_index: a plan.json (or a per-feature index) handed to
// `s2prep run --plan` and `s2prep collect`, possibly written elsewhere and edited by hand. Every
// failure must be an InputError sentence; what is read back must be safe to act on.
#include <cpl_vsi.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <s2prep/errors.hpp>
#include "pipeline/plan_file.hpp"

namespace {

// GDAL's in-memory file system: read_plan reads through GDAL (local files and object storage
// alike), so the input reaches it without touching the disk.
constexpr const char* kPlan = "/vsimem/fuzz/plan.json";

struct MemoryFile {
  MemoryFile(const std::uint8_t* data, std::size_t size) {
    VSIFCloseL(VSIFileFromMemBuffer(kPlan, const_cast<GByte*>(data), size, FALSE));
  }
  ~MemoryFile() { VSIUnlink(kPlan); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const MemoryFile file(data, size);
  try {
    if (const auto features = s2prep::pipeline::read_feature_index(kPlan)) {
      // Feature names become sub-folders of the plan's and the outputs' folders: one plain
      // component each, never one that leaves them.
      for (const auto& feature : *features) {
        const std::string& name = feature.name;
        if (name.empty() || name == "." || name == ".." ||
            name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
          std::abort();
        }
      }
      return 0;
    }
  } catch (const s2prep::InputError&) {
    return 0;
  }
  try {
    const auto plan = s2prep::pipeline::read_plan(kPlan);
    (void)s2prep::pipeline::shard_units(plan.units.size(), {.index = 1, .count = 3});
  } catch (const s2prep::InputError&) {
  }
  return 0;
}
