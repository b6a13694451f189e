#pragma once
// How much memory one output unit needs, checked before any pixel is read: a region too large
// for the machine must end in one clear sentence, not in std::bad_alloc halfway through a run.

#include <cstdint>

#include <s2prep/grid.hpp>
#include <s2prep/options.hpp>

namespace s2prep::pipeline {

// Whether a unit's 12 bands stay on disk rather than in memory: when both models are networks
// that stream their chips from the on-disk stack and in_memory is off. The built-in detector
// works on the whole stack in memory.
bool bands_on_disk(const WorkflowParams& params, bool cloud_is_network, bool shadow_is_network);

// Bytes one unit holds at its peak, read on `context` with an output grid of `output_pixels`
// pixels from `items` tiles. With the bands in memory: the 12-band stack, SCL and the working
// rasters of the masks on the context grid, a second band set per extra tile of the mosaic, the
// cropped outputs. With the bands on disk: the band strips being read, and on the context grid
// SCL, product mask, no-data mask, both probabilities and the merge's working rasters. Both
// with GDAL's block cache and the libraries' own footprint.
std::uint64_t estimated_unit_bytes(const Grid& context, std::int64_t output_pixels, int items,
                                   bool on_disk);

// The memory this process may use: physical memory, or the cgroup's limit when lower.
std::uint64_t usable_memory_bytes();

// Throws InputError when a unit on `output` (read on `context`) with `items` tiles would need
// more than `limit_bytes` (0: usable_memory_bytes()); the sentence gives the grid size, the
// memory needed and what to do.
void check_memory(const Grid& output, const Grid& context, int items, bool on_disk,
                  std::uint64_t limit_bytes = 0);

}  // namespace s2prep::pipeline
