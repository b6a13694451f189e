#pragma once
// The region as pixels of a grid: which pixels the outputs must get right.

#include <s2prep/grid.hpp>
#include "core/raster.hpp"
#include "geo/region.hpp"

namespace s2prep::geo {

// 1 on every pixel of `grid` that the region touches (also a pixel the region's edge only
// crosses, so no pixel with a part of the region is left out), else 0. Lakes (holes) of the
// region are 0 where they cover whole pixels.
ByteRaster region_pixels(const Region& region, const Grid& grid);

}  // namespace s2prep::geo
