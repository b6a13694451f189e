#pragma once
// Two chippings of a raster into 512 px model chips:
// - the reference chipping (the reference workflow's cloud.cloud task): 512 px chips, step 384
//   (overlap 0.25), chip starts spread evenly so the last chip ends at the raster edge, overlaps
//   split at the midpoint so every output pixel comes from exactly one chip. Every layout that
//   promises the reference's output (--layout tile, with or without --full-tile) uses it.
// - context chipping (the grid layout): each chip writes its central part and reads only a
//   margin of context around it, and only the chips that write pixels the outputs need run.

#include <vector>

#include <s2prep/grid.hpp>
#include "core/raster.hpp"

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

// Context each chip reads beyond the part it writes, on every side that has pixels. The
// reference chipping gives a pixel at a seam at least 64 px of context (its chips overlap by at
// least 128 px, split at the midpoint), and the pipeline reads 64 px of imagery around the
// output grid (--context), so chips at the region's edge find their margin there. A margin of
// 64 px therefore needs as many chips as the reference (29 a side on a whole tile); 32 px writes
// 448 px per chip instead of 384 (25 a side: 0.74 x the chips). Measured on the FPN stand-ins
// (inference_bench, docs/benchmarks.md section 2), a 32 px margin's probabilities are no farther
// from those of a 128 px margin (the most context 512 px chips can give) than the reference
// chipping's are: pixels across the mask threshold 8.7 % vs 9.3 % (cloud), 1.9 % vs 2.4 %
// (shadow); 16 px is farther (11.2 % cloud). The stand-ins' random weights make every pixel
// depend on the whole chip, so these fractions are far above what trained models show; only
// their order is used here.
inline constexpr int kContextChipMargin = 32;

// Chips along an axis of `size` pixels that write [first, last) and nothing else: each chip
// reads `chip` pixels and writes from `margin` pixels after its start to `margin` pixels before
// its end, except at the axis's ends, where no context exists and it writes up to the end.
// Chips are placed greedily from `first`: each reads from `margin` before the first pixel it
// writes, moved inwards where the axis ends. An axis smaller than the chip gets one chip
// reading the whole axis (zero-padded, as in axis_chips). Requires 2 * margin < chip.
std::vector<AxisChip> context_axis_chips(int size, int first, int last,
                                         int margin = kContextChipMargin, int chip = 512);

// Context chipping of a width x height raster: the chips of context_axis_chips over the
// bounding box of the pixels that need a probability, row-major, leaving out the chips whose
// written part has none. A pixel needs one where `region` (null = everywhere) is nonzero within
// `reach` pixels (the mask's dilation radius: probabilities just outside the region change the
// mask inside it) and `no_data` (null = nowhere) is zero. Both rasters, when given, are
// width x height.
std::vector<Chip> plan_context_chips(int width, int height, const ByteRaster* region,
                                     const ByteRaster* no_data, int reach = 0,
                                     int margin = kContextChipMargin);

// Sets `no_data` (width x height of the chips' raster) to 1 on every pixel that no chip of
// `chips` writes: those pixels get no probability (it stays 1, as for no data), and the mask
// must treat them as no data so that they neither seed it nor count as clear.
void mark_unwritten(const std::vector<Chip>& chips, ByteRaster& no_data);

}  // namespace s2prep::mask
