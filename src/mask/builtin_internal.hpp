#pragma once
// Helpers shared by the built-in detector's translation units (not part of the public API).

#include <cmath>
#include <cstddef>

#include "core/raster.hpp"

namespace s2prep::mask::detail {

inline float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

// Throws InputError unless `stack` holds 12 bands on its grid.
void check_stack(const BandStack& stack);
// Throws InputError unless `probability` is one band on the stack's grid.
void check_probability(const BandStack& stack, const FloatRaster& probability, const char* what);
// True when no band of pixel `i` is nodata (0).
bool valid_pixel(const BandStack& stack, std::size_t i);

}  // namespace s2prep::mask::detail
