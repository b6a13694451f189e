// geo::Region::parse: the --geometry argument (WKT, or GeoJSON text: geometry, Feature,
// FeatureCollection). Every failure must be an s2prep::Error sentence.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <s2prep/errors.hpp>
#include "geo/region.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // An argument that names an existing file is read as one: keep the fuzzer off endless devices.
  for (const std::string_view endless : {"/dev/", "/proc/", "/sys/"}) {
    if (text.find(endless) != std::string_view::npos) return 0;
  }
  try {
    const auto region = s2prep::geo::Region::parse(text);
    (void)region.utm_epsg();
  } catch (const s2prep::Error&) {
  }
  return 0;
}
