// stac::parse_mean_sun_angles: a granule's MTD_TL.xml as fetched from the catalogue.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stac/granule_metadata.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto angles = s2prep::stac::parse_mean_sun_angles(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (angles && !(angles->zenith_deg >= 0 && angles->zenith_deg < 90)) __builtin_trap();
  return 0;
}
