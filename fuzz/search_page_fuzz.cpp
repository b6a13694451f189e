// stac::parse_search_page on what a STAC search answers: a FeatureCollection page with its
// items, `next` link (resolved against the page's URL) and counts, read with the same depth-safe
// JSON reader as the search client. Each parsed item's footprint is then read as selection does.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <s2prep/errors.hpp>
#include "core/json_limits.hpp"
#include "geo/geometry.hpp"
#include "stac/search_page.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nlohmann::json doc;
  try {
    doc = s2prep::parse_outside_json(std::string_view(reinterpret_cast<const char*>(data), size),
                                     s2prep::kUnboundedDepth);
  } catch (const s2prep::JsonProblem&) {
    return 0;
  }
  try {
    const auto page =
        s2prep::stac::parse_search_page(doc, "https://stac.example/api/stac/v1/search?x=1");
    for (const auto& item : page.items) {
      (void)item.product_key();
      const auto footprint = s2prep::geo::Geometry::from_geojson(item.geometry);
      (void)footprint.is_areal();
    }
  } catch (const s2prep::Error&) {
  }
  return 0;
}
