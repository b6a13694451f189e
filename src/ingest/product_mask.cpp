#include "ingest/product_mask.hpp"

#include <algorithm>

#include "core/bands.hpp"

namespace s2prep::ingest {

std::uint8_t product_mask_class(std::uint8_t v) {
  switch (v) {
    case scl::kNoData:
      return product_mask::kNoData;
    case scl::kSaturatedDefective:
      return product_mask::kSaturatedDefective;
    case scl::kCloudShadow:
      return product_mask::kCloudShadow;
    case scl::kCloudMedium:
    case scl::kCloudHigh:
      return product_mask::kCloud;
    case scl::kThinCirrus:
      return product_mask::kCirrus;
    default:
      return product_mask::kClear;
  }
}

ByteRaster product_mask_from_scl(const ByteRaster& scl) {
  ByteRaster out(scl.grid, 1, 0);
  std::transform(scl.data.begin(), scl.data.begin() + static_cast<std::ptrdiff_t>(scl.band_size()),
                 out.data.begin(), product_mask_class);
  return out;
}

}  // namespace s2prep::ingest
