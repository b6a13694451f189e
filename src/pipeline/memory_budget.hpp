#pragma once
// How much memory one output unit needs, checked before any pixel is read: a region too large
// for the machine must end in one clear sentence, not in std::bad_alloc halfway through a run.

#include <cstdint>

#include <s2prep/grid.hpp>

namespace s2prep::pipeline {

// Bytes one unit holds at its peak: the 12-band stack, SCL and the working rasters of the
// masks on the context grid (`context_pixels`), a second band set per extra tile of the mosaic,
// the cropped outputs on the output grid (`output_pixels`), and GDAL's block cache.
std::uint64_t estimated_unit_bytes(std::int64_t context_pixels, std::int64_t output_pixels,
                                   int items);

// The memory this process may use: physical memory, or the cgroup's limit when lower.
std::uint64_t usable_memory_bytes();

// Throws InputError when a unit on `output` (read on `context`) with `items` tiles would need
// more than `limit_bytes` (0: usable_memory_bytes()); the sentence gives the grid size, the
// memory needed and what to do.
void check_memory(const Grid& output, const Grid& context, int items,
                  std::uint64_t limit_bytes = 0);

}  // namespace s2prep::pipeline
