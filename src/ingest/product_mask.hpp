#pragma once
// The product mask derived from the L2A Scene Classification Layer (always present, unlike
// MSK_CLOUDS_B00.gml after baseline 04.00), and the interim final mask used until the cloud and
// shadow models run.

#include <cstdint>

#include "core/raster.hpp"

namespace s2prep::ingest {

// Product-mask class of one SCL value: 0 clear, 1 cloud (SCL 8, 9), 2 cirrus (10), 3 cloud
// shadow (3), 4 saturated/defective (1), 255 no data (SCL 0). Every other class is clear.
std::uint8_t product_mask_class(std::uint8_t scl_value);

// The product mask of an SCL raster (same grid, 1 band).
ByteRaster product_mask_from_scl(const ByteRaster& scl);

}  // namespace s2prep::ingest
