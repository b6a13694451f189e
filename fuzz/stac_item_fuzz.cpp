// stac::Item::from_json on what a STAC server returns: a single item, or a FeatureCollection
// page whose features are parsed one by one as the search client does. Each parsed item then
// goes through what selection does with it (footprint geometry, names, baseline).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <s2prep/errors.hpp>
#include "core/json_limits.hpp"
#include "geo/geometry.hpp"
#include "stac/item.hpp"

namespace {

void use(const nlohmann::json& j, std::size_t index) {
  try {
    const auto item = s2prep::stac::Item::from_json(j, index);
    (void)item.baseline();
    (void)item.processing_time();
    (void)item.product_key();
    const auto footprint = s2prep::geo::Geometry::from_geojson(item.geometry);
    (void)footprint.is_areal();
  } catch (const s2prep::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nlohmann::json doc;
  try {
    doc = s2prep::parse_outside_json(std::string_view(reinterpret_cast<const char*>(data), size),
                                     s2prep::kUnboundedDepth);
  } catch (const s2prep::JsonProblem&) {
    return 0;
  }
  // Whole pages, with their links and counts, are fuzz_search_page's.
  const auto features = doc.is_object() ? doc.find("features") : doc.end();
  if (features != doc.end() && features->is_array()) {
    for (std::size_t i = 0; i < features->size(); ++i) use((*features)[i], i);
  } else {
    use(doc, 0);
  }
  return 0;
}
