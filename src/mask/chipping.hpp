#pragma once
// The reference chipping (the reference workflow's cloud.cloud task): 512 px chips, step 384
// (overlap 0.25), chip starts spread evenly so the last chip ends at the raster edge, overlaps
// split at the midpoint so every output pixel comes from exactly one chip.

#include <vector>

#include <s2prep/grid.hpp>

namespace s2prep::mask {

inline constexpr int kChipStep = 384;

// One chip along one axis.
struct AxisChip {
  int read_start = 0;   // first pixel fed to the model
  int read_length = 0;  // pixels fed to the model: 512, or the axis size when it is smaller
  int write_start = 0;  // first output pixel taken from this chip
  int write_end = 0;    // one past the last output pixel taken from this chip
};

// Chip starts along an axis of `size` pixels: n = ceil((size - 512) / 384) + 1 (at least 2 when
// size > 512, 1 when size <= 512), starts = round(linspace(0, size - 512, n)) with numpy's
// arithmetic and halves rounded to even.
std::vector<int> chip_starts(int size, int chip = 512, int step = kChipStep);

// Chips along an axis with their midpoint-split write ranges: the boundary between chips i-1
// and i is floor((end(i-1) + start(i)) / 2), as the reference computes it.
// An axis smaller than the chip gets one chip reading the whole axis; the model input is then
// zero-padded (nodata) to 512 (the reference fails instead; our pipeline reads enough context
// that this does not happen for real data).
std::vector<AxisChip> axis_chips(int size, int chip = 512, int step = kChipStep);

struct Chip {
  Window read;   // raster pixels fed to the model (at most 512 x 512)
  Window write;  // raster pixels whose output comes from this chip
};

// All chips of a width x height raster, row-major (top row of chips first).
std::vector<Chip> plan_chips(int width, int height);

}  // namespace s2prep::mask
